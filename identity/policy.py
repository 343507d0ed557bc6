"""Disclosure policies: which attributes a purpose needs, in verifier-neutral tags.

A policy is a conjunction of *items*; each item is a disjunction of
alternatives; each alternative is a conjunction of tags. An item can be
optional. In plain JSON (what a functional admin writes)::

    {
      "required": [
        [["bsn"], ["full_name", "birthdate"]],
        "over_18"
      ],
      "optional": ["email"]
    }

means: the BSN, *or* name and date of birth; and "18 or older"; and, if the
resident wants, an e-mail address. Shorthands: an item that is a single tag
(``"over_18"``) is that tag alone; an alternative that is a single tag
(``"bsn"`` inside an item) is that tag alone. So ``["bsn", ["full_name",
"birthdate"]]`` is the first item above.

Each verifier maps tags to its own identifiers (:mod:`identity.yivi`). A tag
can stand for several *fields*: ``address`` is street, house number, zipcode
and city; verified values are keyed by field (:data:`TAG_FIELDS`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeGuard

from identity.errors import PolicyError

#: purpose ids appear in bindings and audit records
PURPOSE_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: a policy is read by people; more than this is a mistake, not a need
MAX_ITEMS: Final = 12
MAX_ALTERNATIVES: Final = 6


class Tag(StrEnum):
    """A semantic attribute, independent of the verifier that proves it."""

    BSN = "bsn"
    FULL_NAME = "full_name"
    FAMILY_NAME = "family_name"
    INITIALS = "initials"
    BIRTHDATE = "birthdate"
    OVER_18 = "over_18"
    OVER_65 = "over_65"
    ADDRESS = "address"
    EMAIL = "email"
    PHONE = "phone"


#: the fields each tag yields; verified values are keyed by these names
TAG_FIELDS: Final[Mapping[Tag, tuple[str, ...]]] = {
    Tag.BSN: ("bsn",),
    Tag.FULL_NAME: ("full_name",),
    Tag.FAMILY_NAME: ("family_name",),
    Tag.INITIALS: ("initials",),
    Tag.BIRTHDATE: ("birthdate",),
    Tag.OVER_18: ("over_18",),
    Tag.OVER_65: ("over_65",),
    Tag.ADDRESS: ("address.street", "address.house_number", "address.zipcode", "address.city"),
    Tag.EMAIL: ("email",),
    Tag.PHONE: ("phone",),
}

#: Dutch (B1) labels for the specialist's panel and the resident's consent text
TAG_LABELS_NL: Final[Mapping[Tag, str]] = {
    Tag.BSN: "Burgerservicenummer (BSN)",
    Tag.FULL_NAME: "Naam",
    Tag.FAMILY_NAME: "Achternaam",
    Tag.INITIALS: "Voorletters",
    Tag.BIRTHDATE: "Geboortedatum",
    Tag.OVER_18: "18 jaar of ouder",
    Tag.OVER_65: "65 jaar of ouder",
    Tag.ADDRESS: "Adres",
    Tag.EMAIL: "E-mailadres",
    Tag.PHONE: "Telefoonnummer",
}

TAG_LABELS_EN: Final[Mapping[Tag, str]] = {
    Tag.BSN: "Citizen service number (BSN)",
    Tag.FULL_NAME: "Name",
    Tag.FAMILY_NAME: "Family name",
    Tag.INITIALS: "Initials",
    Tag.BIRTHDATE: "Date of birth",
    Tag.OVER_18: "18 or older",
    Tag.OVER_65: "65 or older",
    Tag.ADDRESS: "Address",
    Tag.EMAIL: "Email address",
    Tag.PHONE: "Phone number",
}

#: Dutch labels of the parts of a composite tag
FIELD_LABELS_NL: Final[Mapping[str, str]] = {
    "address.street": "Straat",
    "address.house_number": "Huisnummer",
    "address.zipcode": "Postcode",
    "address.city": "Woonplaats",
}

FIELD_LABELS_EN: Final[Mapping[str, str]] = {
    "address.street": "Street",
    "address.house_number": "House number",
    "address.zipcode": "Postcode",
    "address.city": "Town or city",
}


def tag_label(tag: Tag, language: str = "nl") -> str:
    """The display label of ``tag`` in ``language`` (``nl`` or ``en``)."""
    return (TAG_LABELS_EN if language == "en" else TAG_LABELS_NL)[tag]


def field_label(name: str, language: str = "nl") -> str:
    """The display label of a part of a composite tag (:data:`FIELD_LABELS_NL`)."""
    return (FIELD_LABELS_EN if language == "en" else FIELD_LABELS_NL)[name]


@dataclass(frozen=True, slots=True)
class PolicyItem:
    """One disjunction: any one of ``alternatives`` satisfies it."""

    alternatives: tuple[tuple[Tag, ...], ...]
    optional: bool = False

    @property
    def tags(self) -> frozenset[Tag]:
        return frozenset(tag for alternative in self.alternatives for tag in alternative)

    def label(self, language: str = "nl") -> str:
        """E.g. ``Burgerservicenummer (BSN) of Naam en Geboortedatum (optioneel)``."""
        if language == "en":
            and_, or_, opt = " and ", " or ", " (optional)"
        else:
            and_, or_, opt = " en ", " of ", " (optioneel)"
        text = or_.join(
            and_.join(tag_label(tag, language) for tag in alternative)
            for alternative in self.alternatives
        )
        return text + opt if self.optional else text


@dataclass(frozen=True, slots=True)
class DisclosurePolicy:
    """What ``purpose`` needs disclosed: every required item, and any optional ones."""

    purpose: str
    items: tuple[PolicyItem, ...]

    def __post_init__(self) -> None:
        if not PURPOSE_PATTERN.fullmatch(self.purpose):
            raise PolicyError("purpose must be an id of 1-64 letters, digits, - or _")
        if not any(not item.optional for item in self.items):
            raise PolicyError("a policy needs at least one required item")

    @property
    def tags(self) -> frozenset[Tag]:
        """Every tag the policy may yield, required or optional."""
        return frozenset(tag for item in self.items for tag in item.tags)


def policy_from_data(purpose: str, data: object) -> DisclosurePolicy:
    """Parse the JSON-able form (see the module docstring), or raise :class:`PolicyError`."""
    if not isinstance(data, Mapping):
        raise PolicyError("a policy must be an object with 'required' and optionally 'optional'")
    unknown = sorted(str(key) for key in data if key not in ("required", "optional"))
    if unknown:
        raise PolicyError(f"unknown policy keys {unknown}; use 'required' and 'optional'")
    if "required" not in data:
        raise PolicyError("a policy needs 'required': a list of items")
    items = [
        *_items_from_data(data["required"], "required", optional=False),
        *_items_from_data(data.get("optional", []), "optional", optional=True),
    ]
    if len(items) > MAX_ITEMS:
        raise PolicyError(f"a policy may have at most {MAX_ITEMS} items, not {len(items)}")
    if not any(not item.optional for item in items):
        raise PolicyError("'required' must name at least one item")
    return DisclosurePolicy(purpose, tuple(items))


def policy_from_stored(purpose: str, data: object) -> DisclosurePolicy:
    """As :func:`policy_from_data`, also reading the admin's short form: a plain list of
    tags, all required (``["bsn", "full_name"]``)."""
    return policy_from_data(purpose, {"required": data} if isinstance(data, list) else data)


def policy_to_data(policy: DisclosurePolicy) -> dict[str, list[list[list[str]]]]:
    """The canonical JSON-able form (no shorthands); ``policy_from_data`` reads it back."""
    data: dict[str, list[list[list[str]]]] = {"required": []}
    for item in policy.items:
        alternatives = [[tag.value for tag in alternative] for alternative in item.alternatives]
        data.setdefault("optional" if item.optional else "required", []).append(alternatives)
    return data


def _items_from_data(value: object, where: str, *, optional: bool) -> list[PolicyItem]:
    if not _is_list(value):
        raise PolicyError(f"'{where}' must be a list of items")
    items: list[PolicyItem] = []
    for i, raw_item in enumerate(value):
        path = f"{where}[{i}]"
        raw_alternatives: Sequence[object]
        if isinstance(raw_item, str):
            items.append(PolicyItem((_alternative_from_data(raw_item, path),), optional=optional))
            continue
        if _is_list(raw_item):
            raw_alternatives = raw_item
        else:
            raise PolicyError(f"{path} must be a tag or a list of alternatives")
        if not raw_alternatives:
            raise PolicyError(f"{path} has no alternatives")
        if len(raw_alternatives) > MAX_ALTERNATIVES:
            raise PolicyError(f"{path} has more than {MAX_ALTERNATIVES} alternatives")
        alternatives: list[tuple[Tag, ...]] = []
        for j, raw_alternative in enumerate(raw_alternatives):
            alternative = _alternative_from_data(raw_alternative, f"{path}[{j}]")
            if set(alternative) in [set(a) for a in alternatives]:
                raise PolicyError(f"{path}[{j}] repeats an earlier alternative")
            alternatives.append(alternative)
        items.append(PolicyItem(tuple(alternatives), optional=optional))
    return items


def _alternative_from_data(value: object, path: str) -> tuple[Tag, ...]:
    raw_tags: Sequence[object]
    if isinstance(value, str):
        return (_tag_from_data(value, path),)
    if _is_list(value):
        raw_tags = value
    else:
        raise PolicyError(f"{path} must be a tag or a list of tags")
    if not raw_tags:
        raise PolicyError(
            f"{path} is empty; to make an item optional, put it under 'optional' instead"
        )
    tags: list[Tag] = []
    for k, raw_tag in enumerate(raw_tags):
        tag = _tag_from_data(raw_tag, f"{path}[{k}]")
        if tag in tags:
            raise PolicyError(f"{path} names {tag.value!r} twice")
        tags.append(tag)
    return tuple(tags)


def _tag_from_data(value: object, path: str) -> Tag:
    if not isinstance(value, str):
        raise PolicyError(f"{path} must be a tag name (a string)")
    try:
        return Tag(value)
    except ValueError:
        known = ", ".join(tag.value for tag in Tag)
        raise PolicyError(f"{path}: unknown tag {value[:40]!r}; known tags: {known}") from None


def _is_list(value: object) -> TypeGuard[Sequence[object]]:
    return isinstance(value, list | tuple)
