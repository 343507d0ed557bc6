"""What the identity gate counts for Prometheus: each finished verification by verifier,
outcome and reason (a refusal's stable code, docs/identity.md), never a value."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import Counter

from server.core.metrics import METRICS, Metrics
from server.verification.appkeys import GATE

_REFUSED = "refused-"


class VerificationMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self.outcomes = Counter(
            "balie_verifications",
            "Identity verifications finished, by verifier, outcome (verified, refused, "
            "unavailable, error) and reason (the refusal's code)",
            ("verifier", "outcome", "reason"),
            registry=metrics.registry,
        )

    def finished(self, verifier: str, code: str | None) -> None:
        """Count a finish: ``code`` is the gate's refusal code, None when verified."""
        if code is None:
            outcome, reason = "verified", ""
        elif code.startswith(_REFUSED):
            outcome, reason = "refused", code.removeprefix(_REFUSED)
        elif code == "verifier-unavailable":
            outcome, reason = "unavailable", ""
        else:
            outcome, reason = "error", code
        self.outcomes.labels(verifier, outcome, reason).inc()


VERIFICATION_METRICS = web.AppKey("verification_metrics", VerificationMetrics)


def setup_metrics(app: web.Application) -> None:
    app[VERIFICATION_METRICS] = VerificationMetrics(app[METRICS])


def count_finish(request: web.Request, code: str | None, verifier: str | None = None) -> None:
    """The result step of ``request`` ended with ``code`` (None: verified), with
    ``verifier`` (the gate's Yivi verifier when not known)."""
    request.app[VERIFICATION_METRICS].finished(verifier or request.app[GATE].verifier.name, code)
