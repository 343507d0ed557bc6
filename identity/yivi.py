"""Tags to Yivi (IRMA) attribute ids, and the disclosure request for a policy.

Ids are ``scheme.issuer.credential.attribute``. Production asks the ``pbdf``
scheme; demo mode asks the same attributes of the ``irma-demo`` scheme, whose
issuer keys are public (anyone can issue those credentials), so demo ids are
requested and accepted only in demo mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from identity.errors import PolicyError
from identity.policy import DisclosurePolicy, PolicyItem, Tag

SCHEME_PRODUCTION: Final = "pbdf"
SCHEME_DEMO: Final = "irma-demo"
DISCLOSURE_CONTEXT: Final = "https://irma.app/ld/request/disclosure/v2"

#: tag -> (field, id without the scheme); confirmed against pbdf-schememanager
#: and irma-demo-schememanager (docs/identity.md has the table)
YIVI_ATTRIBUTES: Final[Mapping[Tag, tuple[tuple[str, str], ...]]] = {
    Tag.BSN: (("bsn", "gemeente.personalData.bsn"),),
    Tag.FULL_NAME: (("full_name", "gemeente.personalData.fullname"),),
    Tag.FAMILY_NAME: (("family_name", "gemeente.personalData.familyname"),),
    Tag.INITIALS: (("initials", "gemeente.personalData.initials"),),
    Tag.BIRTHDATE: (("birthdate", "gemeente.personalData.dateofbirth"),),
    Tag.OVER_18: (("over_18", "gemeente.personalData.over18"),),
    Tag.OVER_65: (("over_65", "gemeente.personalData.over65"),),
    Tag.ADDRESS: (
        ("address.street", "gemeente.address.street"),
        ("address.house_number", "gemeente.address.houseNumber"),
        ("address.zipcode", "gemeente.address.zipcode"),
        ("address.city", "gemeente.address.city"),
    ),
    Tag.EMAIL: (("email", "sidn-pbdf.email.email"),),
    Tag.PHONE: (("phone", "sidn-pbdf.mobilenumber.mobilenumber"),),
}

#: credential types (without scheme) a wallet may hold more than once; IRMA
#: allows at most one of these per inner conjunction
NON_SINGLETON_CREDENTIALS: Final = frozenset({"sidn-pbdf.email", "sidn-pbdf.mobilenumber"})

#: attributes (without scheme) marked ``optional="true"`` in pbdf-schememanager and
#: irma-demo-schememanager: a credential can hold them empty, and a wallet then discloses
#: them with status NULL under proofStatus VALID unless the request says ``notNull``
OPTIONAL_IN_SCHEME: Final = frozenset(
    {"gemeente.personalData.fullname", "gemeente.address.houseNumber"}
)

#: one item of an inner conjunction: an id, or ``{"type": id, "notNull": true}``
RequestItem = str | dict[str, object]


def scheme(demo: bool) -> str:
    return SCHEME_DEMO if demo else SCHEME_PRODUCTION


def attribute_ids(tag: Tag, *, demo: bool) -> tuple[str, ...]:
    """The Yivi attribute ids that prove ``tag``."""
    return tuple(f"{scheme(demo)}.{suffix}" for _, suffix in YIVI_ATTRIBUTES[tag])


def attribute_fields(*, demo: bool) -> dict[str, tuple[Tag, str]]:
    """Attribute id -> (tag, field) for every id this module may request."""
    return {
        f"{scheme(demo)}.{suffix}": (tag, field_name)
        for tag, pairs in YIVI_ATTRIBUTES.items()
        for field_name, suffix in pairs
    }


def credential_type(attribute_id: str) -> str:
    """``pbdf.gemeente.personalData.bsn`` -> ``pbdf.gemeente.personalData``."""
    return attribute_id.rsplit(".", 1)[0]


def issuer_id(attribute_id: str) -> str:
    """``pbdf.gemeente.personalData.bsn`` -> ``pbdf.gemeente``."""
    return ".".join(attribute_id.split(".")[:2])


def alternative_ids(alternative: tuple[Tag, ...], *, demo: bool) -> tuple[str, ...]:
    """The inner conjunction for one alternative: every id of every tag, grouped by
    credential type (types in order of first appearance, ids in tag order within a type).

    irmago refuses a conjunction in which the attributes of one credential type are not
    adjacent ("attributes from the same credential type must be adjacent",
    ``AttributeCon.Validate`` in ``irma/requests.go``); name, address, date of birth would
    otherwise interleave ``personalData`` and ``address``.
    """
    by_type: dict[str, list[str]] = {}
    for tag in alternative:
        for attribute_id in attribute_ids(tag, demo=demo):
            by_type.setdefault(credential_type(attribute_id), []).append(attribute_id)
    return tuple(attribute_id for ids in by_type.values() for attribute_id in ids)


def request_item(attribute_id: str) -> RequestItem:
    """How one id is asked: ``notNull`` for an attribute the scheme lets be empty
    (``AttributeRequest`` in ``irma/requests.go``; the server then refuses a NULL)."""
    if attribute_id.split(".", 1)[1] in OPTIONAL_IN_SCHEME:
        return {"type": attribute_id, "notNull": True}
    return attribute_id


def check_requestable(policy: DisclosurePolicy) -> None:
    """Raise :class:`PolicyError` if IRMA cannot ask ``policy`` as one condiscon."""
    for i, item in enumerate(policy.items):
        for j, alternative in enumerate(item.alternatives):
            types = {
                credential_type(suffix) for tag in alternative for _, suffix in YIVI_ATTRIBUTES[tag]
            }
            multiple = sorted(types & NON_SINGLETON_CREDENTIALS)
            if len(multiple) > 1:
                raise PolicyError(
                    f"item {i} alternative {j}: Yivi cannot ask {multiple} together in one "
                    "alternative; make them separate items"
                )


def condiscon(policy: DisclosurePolicy, *, demo: bool) -> list[list[list[RequestItem]]]:
    """The ``disclose`` value: one outer disjunction per item, ``[]`` first when optional."""
    check_requestable(policy)
    return [_disjunction(item, demo=demo) for item in policy.items]


def disclosure_request(policy: DisclosurePolicy, *, demo: bool) -> dict[str, object]:
    """A disclosure session request (``@context`` disclosure/v2) with nl/en labels."""
    return {
        "@context": DISCLOSURE_CONTEXT,
        "disclose": condiscon(policy, demo=demo),
        "labels": {
            str(i): {"nl": item.label("nl"), "en": item.label("en")}
            for i, item in enumerate(policy.items)
        },
    }


def extended_request(
    policy: DisclosurePolicy, *, demo: bool, validity: int, timeout: int
) -> dict[str, object]:
    """The extended request (``sprequest``): result-JWT ``validity`` and app ``timeout``."""
    return {
        "validity": validity,
        "timeout": timeout,
        "request": disclosure_request(policy, demo=demo),
    }


def _disjunction(item: PolicyItem, *, demo: bool) -> list[list[RequestItem]]:
    alternatives = [
        [request_item(i) for i in alternative_ids(a, demo=demo)] for a in item.alternatives
    ]
    return [[], *alternatives] if item.optional else alternatives
