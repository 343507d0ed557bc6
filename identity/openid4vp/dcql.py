"""DCQL queries built from a purpose's policy, and the answer checked against that policy.

A policy is a conjunction of items, each a disjunction of tag sets
(:mod:`identity.policy`). DCQL expresses alternatives per credential with
``claim_sets`` (a disjunction of claim conjunctions, in order of preference),
so the policy is multiplied out per credential variant (:mod:`identity.pid`):
every combination of one alternative per required item, with and without
each optional item (with first, so a wallet that has it shares it). The
credential variants are alternatives of one ``credential_sets`` entry: the
wallet presents exactly one PID.

What the wallet selects is only a wish (OID4VP §6.4.1, §14.11): the answer is
checked against the policy again, here, after the presentation's own checks.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from identity.errors import PolicyError, PresentationRefused, RefusalReason
from identity.openid4vp.credential import CredentialFormat, VerifiedCredential, claim_at
from identity.openid4vp.pid import VARIANTS, ClaimPath, CredentialVariant, variant_for_type
from identity.policy import DisclosurePolicy, Tag

#: more claim sets than this is a policy nobody can read; refuse it at start
MAX_CLAIM_SETS: Final = 64


@dataclass(frozen=True, slots=True)
class Answer:
    """What a verified credential proves for a policy."""

    values: Mapping[str, str] = field(repr=False)
    tags: frozenset[Tag]
    attribute_ids: tuple[str, ...]


def build_query(policy: DisclosurePolicy, trusted_types: frozenset[str]) -> dict[str, object]:
    """The ``dcql_query`` for ``policy``, asking every variant we have anchors for that
    can answer it; :class:`PolicyError` if none can."""
    credentials: list[dict[str, object]] = []
    for variant in VARIANTS:
        types = [t for t in variant.types if t in trusted_types]
        if not types:
            continue
        query = _credential_query(policy, variant, types)
        if query is not None:
            credentials.append(query)
    if not credentials:
        raise PolicyError(
            f"no configured wallet credential can answer the policy of {policy.purpose!r}"
        )
    dcql: dict[str, object] = {"credentials": credentials}
    if len(credentials) > 1:
        dcql["credential_sets"] = [
            {"options": [[str(c["id"])] for c in credentials], "required": True}
        ]
    return dcql


def asked_types(dcql: Mapping[str, object], query_id: str) -> tuple[str, ...]:
    """The types the stored query ``query_id`` asked (``vct_values`` or ``doctype_value``)."""
    credentials = dcql.get("credentials")
    for query in credentials if isinstance(credentials, list) else []:
        if isinstance(query, Mapping) and query.get("id") == query_id:
            meta = query.get("meta")
            if not isinstance(meta, Mapping):
                break
            vct_values = meta.get("vct_values")
            if isinstance(vct_values, list):
                return tuple(str(v) for v in vct_values)
            doctype = meta.get("doctype_value")
            return (doctype,) if isinstance(doctype, str) else ()
    return ()


def answer(policy: DisclosurePolicy, credential: VerifiedCredential) -> Answer:
    """The fields, tags and attribute ids ``credential`` proves for ``policy``:
    for each item the first alternative it fully proves. Extras are dropped."""
    variant = variant_for_type(credential.credential_type)
    if variant is None or variant.format is not credential.format:
        raise PresentationRefused(
            RefusalReason.UNMATCHED_REQUEST, "claims.type", "a credential type we do not read"
        )
    values: dict[str, str] = {}
    tags: set[Tag] = set()
    ids: list[str] = []
    for index, item in enumerate(policy.items):
        for alternative in item.alternatives:
            proven = _prove(variant, credential, alternative)
            if proven is not None:
                for tag in alternative:
                    values.update(proven[tag])
                    ids.extend(
                        variant.attribute_id(credential.credential_type, path)
                        for path in variant.tags[tag].paths
                    )
                tags.update(alternative)
                break
        else:
            if not item.optional:
                raise PresentationRefused(
                    RefusalReason.MISSING_ATTRIBUTES,
                    "claims.missing",
                    f"item {index}: no alternative was disclosed in full",
                )
    return Answer(values=values, tags=frozenset(tags), attribute_ids=tuple(dict.fromkeys(ids)))


def _prove(
    variant: CredentialVariant, credential: VerifiedCredential, alternative: Sequence[Tag]
) -> dict[Tag, dict[str, str]] | None:
    proven: dict[Tag, dict[str, str]] = {}
    for tag in alternative:
        source = variant.tags.get(tag)
        if source is None:
            return None
        found = [claim_at(credential.claims, path) for path in source.paths]
        if any(value is None for value in found):
            return None
        fields = source.read(tag, found)
        if fields is None:
            return None
        proven[tag] = fields
    return proven


def _credential_query(
    policy: DisclosurePolicy, variant: CredentialVariant, types: list[str]
) -> dict[str, object] | None:
    choices: list[list[tuple[Tag, ...]]] = []
    for item in policy.items:
        usable = [a for a in item.alternatives if all(tag in variant.tags for tag in a)]
        if not usable and not item.optional:
            return None  # this credential cannot answer a required item
        choices.append([*usable, ()] if item.optional else usable)
    paths: dict[ClaimPath, str] = {}
    claim_sets: list[list[str]] = []
    for combination in itertools.product(*choices):
        chosen = [path for tags in combination for tag in tags for path in variant.tags[tag].paths]
        ids = sorted({paths.setdefault(path, f"c{len(paths)}") for path in chosen})
        if ids not in claim_sets:
            claim_sets.append(ids)
        if len(claim_sets) > MAX_CLAIM_SETS:
            raise PolicyError(
                f"the policy of {policy.purpose!r} has too many combinations for OpenID4VP"
            )
    claims: list[dict[str, object]] = []
    for path, claim_id in paths.items():
        claim: dict[str, object] = {"id": claim_id, "path": list(path)}
        if variant.format is CredentialFormat.MDOC:
            claim["intent_to_retain"] = False
        claims.append(claim)
    query: dict[str, object] = {"id": variant.query_id, "format": variant.format.value}
    if variant.format is CredentialFormat.MDOC:
        query["meta"] = {"doctype_value": types[0]}
    else:
        query["meta"] = {"vct_values": types}
    query["claims"] = claims
    if len(claim_sets) > 1:
        query["claim_sets"] = claim_sets
    return query


def presented(vp_token: Mapping[str, object], dcql: Mapping[str, object]) -> tuple[str, str]:
    """The one ``(query id, presentation)`` in ``vp_token`` (OID4VP §8.1): its key must
    be one of our query ids and its value one presentation (we never set ``multiple``)."""
    if len(vp_token) != 1:
        raise PresentationRefused(
            RefusalReason.UNMATCHED_REQUEST, "vp-token.count", "not exactly one credential"
        )
    ((query_id, entries),) = vp_token.items()
    if not asked_types(dcql, query_id):
        raise PresentationRefused(
            RefusalReason.UNMATCHED_REQUEST, "vp-token.query", "an answer to no query of ours"
        )
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], str):
        raise PresentationRefused(
            RefusalReason.RESULT_MALFORMED, "vp-token.shape", "not one presentation per query"
        )
    return query_id, entries[0]
