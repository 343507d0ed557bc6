# Longer than 500 lines: irmago's session state machine and its checks in one place, so that
# they can be compared with irmago's source side by side.
"""The emulator's sessions: an I/O-free state machine driven by an injected clock.

One session moves as the real ``irma server``'s does (research §1.5)::

    INITIALIZED ──(app GET, pairing on)──> PAIRING ──(frontend pairingcompleted)──┐
        │                                                                        v
        └──────────────(app GET, no pairing)───────────────────────────────> CONNECTED
    CONNECTED ──(app POST proofs)──> DONE
    INITIALIZED | PAIRING | CONNECTED ──(DELETE)──> CANCELLED
                                       ──(clock passes a deadline)──> TIMEOUT

``DONE``, ``CANCELLED`` and ``TIMEOUT`` are final; a final session is kept for
the result lifetime and then forgotten, after which every lookup answers
``SESSION_UNKNOWN``. Every method raises :class:`RemoteError` with the code the
real server would answer, naming the current state. The HTTP layer
(:mod:`identity.emulator.app`) only translates requests to these calls.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from identity.emulator.errors import (
    MALFORMED_INPUT,
    PAIRING_REQUIRED,
    PROTOCOL_VERSION,
    SESSION_UNKNOWN,
    UNAUTHORIZED,
    UNEXPECTED_REQUEST,
    RemoteError,
)
from identity.emulator.request import DisclosureRequest, SessionRequest


class Status(StrEnum):
    INITIALIZED = "INITIALIZED"
    PAIRING = "PAIRING"
    CONNECTED = "CONNECTED"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"

    @property
    def finished(self) -> bool:
        return self in _FINAL


_FINAL: Final = frozenset({Status.DONE, Status.CANCELLED, Status.TIMEOUT})


class ProofStatus(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"
    UNMATCHED_REQUEST = "UNMATCHED_REQUEST"
    MISSING_ATTRIBUTES = "MISSING_ATTRIBUTES"
    EXPIRED = "EXPIRED"


class AttributeStatus(StrEnum):
    PRESENT = "PRESENT"
    NULL = "NULL"
    EXTRA = "EXTRA"


TOKEN_LENGTH: Final = 20
_TOKEN_ALPHABET: Final = string.ascii_letters + string.digits
#: the only app protocol version the emulator speaks (the real minimum, research §1.4)
APP_PROTOCOL_VERSION: Final = "2.8"
CLIENT_REQUEST_CONTEXT: Final = "https://irma.app/ld/request/client/v1"
OPTIONS_CONTEXT: Final = "https://irma.app/ld/options/v1"
FRONTEND_OPTIONS_CONTEXT: Final = "https://irma.app/ld/request/frontendoptions/v1"
PAIRING_METHODS: Final = frozenset({"none", "pin"})
SESSION_TYPE: Final = "disclosing"


def new_token() -> str:
    """A session token as irmago makes them: 20 characters of ``[a-zA-Z0-9]``."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


@dataclass(frozen=True)
class Lifetimes:
    """How long sessions live, in seconds (irma server defaults)."""

    #: after a session ends, its result stays readable this long
    result_s: float = 300.0
    #: once the app connected, a session may stay open this long without activity
    max_session_s: float = 900.0


@dataclass
class EmulatorSwitches:
    """Test-only switches that force what the next proofs lead to.

    While ``proof_status`` is set, every session that reaches ``DONE`` gets that
    ``proofStatus`` (the disclosed attributes stay in the result, so a
    requestor that looks at attributes but not at ``proofStatus`` is caught).
    While ``outcome`` is ``CANCELLED`` or ``TIMEOUT``, posted proofs end the
    session in that status instead and the app's POST is refused with
    ``UNEXPECTED_REQUEST``, as if the session ended just before it arrived.
    """

    proof_status: ProofStatus | None = None
    outcome: Status | None = None

    def force(
        self, *, proof_status: ProofStatus | None = None, outcome: Status | None = None
    ) -> None:
        if outcome is not None and outcome not in (Status.CANCELLED, Status.TIMEOUT):
            raise ValueError(f"outcome must be CANCELLED or TIMEOUT, not {outcome}")
        self.proof_status = proof_status
        self.outcome = outcome

    def reset(self) -> None:
        self.proof_status = None
        self.outcome = None


@dataclass(frozen=True)
class Submitted:
    """One attribute the wallet says it discloses (emulator body, research §3.2)."""

    id: str
    rawvalue: str | None


