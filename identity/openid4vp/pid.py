"""PID credentials: which claims prove which policy tag, per credential variant.

Three variants, each its own DCQL credential query, so each is asked with its
own claim names:

- NL PID as SD-JWT VC (``urn:eudi:pid:nl:1``, NL Wallet): ``bsn``,
  ``age_over_18`` (a top-level boolean), no e-mail or phone;
- EU PID as SD-JWT VC (``urn:eudi:pid:1``; ARF Annex 3.01): the BSN is
  ``personal_administrative_number`` and counts only with ``issuing_country``
  ``NL`` (an identifier means something only together with its issuer, OID4VP
  §14.5); age as ``age_equal_or_over.{18,65}``;
- EU PID as mdoc (``eu.europa.ec.eudi.pid.1``; ISO 18013-5 element names).

A variant is asked only when trust anchors are configured for one of its types.
Values become the same fields the Yivi path yields (:data:`identity.policy.TAG_FIELDS`),
so they feed the same vault and panel. No reader puts a value in an error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from identity.errors import PresentationRefused, RefusalReason
from identity.openid4vp.credential import CredentialFormat
from identity.policy import Tag

ClaimPath = tuple[str, ...]
#: the values at a tag's paths -> its fields, or ``None`` when they prove the tag false
Reader = Callable[[Tag, Sequence[object]], dict[str, str] | None]

VCT_PID_NL: Final = "urn:eudi:pid:nl:1"
VCT_PID_EU: Final = "urn:eudi:pid:1"
#: the type EUDI reference wallets used before ``urn:eudi:pid:1``
VCT_PID_EU_LEGACY: Final = "urn:eu.europa.ec.eudi:pid:1"
DOCTYPE_PID: Final = "eu.europa.ec.eudi.pid.1"
MDOC_NAMESPACE: Final = DOCTYPE_PID
#: type -> the type it extends, pinned here (never read from type metadata at run time):
#: a wallet may answer a query for the parent with the child (OID4VP B.3.5)
SUBTYPES: Final[Mapping[str, str]] = {VCT_PID_NL: VCT_PID_EU}
MAX_TEXT: Final = 256
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_BSN: Final = re.compile(r"\d{9}")


@dataclass(frozen=True, slots=True)
class TagSource:
    """How a credential proves one tag: the claims to ask and how to read them."""

    paths: tuple[ClaimPath, ...]
    read: Reader


@dataclass(frozen=True, slots=True)
class CredentialVariant:
    #: the DCQL credential query id
    query_id: str
    format: CredentialFormat
    #: ``vct`` values, or the one mdoc ``docType``
    types: tuple[str, ...]
    tags: Mapping[Tag, TagSource]

    def attribute_id(self, credential_type: str, path: ClaimPath) -> str:
        """E.g. ``urn:eudi:pid:nl:1#bsn``: type and claim path, for audit records."""
        return f"{credential_type}#{'/'.join(path)}"


def refuse_value(tag: Tag) -> PresentationRefused:
    return PresentationRefused(
        RefusalReason.RESULT_MALFORMED, "claims.value", f"{tag.value} has an unexpected value"
    )


