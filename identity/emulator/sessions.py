# Longer than 500 lines: irmago's session state machine and its checks in one place, so that
# they can be compared with irmago's source side by side.
"""The emulator's sessions: an I/O-free state machine driven by an injected clock.

One session moves as the real ``irma server``'s does (research §1.5)::

    INITIALIZED ──(app GET, pairing on)──> PAIRING ──(frontend pairingcompleted)──┐
        │                                                                        v
        └──────────────(app GET, no pairing)───────────────────────────────> CONNECTED
    CONNECTED ──(app POST proofs)──> DONE
    INITIALIZED ──(app GET with an old version or no Authorization)──> CANCELLED (+ error)
    INITIALIZED | PAIRING | CONNECTED ──(DELETE)──> CANCELLED
                                       ──(clock passes a deadline)──> TIMEOUT

``DONE``, ``CANCELLED`` and ``TIMEOUT`` are final. Time is counted from the
session's last activity (irmago ``markAlive``: start, the app's first GET, its
proofs, a DELETE), as in irmago's ``sessionData.timeout`` and ``ttl``
(``irma/server/irmaserver/helpers.go``): an INITIALIZED session waits the
request's ``timeout`` (or, without one, the maximum session lifetime); a
PAIRING or CONNECTED one the maximum session lifetime; a final session is kept
until the result lifetime after its last activity has passed, and then
forgotten, after which every lookup answers ``SESSION_UNKNOWN``. Every method
raises :class:`RemoteError` with the code the real server would answer, naming
the current state. The HTTP layer (:mod:`identity.emulator.app`) only
translates requests to these calls.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, NoReturn

from identity.emulator.errors import (
    MALFORMED_INPUT,
    PAIRING_REQUIRED,
    PROTOCOL_VERSION,
    SESSION_UNKNOWN,
    UNAUTHORIZED,
    UNEXPECTED_REQUEST,
    ErrorKind,
    RemoteError,
)
from identity.emulator.request import DisclosureRequest, Disjunction, SessionRequest


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
TOKEN_ALPHABET: Final = string.ascii_letters + string.digits
#: the only app protocol version the emulator speaks (the real minimum, research §1.4)
APP_PROTOCOL_VERSION: Final = "2.8"
CLIENT_REQUEST_CONTEXT: Final = "https://irma.app/ld/request/client/v1"
OPTIONS_CONTEXT: Final = "https://irma.app/ld/options/v1"
FRONTEND_OPTIONS_CONTEXT: Final = "https://irma.app/ld/request/frontendoptions/v1"
PAIRING_METHODS: Final = frozenset({"none", "pin"})
SESSION_TYPE: Final = "disclosing"


def new_token() -> str:
    """A session token as irmago makes them: 20 characters of ``[a-zA-Z0-9]``."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


@dataclass(frozen=True)
class Lifetimes:
    """How long sessions live, in seconds (irma server defaults, ``server.Configuration``)."""

    #: a result stays readable until this long after the session's last activity
    #: (``session_result_lifetime``, 5 min); a timeout is no activity
    result_s: float = 300.0
    #: an open session without activity ends TIMEOUT after this long, and an INITIALIZED
    #: one too when its request names no ``timeout`` (``max_session_lifetime``, 15 min)
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


#: the result's ``disclosed``: per disjunction the attributes of the conjunction that met
#: it, or ``None`` (JSON ``null``) when none did; ``None`` as a whole when nothing matched
Disclosed = list[list[DisclosedAttribute] | None] | None