@dataclass(frozen=True)
class DisclosedAttribute:
    """An ``irma.DisclosedAttribute`` of the result (research §1.6)."""

    id: str
    rawvalue: str | None
    status: AttributeStatus
    issuancetime: int

    def to_json(self) -> dict[str, object]:
        value = None if self.rawvalue is None else dict.fromkeys(("", "en", "nl"), self.rawvalue)
        return {
            "id": self.id,
            "rawvalue": self.rawvalue,
            "value": value,
            "status": str(self.status),
            "issuancetime": self.issuancetime,
        }


def evaluate_disclosure(
    request: DisclosureRequest, choice: Sequence[Sequence[Submitted]], *, now: int
) -> tuple[ProofStatus, list[list[DisclosedAttribute]]]:
    """Check a wallet's choice against the request, as the real server checks proofs.

    ``choice[i]`` is the conjunction chosen for disjunction ``i``; one extra
    trailing list may carry attributes nobody asked for (all ``EXTRA``).
    """
    n = len(request.disclose)
    if len(choice) not in (n, n + 1):
        raise RemoteError(
            MALFORMED_INPUT, f"expected {n} chosen conjunctions (plus optional extras)"
        )
    status = ProofStatus.VALID
    disclosed: list[list[DisclosedAttribute]] = []
    for index, chosen in enumerate(choice):
        ids = [item.id for item in chosen]
        if len(set(ids)) != len(ids):
            raise RemoteError(MALFORMED_INPUT, f"conjunction {index} names an attribute twice")
        if index == n:
            disclosed.append([_disclosed(item, AttributeStatus.EXTRA, now) for item in chosen])
            continue
        disjunction = request.disclose[index]
        values = {item.id: item.rawvalue for item in chosen}
        satisfied = any(
            all(attr.id in values and attr.accepts(values[attr.id]) for attr in conjunction)
            and (conjunction or not chosen)
            for conjunction in disjunction
        )
        if not satisfied:
            status = ProofStatus.MISSING_ATTRIBUTES
        requested = {attr.id for conjunction in disjunction for attr in conjunction}
        disclosed.append(
            [
                _disclosed(
                    item,
                    AttributeStatus.EXTRA
                    if item.id not in requested
                    else AttributeStatus.NULL
                    if item.rawvalue is None
                    else AttributeStatus.PRESENT,
                    now,
                )
                for item in chosen
            ]
        )
    return status, disclosed


def _disclosed(item: Submitted, status: AttributeStatus, now: int) -> DisclosedAttribute:
    return DisclosedAttribute(item.id, item.rawvalue, status, now)


def parse_emulator_disclosure(body: object) -> list[list[Submitted]]:
    """``{"emulatorDisclosure": [[{"id", "rawvalue"}, ...], ...]}`` (research §3.2)."""
    if not isinstance(body, Mapping) or set(body.keys()) != {"emulatorDisclosure"}:
        raise RemoteError(
            MALFORMED_INPUT,
            'the emulator accepts only {"emulatorDisclosure": [[{"id", "rawvalue"}]]} as proofs',
        )
    outer = body["emulatorDisclosure"]
    if not isinstance(outer, list):
        raise RemoteError(MALFORMED_INPUT, "emulatorDisclosure must be a list of lists")
    choice: list[list[Submitted]] = []
    for inner in outer:
        if not isinstance(inner, list):
            raise RemoteError(MALFORMED_INPUT, "emulatorDisclosure must be a list of lists")
        conjunction: list[Submitted] = []
        for item in inner:
            if (
                not isinstance(item, Mapping)
                or set(item.keys()) != {"id", "rawvalue"}
                or not isinstance(item["id"], str)
                or not (item["rawvalue"] is None or isinstance(item["rawvalue"], str))
            ):
                raise RemoteError(
                    MALFORMED_INPUT, 'each disclosed attribute is {"id": str, "rawvalue": str|null}'
                )
            conjunction.append(Submitted(item["id"], item["rawvalue"]))
        choice.append(conjunction)
    return choice


def parse_protocol_version(raw: str | None) -> tuple[int, int]:
    """An ``X-IRMA-*ProtocolVersion`` header: ``2.8`` or the JSON string ``"2.8"``."""
    text = (raw or "").strip().strip('"')
    major, dot, minor = text.partition(".")
    if not dot or not major.isdigit() or not minor.isdigit():
        raise RemoteError(MALFORMED_INPUT, "protocol version headers must look like 2.8")
    return int(major), int(minor)


