"""Errors of the identity package.

Messages are for logs and are safe to write there: they name tags, attribute
ids, states and codes, never an attribute value, a requestor token or a key.
What the resident reads comes from :attr:`RefusalReason.resident_message`.

    IdentityError
    ├── ConfigurationError       key material or settings that cannot be used (startup)
    ├── PolicyError              a disclosure policy that cannot be parsed or requested
    ├── VerifierUnavailable      the verifier could not be reached or answered nonsense
    │   └── FetchError           openid4vp: a status list could not be fetched (SSRF rule,
    │                            size, time, HTTP status)
    ├── UnknownVerification      no verification with that id (never existed, or purged)
    │   └── UnknownTransaction   openid4vp: no transaction with that id or request id
    ├── VerificationStateError   not allowed in the verification's current state
    │   └── TransactionStateError  openid4vp: not allowed in the transaction's current state
    ├── VerificationRefused      the proof, or this use of it, was refused; ``.reason``
    │   └── PresentationRefused  openid4vp: a presentation failed a check; ``.check``
    ├── WalletResponseError      openid4vp: a wallet's POST we cannot use (unreadable, not
    │                            encrypted to our key, another transaction's ``state``);
    │                            the transaction is left as it was
    └── VaultError               a vault entry could not be sealed or opened
"""

from __future__ import annotations

from enum import Enum


def N_(message: str) -> str:
    """Mark a Dutch text for translation: the server shows it in the resident's language
    (``server/core/language.py``; the English is in ``web/locale/en/identity.po``)."""
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
    # OpenID4VP (identity.openid4vp): the same situations as above, worded for any
    # identity wallet instead of the Yivi app
    #: a signature, a digest, the key binding or the shape of a wallet presentation is wrong
    PRESENTATION_INVALID = (
        "presentation-invalid",
        N_("Uw gegevens uit de wallet konden niet worden gecontroleerd. Probeer het opnieuw."),
    )
    #: the credential was issued by someone we do not trust for its type
    WALLET_ISSUER_UNTRUSTED = (
        "wallet-issuer-untrusted",
        N_(
            "Deze gegevens komen niet van een uitgever die wij vertrouwen. "
            "Gebruik een identiteitsbewijs dat de overheid in uw wallet heeft gezet."
        ),
    )
    #: the credential in the wallet has expired (or is not valid yet)
    WALLET_CREDENTIAL_EXPIRED = (
        "wallet-credential-expired",
        N_(
            "Uw identiteitsbewijs in de wallet is verlopen. Vernieuw het in de wallet "
            "en probeer het opnieuw."
        ),
    )
    #: the issuer revoked or suspended the credential
    CREDENTIAL_REVOKED = (
        "credential-revoked",
        N_(
            "Uw identiteitsbewijs in de wallet is ingetrokken of geblokkeerd. "
            "Neem contact op met de uitgever ervan."
        ),
    )
    #: whether the credential is revoked could not be found out
    STATUS_UNKNOWN = (
        "status-unknown",
        N_(
            "We konden niet nagaan of uw identiteitsbewijs nog geldig is. "
            "Probeer het over een paar minuten opnieuw."
        ),
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


# -- OpenID4VP (identity.openid4vp)


class FetchError(VerifierUnavailable):
    """A status list could not be fetched: refused by a fetch rule (https only, no
    private address, no redirect), too large, too slow, or an HTTP error.

    ``rule`` is a stable, log-safe code (``scheme``, ``address``, ``size``, ...).
    """

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"status list fetch refused ({rule}): {detail}")
        self.rule = rule


class UnknownTransaction(UnknownVerification):
    """No OpenID4VP transaction with that transaction id or request id."""


class TransactionStateError(VerificationStateError):
    """The operation is not allowed in the OpenID4VP transaction's current state (for
    example a second fetch of the request object, or a second response)."""

    def __init__(self, what: str, state: str) -> None:
        IdentityError.__init__(self, f"{what} is not allowed while the transaction is {state!r}")
        self.state = state


class PresentationRefused(VerificationRefused):
    """A wallet presentation, or the response carrying it, failed a check.

    ``check`` is a stable, log-safe code naming the check (``sd-jwt.kb.nonce``,
    ``mdoc.digest``, ...); ``detail`` never holds a claim value.
    """

    def __init__(self, reason: RefusalReason, check: str, detail: str = "") -> None:
        super().__init__(reason, f"{check}: {detail}" if detail else check)
        self.check = check


class WalletResponseError(IdentityError):
    """A wallet's POST we cannot use: a response that is unreadable, not encrypted to our
    key, or carries another transaction's ``state``, or a request-object fetch with an
    unusable ``wallet_nonce``. The transaction is left as it was; the wallet gets
    ``invalid_request``. ``check`` is a log-safe code."""

    def __init__(self, check: str, detail: str = "") -> None:
        super().__init__(f"{check}: {detail}" if detail else check)
        self.check = check