def evaluate_disclosure(
    request: DisclosureRequest, choice: Sequence[Sequence[Submitted]], *, now: int
) -> tuple[ProofStatus, Disclosed]:
    """Check a wallet's choice against the request, as the real server checks proofs.

    ``choice[i]`` is the conjunction chosen for disjunction ``i``; one extra
    trailing list may carry attributes nobody asked for (all ``EXTRA``). The shape
    of the answer is irmago's (``AttributeConDisCon.Satisfy`` and
    ``Disclosure.DisclosedAttributes``): an unmet disjunction is ``None`` and its
    attributes are dropped; a met one holds exactly its conjunction's attributes
    (``PRESENT``, or ``NULL`` for a null value); fewer answers than disjunctions
    match nothing at all. Unlike irmago, attributes are matched by id, not position.
    """
    n = len(request.disclose)
    if len(choice) > n + 1:
        raise RemoteError(
            MALFORMED_INPUT, f"expected {n} chosen conjunctions (plus optional extras)"
        )
    for index, chosen in enumerate(choice):
        ids = [item.id for item in chosen]
        if len(set(ids)) != len(ids):
            raise RemoteError(MALFORMED_INPUT, f"conjunction {index} names an attribute twice")
    if len(choice) < n:
        return ProofStatus.MISSING_ATTRIBUTES, None
    status = ProofStatus.VALID
    disclosed: list[list[DisclosedAttribute] | None] = []
    for disjunction, chosen in zip(request.disclose, choice, strict=False):
        met = _met(disjunction, chosen, now)
        if met is None:
            status = ProofStatus.MISSING_ATTRIBUTES
        disclosed.append(met)
    if len(choice) == n + 1:
        disclosed.append([_disclosed(item, AttributeStatus.EXTRA, now) for item in choice[n]])
    return status, disclosed