@dataclass
class Session:
    """One disclosure session. Tokens are secrets: never log them."""

    request: SessionRequest
    requestor_token: str
    client_token: str
    frontend_authorization: str
    created_at: float
    status: Status = Status.INITIALIZED
    last_active: float = 0.0
    finished_at: float | None = None
    #: set by the frontend's options call when it enables PIN pairing
    pairing_code: str | None = None
    #: the app's own Authorization, bound at its first GET
    client_authorization: str | None = None
    proof_status: ProofStatus | None = None
    disclosed: list[list[DisclosedAttribute]] = field(default_factory=list)
    #: a fresh nonce per session, as the real server adds to what the app sees
    nonce: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(12)).decode())

    @property
    def pairing_hint(self) -> bool:
        """The real server hints at pairing when a fixed value is asked (research §1.4)."""
        return self.request.request.has_fixed_values

    def frontend_request(self) -> dict[str, object]:
        body: dict[str, object] = {
            "authorization": self.frontend_authorization,
            "minProtocolVersion": "1.0",
            "maxProtocolVersion": "1.1",
        }
        if self.pairing_hint:
            body["pairingHint"] = True
        return body

    def client_request(self) -> dict[str, object]:
        """The disclosure request as the app sees it, with the fields the server adds."""
        return {
            **self.request.request.raw,
            "nonce": self.nonce,
            "context": "AQ==",
            "protocolVersion": APP_PROTOCOL_VERSION,
            "devMode": True,
        }

    def result(self) -> dict[str, object]:
        """The ``SessionResult`` (research §1.6); unfinished sessions show only the basics."""
        body: dict[str, object] = {
            "token": self.requestor_token,
            "status": str(self.status),
            "type": SESSION_TYPE,
        }
        if self.status is Status.DONE and self.proof_status is not None:
            body["proofStatus"] = str(self.proof_status)
            body["disclosed"] = [[attr.to_json() for attr in inner] for inner in self.disclosed]
        return body