def _text(tag: Tag, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise refuse_value(tag)
    text = str(value).strip()
    if not text or len(text) > MAX_TEXT:
        raise refuse_value(tag)
    return text


def _one_text(field: str) -> Reader:
    def read(tag: Tag, values: Sequence[object]) -> dict[str, str]:
        return {field: _text(tag, values[0])}

    return read


def _check_bsn(tag: Tag, value: object) -> str:
    """Nine digits passing the "elfproef" (weights 9..2, and -1 for the last digit); a
    string, as a number would have lost a leading zero."""
    if not isinstance(value, str) or not _BSN.fullmatch(value):
        raise refuse_value(tag)
    digits = [int(c) for c in value]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    if total % 11:
        raise refuse_value(tag)
    return value


def _bsn(tag: Tag, values: Sequence[object]) -> dict[str, str]:
    return {"bsn": _check_bsn(tag, values[0])}


def _bsn_with_country(tag: Tag, values: Sequence[object]) -> dict[str, str]:
    number, country = values
    if country != "NL":
        raise PresentationRefused(
            RefusalReason.UNMATCHED_REQUEST,
            "claims.bsn-country",
            "the personal number is not one issued in the Netherlands",
        )
    return {"bsn": _check_bsn(tag, number)}


def _full_name(tag: Tag, values: Sequence[object]) -> dict[str, str]:
    given, family = (_text(tag, v) for v in values)
    return {"full_name": f"{given} {family}"}


def _initials(tag: Tag, values: Sequence[object]) -> dict[str, str]:
    names = re.split(r"[\s-]+", _text(tag, values[0]))
    return {"initials": "".join(f"{name[0].upper()}." for name in names if name)}


def _date(tag: Tag, values: Sequence[object]) -> dict[str, str]:
    value = values[0]
    if isinstance(value, dt.datetime):  # mdoc tdate: only the date part is a birth date
        raise refuse_value(tag)
    if isinstance(value, dt.date):  # mdoc full-date (tag 1004)
        return {"birthdate": value.isoformat()}
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise refuse_value(tag)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise refuse_value(tag) from None
    return {"birthdate": value}


def _yes(field: str) -> Reader:
    """A boolean claim: ``true`` proves the tag (as Yivi's ``Yes``), ``false`` does not."""

    def read(tag: Tag, values: Sequence[object]) -> dict[str, str] | None:
        if not isinstance(values[0], bool):
            raise refuse_value(tag)
        return {field: "Yes"} if values[0] else None

    return read


def _address(tag: Tag, values: Sequence[object]) -> dict[str, str]:
    street, number, postcode, city = (_text(tag, v) for v in values)
    return {
        "address.street": street,
        "address.house_number": number,
        "address.zipcode": postcode,
        "address.city": city,
    }


def _sources(
    *,
    bsn: TagSource | None,
    given: ClaimPath,
    family: ClaimPath,
    birthdate: ClaimPath,
    over_18: ClaimPath,
    over_65: ClaimPath | None,
    address: tuple[ClaimPath, ClaimPath, ClaimPath, ClaimPath],
    email: ClaimPath | None,
    phone: ClaimPath | None,
) -> dict[Tag, TagSource]:
    sources = {
        Tag.FULL_NAME: TagSource((given, family), _full_name),
        Tag.FAMILY_NAME: TagSource((family,), _one_text("family_name")),
        Tag.INITIALS: TagSource((given,), _initials),
        Tag.BIRTHDATE: TagSource((birthdate,), _date),
        Tag.OVER_18: TagSource((over_18,), _yes("over_18")),
        Tag.ADDRESS: TagSource(address, _address),
    }
    if bsn is not None:
        sources[Tag.BSN] = bsn
    if over_65 is not None:
        sources[Tag.OVER_65] = TagSource((over_65,), _yes("over_65"))
    if email is not None:
        sources[Tag.EMAIL] = TagSource((email,), _one_text("email"))
    if phone is not None:
        sources[Tag.PHONE] = TagSource((phone,), _one_text("phone"))
    return sources


def _ns(element: str) -> ClaimPath:
    return (MDOC_NAMESPACE, element)


VARIANTS: Final[tuple[CredentialVariant, ...]] = (
    CredentialVariant(
        query_id="pid_nl",
        format=CredentialFormat.SD_JWT_VC,
        types=(VCT_PID_NL,),
        tags=_sources(
            bsn=TagSource((("bsn",),), _bsn),
            given=("given_name",),
            family=("family_name",),
            birthdate=("birthdate",),
            over_18=("age_over_18",),
            over_65=None,
            address=(
                ("address", "street_address"),
                ("address", "house_number"),
                ("address", "postal_code"),
                ("address", "locality"),
            ),
            email=None,
            phone=None,
        ),
    ),
    CredentialVariant(
        query_id="pid_eu",
        format=CredentialFormat.SD_JWT_VC,
        types=(VCT_PID_EU, VCT_PID_EU_LEGACY),
        tags=_sources(
            bsn=TagSource(
                (("personal_administrative_number",), ("issuing_country",)), _bsn_with_country
            ),
            given=("given_name",),
            family=("family_name",),
            birthdate=("birthdate",),
            over_18=("age_equal_or_over", "18"),
            over_65=("age_equal_or_over", "65"),
            address=(
                ("address", "street_address"),
                ("address", "house_number"),
                ("address", "postal_code"),
                ("address", "locality"),
            ),
            email=("email",),
            phone=("phone_number",),
        ),
    ),
    CredentialVariant(
        query_id="pid_mdoc",
        format=CredentialFormat.MDOC,
        types=(DOCTYPE_PID,),
        tags=_sources(
            bsn=TagSource(
                (_ns("personal_administrative_number"), _ns("issuing_country")),
                _bsn_with_country,
            ),
            given=_ns("given_name"),
            family=_ns("family_name"),
            birthdate=_ns("birth_date"),
            over_18=_ns("age_over_18"),
            over_65=_ns("age_over_65"),
            address=(
                _ns("resident_street"),
                _ns("resident_house_number"),
                _ns("resident_postal_code"),
                _ns("resident_city"),
            ),
            email=_ns("email_address"),
            phone=_ns("mobile_phone_number"),
        ),
    ),
)


def variant_by_query_id(query_id: str) -> CredentialVariant | None:
    return next((v for v in VARIANTS if v.query_id == query_id), None)


def variant_for_type(credential_type: str) -> CredentialVariant | None:
    return next((v for v in VARIANTS if credential_type in v.types), None)


def accepted_types(asked: Sequence[str]) -> frozenset[str]:
    """The types asked, plus their pinned subtypes."""
    return frozenset(asked) | {child for child, parent in SUBTYPES.items() if parent in asked}
