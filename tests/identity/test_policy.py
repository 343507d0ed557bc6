"""Disclosure policies: parsing, shorthands, clear errors, labels."""

from __future__ import annotations

import pytest

from identity.errors import PolicyError
from identity.policy import (
    TAG_FIELDS,
    TAG_LABELS_EN,
    TAG_LABELS_NL,
    DisclosurePolicy,
    PolicyItem,
    Tag,
    policy_from_data,
    policy_to_data,
    tag_label,
)


def test_full_form_and_shorthands_mean_the_same() -> None:
    full = policy_from_data(
        "wmo",
        {
            "required": [[["bsn"], ["full_name", "birthdate"]], [["over_18"]]],
            "optional": [[["email"]]],
        },
    )
    short = policy_from_data(
        "wmo", {"required": [["bsn", ["full_name", "birthdate"]], "over_18"], "optional": ["email"]}
    )
    assert full == short
    assert full.items == (
        PolicyItem(((Tag.BSN,), (Tag.FULL_NAME, Tag.BIRTHDATE))),
        PolicyItem(((Tag.OVER_18,),)),
        PolicyItem(((Tag.EMAIL,),), optional=True),
    )
    assert full.tags == {Tag.BSN, Tag.FULL_NAME, Tag.BIRTHDATE, Tag.OVER_18, Tag.EMAIL}


def test_canonical_form_round_trips() -> None:
    policy = policy_from_data("tax", {"required": ["address", ["bsn", "full_name"]]})
    data = policy_to_data(policy)
    assert data == {"required": [[["address"]], [["bsn"], ["full_name"]]]}
    assert policy_from_data("tax", data) == policy


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be an object"),
        ({}, "needs 'required'"),
        ({"required": []}, "at least one item"),
        ({"required": "bsn"}, "'required' must be a list"),
        ({"required": ["bsnn"]}, "required[0]: unknown tag 'bsnn'; known tags: bsn,"),
        ({"required": [["bsn", ["full_name", 3]]]}, "required[0][1][1] must be a tag name"),
        ({"required": [[]]}, "required[0] has no alternatives"),
        ({"required": [[[]]]}, "required[0][0] is empty; to make an item optional"),
        ({"required": [[["bsn", "bsn"]]]}, "required[0][0] names 'bsn' twice"),
        ({"required": [["bsn", "bsn"]]}, "required[0][1] repeats an earlier alternative"),
        ({"required": ["bsn"], "optinal": ["email"]}, "unknown policy keys ['optinal']"),
        ({"required": ["bsn"], "optional": [{"tag": "email"}]}, "optional[0] must be a tag"),
        ({"optional": ["email"], "required": [7]}, "required[0] must be a tag"),
        ({"required": ["bsn"] * 13}, "at most 12 items"),
    ],
    ids=[
        "not-an-object",
        "no-required",
        "empty-required",
        "required-not-a-list",
        "unknown-tag",
        "tag-not-a-string",
        "no-alternatives",
        "empty-alternative",
        "tag-twice",
        "alternative-twice",
        "unknown-key",
        "optional-item-object",
        "item-number",
        "too-many-items",
    ],
)
def test_bad_policies_get_a_clear_error(data: object, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_from_data("p", data)
    assert message in str(caught.value)


def test_only_optional_items_is_not_a_policy() -> None:
    with pytest.raises(PolicyError, match="required"):
        DisclosurePolicy("p", (PolicyItem(((Tag.EMAIL,),), optional=True),))


@pytest.mark.parametrize("purpose", ["", "a b", "x" * 65, "../etc"])
def test_purpose_ids_are_checked(purpose: str) -> None:
    with pytest.raises(PolicyError, match="purpose"):
        policy_from_data(purpose, {"required": ["bsn"]})


def test_every_tag_has_labels_and_fields() -> None:
    assert set(TAG_LABELS_NL) == set(TAG_LABELS_EN) == set(TAG_FIELDS) == set(Tag)
    assert tag_label(Tag.BSN) == "Burgerservicenummer (BSN)"
    assert tag_label(Tag.FULL_NAME) == "Naam"
    assert tag_label(Tag.BIRTHDATE) == "Geboortedatum"
    assert tag_label(Tag.OVER_18) == "18 jaar of ouder"
    assert tag_label(Tag.ADDRESS) == "Adres"
    assert tag_label(Tag.EMAIL) == "E-mailadres"
    assert tag_label(Tag.EMAIL, "en") == "Email address"
    assert TAG_FIELDS[Tag.ADDRESS] == (
        "address.street",
        "address.house_number",
        "address.zipcode",
        "address.city",
    )


def test_item_labels_read_as_a_sentence() -> None:
    policy = policy_from_data(
        "p", {"required": [["bsn", ["full_name", "birthdate"]]], "optional": ["phone"]}
    )
    assert policy.items[0].label() == "Burgerservicenummer (BSN) of Naam en Geboortedatum"
    assert policy.items[1].label() == "Telefoonnummer (optioneel)"
    assert policy.items[1].label("en") == "Phone number (optional)"