class SessionStore:
    """All sessions of one emulator; time comes only from ``clock`` (Unix seconds)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        switches: EmulatorSwitches | None = None,
        lifetimes: Lifetimes | None = None,
    ) -> None:
        self._clock = clock
        self.switches = switches if switches is not None else EmulatorSwitches()
        self.lifetimes = lifetimes if lifetimes is not None else Lifetimes()
        self._by_requestor: dict[str, Session] = {}
        self._by_client: dict[str, Session] = {}

    # -- requestor side ----------------------------------------------------------

    def start(self, request: SessionRequest) -> Session:
        self.sweep()
        now = self._clock()
        session = Session(
            request=request,
            requestor_token=new_token(),
            client_token=new_token(),
            frontend_authorization=new_token(),
            created_at=now,
            last_active=now,
        )
        self._by_requestor[session.requestor_token] = session
        self._by_client[session.client_token] = session
        return session

    def by_requestor_token(self, token: str) -> Session:
        self.sweep()
        session = self._by_requestor.get(token)
        if session is None:
            raise RemoteError(SESSION_UNKNOWN)
        return session

    def by_client_token(self, token: str) -> Session:
        self.sweep()
        session = self._by_client.get(token)
        if session is None:
            raise RemoteError(SESSION_UNKNOWN)
        return session

    def open_sessions(self) -> list[Session]:
        """Sessions that have not ended, oldest first (for the demo wallet page)."""
        self.sweep()
        return sorted(
            (s for s in self._by_requestor.values() if not s.status.finished),
            key=lambda s: s.created_at,
        )

    def cancel(self, session: Session) -> None:
        """A requestor, frontend or app DELETE; a finished session is left alone."""
        if not session.status.finished:
            self._finish(session, Status.CANCELLED)

    def force_status(self, session: Session, status: Status) -> None:
        """Test hook: end an open session as ``CANCELLED`` or ``TIMEOUT`` right now."""
        if status not in (Status.CANCELLED, Status.TIMEOUT):
            raise ValueError(f"only CANCELLED or TIMEOUT can be forced, not {status}")
        if not session.status.finished:
            self._finish(session, status)

    # -- frontend side (yivi-frontend in the browser) ---------------------------

    def check_frontend(self, session: Session, authorization: str | None) -> None:
        if not authorization or not secrets.compare_digest(
            authorization, session.frontend_authorization
        ):
            raise RemoteError(UNAUTHORIZED)

    def frontend_options(
        self, session: Session, authorization: str | None, body: object
    ) -> dict[str, object]:
        self.check_frontend(session, authorization)
        if (
            not isinstance(body, Mapping)
            or body.get("@context") != FRONTEND_OPTIONS_CONTEXT
            or body.get("pairingMethod") not in PAIRING_METHODS
        ):
            raise RemoteError(
                MALFORMED_INPUT,
                f'expected {{"@context": "{FRONTEND_OPTIONS_CONTEXT}", "pairingMethod": '
                '"pin"|"none"}',
            )
        self._require(session, Status.INITIALIZED, "frontend options")
        if body["pairingMethod"] == "pin":
            session.pairing_code = f"{secrets.randbelow(10_000):04d}"
        else:
            session.pairing_code = None
        self._touch(session)
        return self._options(session)

    def pairing_completed(self, session: Session, authorization: str | None) -> None:
        self.check_frontend(session, authorization)
        self._require(session, Status.PAIRING, "pairing completed")
        session.status = Status.CONNECTED
        self._touch(session)

    # -- client side (the wallet app) --------------------------------------------

    def client_connect(
        self,
        session: Session,
        authorization: str | None,
        min_version: str | None,
        max_version: str | None,
    ) -> dict[str, object]:
        """The app's first ``GET {u}/``: negotiate, bind its Authorization, maybe pair."""
        low, high = parse_protocol_version(min_version), parse_protocol_version(max_version)
        wanted = tuple(int(part) for part in APP_PROTOCOL_VERSION.split("."))
        if not low <= wanted <= high:
            raise RemoteError(PROTOCOL_VERSION, f"the emulator speaks only {APP_PROTOCOL_VERSION}")
        if not authorization:
            raise RemoteError(UNAUTHORIZED, "the app must send its own Authorization header")
        self._require(session, Status.INITIALIZED, "the app's first request")
        session.client_authorization = authorization
        body: dict[str, object] = {
            "@context": CLIENT_REQUEST_CONTEXT,
            "protocolVersion": APP_PROTOCOL_VERSION,
            "options": self._options(session),
        }
        if session.pairing_code is not None:
            session.status = Status.PAIRING
        else:
            session.status = Status.CONNECTED
            body["request"] = session.client_request()
        self._touch(session)
        return body

    def client_request(self, session: Session, authorization: str | None) -> dict[str, object]:
        """``GET {u}/request`` after pairing."""
        self._check_client(session, authorization)
        self._touch(session)
        return session.client_request()

    def client_proofs(
        self, session: Session, authorization: str | None, body: object
    ) -> ProofStatus:
        """``POST {u}/proofs`` with the emulator body; the session ends ``DONE``."""
        self._check_client(session, authorization)
        choice = parse_emulator_disclosure(body)
        now = self._clock()
        status, disclosed = evaluate_disclosure(session.request.request, choice, now=int(now))
        outcome = self.switches.outcome
        if outcome is not None:
            self._finish(session, outcome)
            raise RemoteError(UNEXPECTED_REQUEST, f"session is {session.status}")
        if self.switches.proof_status is not None:
            status = self.switches.proof_status
        session.proof_status = status
        session.disclosed = disclosed
        self._finish(session, Status.DONE)
        return status

    # -- time ------------------------------------------------------------------------

    def sweep(self) -> None:
        """Time out sessions past their deadline; forget results past their lifetime."""
        now = self._clock()
        for session in list(self._by_requestor.values()):
            if session.status.finished:
                assert session.finished_at is not None
                if now >= session.finished_at + self.lifetimes.result_s:
                    del self._by_requestor[session.requestor_token]
                    del self._by_client[session.client_token]
            elif session.status is Status.INITIALIZED:
                if now >= session.created_at + session.request.timeout_s:
                    self._finish(session, Status.TIMEOUT)
            elif now >= session.last_active + self.lifetimes.max_session_s:
                self._finish(session, Status.TIMEOUT)

    # -- helpers ----------------------------------------------------------------------

    def _check_client(self, session: Session, authorization: str | None) -> None:
        bound = session.client_authorization
        if bound is None or not authorization or not secrets.compare_digest(authorization, bound):
            raise RemoteError(UNAUTHORIZED)
        if session.status is Status.PAIRING:
            raise RemoteError(PAIRING_REQUIRED)
        self._require(session, Status.CONNECTED, "this app request")

    @staticmethod
    def _require(session: Session, status: Status, what: str) -> None:
        if session.status is not status:
            raise RemoteError(
                UNEXPECTED_REQUEST,
                f"{what} is allowed only in {status}; session is {session.status}",
            )

    @staticmethod
    def _options(session: Session) -> dict[str, object]:
        options: dict[str, object] = {
            "@context": OPTIONS_CONTEXT,
            "pairingMethod": "none" if session.pairing_code is None else "pin",
        }
        if session.pairing_code is not None:
            options["pairingCode"] = session.pairing_code
        return options

    def _touch(self, session: Session) -> None:
        session.last_active = self._clock()

    def _finish(self, session: Session, status: Status) -> None:
        session.status = status
        session.finished_at = self._clock()
        session.last_active = session.finished_at