def _met(
    disjunction: Disjunction, chosen: Sequence[Submitted], now: int
) -> list[DisclosedAttribute] | None:
    """The attributes of the first conjunction ``chosen`` satisfies, or ``None``."""
    values = {item.id: item for item in chosen}
    for conjunction in disjunction:
        if not conjunction:
            # the empty (optional) conjunction is met only by disclosing nothing here
            # (irmago: irmamobile #360)
            if not chosen:
                return []
            continue
        if all(a.id in values and a.accepts(values[a.id].rawvalue) for a in conjunction):
            return [
                _disclosed(
                    values[a.id],
                    AttributeStatus.NULL
                    if values[a.id].rawvalue is None
                    else AttributeStatus.PRESENT,
                    now,
                )
                for a in conjunction
            ]
    return None


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
    #: set by the frontend's options call when it enables PIN pairing
    pairing_code: str | None = None
    #: the app's own Authorization, bound at its first GET
    client_authorization: str | None = None
    proof_status: ProofStatus | None = None
    disclosed: Disclosed = None
    #: why the server ended the session (irmago ``session.fail``); shown in the result
    error: RemoteError | None = None
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
            # irmago's SessionResult has ``disclosed,omitempty``: no key for nil or empty
            if self.disclosed:
                body["disclosed"] = [
                    None if inner is None else [attr.to_json() for attr in inner]
                    for inner in self.disclosed
                ]
        if self.error is not None:
            body["error"] = self.error.to_json()
        return body

    def deadline(self, lifetimes: Lifetimes) -> float:
        """When an open session times out (irmago ``sessionData.timeout``)."""
        if self.status is Status.INITIALIZED and self.request.timeout_s is not None:
            return self.last_active + self.request.timeout_s
        return self.last_active + lifetimes.max_session_s


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
        """``POST {u}/frontend/options``, answered as irmago's ``handleFrontendOptionsPost``:
        an unreadable body is ``MALFORMED_INPUT``; the state, then the method, are checked
        by ``updateFrontendOptions`` and answered ``UNEXPECTED_REQUEST``; no method leaves
        the options as they are."""
        self.check_frontend(session, authorization)
        # Go reads an absent or null method as "" and anything but a string as an error
        raw = body.get("pairingMethod") if isinstance(body, Mapping) else None
        method = "" if raw is None else raw
        if (
            not isinstance(body, Mapping)
            or body.get("@context") != FRONTEND_OPTIONS_CONTEXT
            or not isinstance(method, str)
        ):
            raise RemoteError(
                MALFORMED_INPUT,
                f'expected {{"@context": "{FRONTEND_OPTIONS_CONTEXT}", "pairingMethod": '
                '"pin"|"none"}',
            )
        self._require(session, Status.INITIALIZED, "frontend options")
        if method == "pin":
            session.pairing_code = f"{secrets.randbelow(10_000):04d}"
        elif method == "none":
            session.pairing_code = None
        elif method:
            raise RemoteError(
                UNEXPECTED_REQUEST, f"Pairing method unknown: use one of {sorted(PAIRING_METHODS)}"
            )
        return self._options(session)

    def pairing_completed(self, session: Session, authorization: str | None) -> None:
        self.check_frontend(session, authorization)
        self._require(session, Status.PAIRING, "pairing completed")
        session.status = Status.CONNECTED

    # -- client side (the wallet app) --------------------------------------------

    def client_connect(
        self,
        session: Session,
        authorization: str | None,
        min_version: str | None,
        max_version: str | None,
    ) -> dict[str, object]:
        """The app's first ``GET {u}/``: negotiate, bind its Authorization, maybe pair.

        In irmago's order (``handleSessionGet``, ``handleGetClientRequest``): unreadable
        version headers change nothing; then the state is checked; then a failed version
        negotiation or a missing Authorization ends the session, as ``session.fail`` does.
        """
        low, high = parse_protocol_version(min_version), parse_protocol_version(max_version)
        self._require(session, Status.INITIALIZED, "the app's first request")
        self._touch(session)
        wanted = tuple(int(part) for part in APP_PROTOCOL_VERSION.split("."))
        if not low <= wanted <= high:
            self._fail(
                session, PROTOCOL_VERSION, f"the emulator speaks only {APP_PROTOCOL_VERSION}"
            )
        if not authorization:
            self._fail(session, UNAUTHORIZED, "No authorization header provided")
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
        """``GET {u}/request`` after pairing (not activity, as in irmago)."""
        self._check_client(session, authorization)
        return session.client_request()

    def client_proofs(
        self, session: Session, authorization: str | None, body: object
    ) -> ProofStatus:
        """``POST {u}/proofs`` with the emulator body; the session ends ``DONE``."""
        self._check_client(session, authorization)
        choice = parse_emulator_disclosure(body)
        self._touch(session)
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
        """Forget finished sessions past their result lifetime; time out open ones past
        their deadline.

        In this order, so a session that times out now is still seen TIMEOUT once even
        when its last activity is longer ago than the result lifetime: irmago marks the
        timeout at a lookup and deletes such a session at its next sweep, within 10 s.
        """
        now = self._clock()
        for session in list(self._by_requestor.values()):
            if session.status.finished:
                if now >= session.last_active + self.lifetimes.result_s:
                    del self._by_requestor[session.requestor_token]
                    del self._by_client[session.client_token]
            elif now >= session.deadline(self.lifetimes):
                # a timeout is not activity: last_active stays, and with it the result's end
                session.status = Status.TIMEOUT

    # -- helpers ----------------------------------------------------------------------

    def _check_client(self, session: Session, authorization: str | None) -> None:
        """irmago's ``pairingMiddleware``: pairing first, then the state, then the app."""
        if session.status is Status.PAIRING:
            raise RemoteError(PAIRING_REQUIRED)
        self._require(session, Status.CONNECTED, "this app request")
        bound = session.client_authorization
        if bound is None or not authorization or not secrets.compare_digest(authorization, bound):
            raise RemoteError(UNAUTHORIZED)

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
        """End ``session`` by something that happened now (proofs, a DELETE): activity."""
        session.status = status
        session.last_active = self._clock()

    def _fail(self, session: Session, kind: ErrorKind, message: str) -> NoReturn:
        """End ``session`` CANCELLED with ``kind`` in its result, and answer ``kind``."""
        session.error = RemoteError(kind, message)
        self._finish(session, Status.CANCELLED)
        raise session.error
