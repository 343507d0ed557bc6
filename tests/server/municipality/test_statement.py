"""The statements' words made from data, without a server: retention, who sees the values,
what is asked (alternatives and optional items as the resident sees them), the status
sentence and the statement's date."""

from __future__ import annotations

from datetime import date

from server.municipality.profile import AccessibilityStatus
from server.municipality.statement import (
    date_words,
    kept_words,
    purpose_statements,
    status_sentence,
)
from server.municipality.store import PurposeFacts


def dutch(text: str) -> str:
    return text


def facts(
    disclosure: object, *, retention: int | None = None, specialists: int = 0
) -> PurposeFacts:
    return PurposeFacts("p", "Paspoort", disclosure, retention, specialists, walkin=False)


def test_retention_in_words() -> None:
    assert kept_words(None, dutch) == "Tot het einde van het gesprek. Dan wist Balie ze."
    assert kept_words(1, dutch) == "Tot 1 dag na het gesprek. Dan wist Balie ze."
    assert kept_words(14, dutch) == "Tot 14 dagen na het gesprek. Dan wist Balie ze."


def test_who_sees_it_counts_the_specialists_with_the_skill() -> None:
    none, one, two = (
        purpose_statements([facts(["bsn"], specialists=n)], "nl", dutch)[0].seen_by
        for n in (0, 1, 2)
    )
    start = "De medewerker die uw gesprek voert. Dat is een medewerker die over Paspoort gaat."
    assert none == start
    assert one == start + " Bij de gemeente is dat nu 1 medewerker."
    assert two == start + " Bij de gemeente zijn dat nu 2 medewerkers."


def test_alternatives_and_optional_items_read_as_the_resident_sees_them() -> None:
    policy = {"required": [[["bsn"], ["full_name", "birthdate"]]], "optional": ["email"]}
    (statement,) = purpose_statements([facts(policy, retention=7)], "nl", dutch)
    assert statement.asked == (
        "Burgerservicenummer (BSN) of Naam en Geboortedatum",
        "E-mailadres (optioneel)",
    )
    assert statement.kept.startswith("Tot 7 dagen")


def test_nothing_asked_and_unreadable_policies_say_so() -> None:
    empty, broken = purpose_statements([facts([]), facts(["shoe_size"])], "nl", dutch)
    assert (empty.asked, empty.kept, empty.seen_by) == ((), "", "")
    assert empty.asked_instead.startswith("Niets.")
    assert broken.asked == () and broken.asked_instead.startswith("Dit kunnen we nu niet")


def test_the_status_sentence_and_the_date() -> None:
    sentence = status_sentence(AccessibilityStatus.FIRST_STEPS, "Voorbeeld", dutch)
    assert sentence.startswith("Balie van Voorbeeld voldoet nog niet aan de eisen")
    assert date_words(date(2026, 3, 1), "nl") == "1 maart 2026"
    assert date_words(date(2026, 3, 1), "en") == "1 March 2026"
