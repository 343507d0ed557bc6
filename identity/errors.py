"""Errors of the identity package.

Messages are for logs and are safe to write there: they name tags, attribute
ids, states and codes, never an attribute value, a requestor token or a key.
What the resident reads comes from :attr:`RefusalReason.resident_message`.

    IdentityError
    ├── ConfigurationError       key material or settings that cannot be used (startup)
    ├── PolicyError              a disclosure policy that cannot be parsed or requested
    ├── VerifierUnavailable      the verifier could not be reached or answered nonsense
    ├── UnknownVerification      no verification with that id (never existed, or purged)
    ├── VerificationStateError   not allowed in the verification's current state
    ├── VerificationRefused      the proof, or this use of it, was refused; ``.reason``
    └── VaultError               a vault entry could not be sealed or opened
"""

from __future__ import annotations

from enum import Enum


def N_(message: str) -> str:
    """Mark a Dutch text for translation: the server shows it in the resident's language
    (``server/language.py``; the English is in ``web/locale/en/identity.po``)."""
    return message


class RefusalReason(Enum):
    """Why a verification was refused: a log-safe English code and a Dutch B1 sentence
    (marked for translation).

    The sentence is what the resident sees; it says what happened and what to
    do next, without jargon and without blaming. The code goes to logs and
    metrics.
    """

    #: the signature, algorithm, issuer or shape of the result is wrong
    PROOF_INVALID = (
        "proof-invalid",
        N_("Uw gegevens konden niet worden gecontroleerd. Probeer het opnieuw met de Yivi-app."),
    )
    #: the result itself is too old (its ``exp`` passed) or dated in the future
    RESULT_EXPIRED = (
        "result-expired",
        N_("Het controleren duurde te lang. Probeer het opnieuw."),
    )
    #: a credential in the wallet has expired
    CREDENTIAL_EXPIRED = (
        "credential-expired",
        N_(
            "Een van uw gegevens in de Yivi-app is verlopen. Vernieuw die gegevens in de app "
            "en probeer het opnieuw."
        ),
    )
    #: a required attribute was not disclosed, or disclosed empty
    MISSING_ATTRIBUTES = (
        "missing-attributes",
        N_(
            "We hebben niet alle gegevens gekregen die nodig zijn voor dit gesprek. "
            "Deel alle gevraagde gegevens en probeer het opnieuw."
        ),
    )
    #: the disclosure does not answer what we asked
    UNMATCHED_REQUEST = (
        "unmatched-request",
        N_("De gedeelde gegevens passen niet bij wat we vroegen. Probeer het opnieuw."),
    )
    #: an ``irma-demo`` credential outside demo mode
    DEMO_CREDENTIAL = (
        "demo-credential",
        N_("U heeft voorbeeldgegevens gedeeld. Deel uw echte gegevens uit de Yivi-app."),
    )
    #: an attribute from a scheme or issuer we do not trust
    UNTRUSTED_ISSUER = (
        "untrusted-issuer",
        N_(
            "Deze gegevens komen niet van een uitgever die wij vertrouwen. "
            "Gebruik gegevens van de gemeente in de Yivi-app."
        ),
    )
    #: the result belongs to another session than the one we started
    SESSION_MISMATCH = (
        "session-mismatch",
        N_("Dit antwoord hoort niet bij deze controle. Begin opnieuw."),
    )
    #: the session did not finish (still waiting, or in an unknown state)
    NOT_FINISHED = (
        "not-finished",
        N_("Het delen van uw gegevens is nog niet klaar. Maak het af in de Yivi-app."),
    )
    #: the resident (or the server) cancelled
    CANCELLED = (
        "cancelled",
        N_("Het delen van uw gegevens is gestopt. U kunt het opnieuw proberen."),
    )
    #: the wallet did not answer in time
    TIMEOUT = (
        "timeout",
        N_("Het delen van uw gegevens duurde te lang. Probeer het opnieuw."),
    )
    #: the verification was started for another call
    OTHER_ROOM = (
        "binding-room",
        N_("Deze controle hoort bij een ander gesprek. Begin de controle opnieuw."),
    )
    #: the verification was started in another browser
    OTHER_BROWSER = (
        "binding-browser",
        N_(
            "Deze controle is in een andere browser begonnen. Begin de controle opnieuw "
            "in deze browser."
        ),
    )
    #: the verification was started for another purpose (onderwerp)
    OTHER_PURPOSE = (
        "binding-purpose",
        N_("Deze controle hoort bij een ander onderwerp. Begin de controle opnieuw."),
    )
    #: the result was already used once
    ALREADY_USED = (
        "already-used",
        N_("Deze controle is al gebruikt. Begin de controle opnieuw."),
    )
    #: our verification id expired before it was used
    VERIFICATION_EXPIRED = (
        "verification-expired",
        N_("De controle is verlopen. Begin de controle opnieuw."),
    )
    #: the disclosed data has a shape we cannot read
    RESULT_MALFORMED = (
        "result-malformed",
        N_("Uw gegevens konden niet worden gelezen. Probeer het opnieuw."),
    )

    def __init__(self, code: str, resident_message: str) -> None:
        self.code = code
        self.resident_message = resident_message


class IdentityError(Exception):
    """Base of every error raised by :mod:`identity`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(IdentityError):
    """Key material or settings that cannot be used; raised at startup."""


class PolicyError(IdentityError):
    """A disclosure policy that cannot be parsed, or cannot be asked of a verifier."""


class VerifierUnavailable(IdentityError):
    """The verifier could not be reached, refused our request, or answered nonsense.

    Not the resident's fault: the page should offer a retry later.
    """


class UnknownVerification(IdentityError):
    """No verification with that id: it never existed or has been purged."""


class VerificationStateError(IdentityError):
    """The operation is not allowed in the verification's current state."""

    def __init__(self, what: str, state: str) -> None:
        super().__init__(f"{what} is not allowed while the verification is {state!r}")
        self.state = state


class VerificationRefused(IdentityError):
    """The proof, or this use of it, was refused.

    ``detail`` is for logs (which check failed, which attribute *id*); the
    resident sees ``reason.resident_message``.
    """

    def __init__(self, reason: RefusalReason, detail: str = "") -> None:
        message = reason.code if not detail else f"{reason.code}: {detail}"
        super().__init__(message)
        self.reason = reason
        self.detail = detail


class VaultError(IdentityError):
    """A vault entry could not be sealed or opened (wrong key, tampered, copied)."""
