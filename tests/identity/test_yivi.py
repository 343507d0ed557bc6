"""Tags to Yivi attribute ids, and the condiscon request."""

from __future__ import annotations

import pytest

from identity.errors import PolicyError
from identity.policy import Tag, policy_from_data
from identity.yivi import (
    alternative_ids,
    attribute_fields,
    attribute_ids,
    condiscon,
    disclosure_request,
    extended_request,
    issuer_id,
)


@pytest.mark.parametrize(
    ("tag", "ids"),
    [
        (Tag.BSN, ("pbdf.gemeente.personalData.bsn",)),
        (Tag.FULL_NAME, ("pbdf.gemeente.personalData.fullname",)),
        (Tag.BIRTHDATE, ("pbdf.gemeente.personalData.dateofbirth",)),
        (Tag.OVER_18, ("pbdf.gemeente.personalData.over18",)),
        (
            Tag.ADDRESS,
            (
                "pbdf.gemeente.address.street",
                "pbdf.gemeente.address.houseNumber",
                "pbdf.gemeente.address.zipcode",
                "pbdf.gemeente.address.city",
            ),
        ),
        (Tag.EMAIL, ("pbdf.sidn-pbdf.email.email",)),
        (Tag.PHONE, ("pbdf.sidn-pbdf.mobilenumber.mobilenumber",)),
    ],
)
def test_production_ids(tag: Tag, ids: tuple[str, ...]) -> None:
    assert attribute_ids(tag, demo=False) == ids
    demo_ids = tuple(i.replace("pbdf.", "irma-demo.", 1) for i in ids)
    assert attribute_ids(tag, demo=True) == demo_ids


def test_every_tag_maps_and_fields_are_unique() -> None:
    for demo in (False, True):
        fields = attribute_fields(demo=demo)
        assert {tag for tag, _ in fields.values()} == set(Tag)
        assert len({f for _, f in fields.values()}) == len(fields)
    assert issuer_id("pbdf.sidn-pbdf.email.email") == "pbdf.sidn-pbdf"


def test_disclosure_request_is_condiscon_with_labels() -> None:
    policy = policy_from_data(
        "p", {"required": [["bsn", ["full_name", "birthdate"]], "over_18"], "optional": ["email"]}
    )
    request = disclosure_request(policy, demo=False)
    assert request["@context"] == "https://irma.app/ld/request/disclosure/v2"
    assert request["disclose"] == [
        [["pbdf.gemeente.personalData.bsn"],
         [{"type": "pbdf.gemeente.personalData.fullname", "notNull": True},
          "pbdf.gemeente.personalData.dateofbirth"]],
        [["pbdf.gemeente.personalData.over18"]],
        [[], ["pbdf.sidn-pbdf.email.email"]],
    ]  # fmt: skip
    assert request["labels"] == {
        "0": {
            "nl": "Burgerservicenummer (BSN) of Naam en Geboortedatum",
            "en": "Citizen service number (BSN) or Name and Date of birth",
        },
        "1": {"nl": "18 jaar of ouder", "en": "18 or older"},
        "2": {"nl": "E-mailadres (optioneel)", "en": "Email address (optional)"},
    }


def test_demo_mode_asks_demo_ids_only() -> None:
    policy = policy_from_data("p", {"required": ["address", "bsn"]})

    def flat(demo: bool) -> list[str]:
        items = [i for d in condiscon(policy, demo=demo) for c in d for i in c]
        return [i if isinstance(i, str) else str(i["type"]) for i in items]

    assert flat(True) and all(i.startswith("irma-demo.") for i in flat(True))
    assert flat(False) and all(i.startswith("pbdf.") for i in flat(False))


def test_extended_request_carries_validity_and_timeout() -> None:
    policy = policy_from_data("p", {"required": ["bsn"]})
    extended = extended_request(policy, demo=False, validity=60, timeout=90)
    assert extended["validity"] == 60 and extended["timeout"] == 90
    assert extended["request"] == disclosure_request(policy, demo=False)


def test_two_non_singleton_credentials_in_one_alternative_are_refused() -> None:
    policy = policy_from_data("p", {"required": [[["email", "phone"]]]})
    with pytest.raises(PolicyError, match="separate items"):
        condiscon(policy, demo=False)
    # as separate items they are fine
    condiscon(policy_from_data("p", {"required": ["email", "phone"]}), demo=False)


def test_an_alternative_groups_its_ids_by_credential_type() -> None:
    # irmago (irma/requests.go, AttributeCon.Validate) refuses an inner conjunction in
    # which attributes of one credential type are not adjacent
    policy = policy_from_data("p", {"required": [[["full_name", "address", "birthdate"]]]})
    (conjunction,) = condiscon(policy, demo=False)[0]
    ids = [item if isinstance(item, str) else str(item["type"]) for item in conjunction]
    types = [i.rsplit(".", 1)[0] for i in ids]
    assert types == [
        "pbdf.gemeente.personalData",
        "pbdf.gemeente.personalData",
        *["pbdf.gemeente.address"] * 4,
    ]
    # every tag's ids are still asked, the tag order kept within a credential type
    assert ids[:2] == [
        "pbdf.gemeente.personalData.fullname",
        "pbdf.gemeente.personalData.dateofbirth",
    ]
    grouped = alternative_ids((Tag.FULL_NAME, Tag.ADDRESS, Tag.BIRTHDATE), demo=True)
    assert grouped[1] == "irma-demo.gemeente.personalData.dateofbirth"


def test_attributes_optional_in_the_scheme_are_asked_not_null() -> None:
    # fullname and address.houseNumber are optional="true" in pbdf-schememanager: a wallet
    # could disclose them empty (status NULL) unless the request says notNull
    policy = policy_from_data("p", {"required": ["full_name", "address", "bsn"]})
    disclose = condiscon(policy, demo=False)
    assert disclose[0] == [[{"type": "pbdf.gemeente.personalData.fullname", "notNull": True}]]
    assert disclose[1] == [
        [
            "pbdf.gemeente.address.street",
            {"type": "pbdf.gemeente.address.houseNumber", "notNull": True},
            "pbdf.gemeente.address.zipcode",
            "pbdf.gemeente.address.city",
        ]
    ]
    assert disclose[2] == [["pbdf.gemeente.personalData.bsn"]]
