"""Core: what every feature stands on, set up first by :func:`server.app.create_app`."""

from __future__ import annotations

from aiohttp import web

from server.config import Config
from server.core.appkeys import CLOCK, CONFIG, KEYS, VAULT_KEYS
from server.core.clock import Clock
from server.core.forms import refuse_control_characters
from server.core.health import READINESS, health, ready
from server.core.language import LANGUAGES, Languages
from server.core.limits import shared_limits
from server.core.metrics import METRICS, Metrics, correlate, metrics_listener, observe_response
from server.core.pages import (
    STATIC_PREFIX,
    VENDOR_PREFIX,
    WEB_DIR,
    favicon,
    vendor_file,
)
from server.core.secrets import load_keys, vault_keys
from server.core.security import GUARDS, Guard, security_headers
from signaling.tokens import KeySet


def setup(
    app: web.Application,
    config: Config,
    *,
    keys: KeySet | None,
    clock: Clock,
) -> None:
    """Configuration, clock, keys (read now, so a bad key file fails start-up), the
    languages, the shared rate limits' connection, security headers, static files, health
    and readiness, and the metrics with their own listener."""
    app.middlewares.append(security_headers)
    # features add theirs after these (server/core/security.py)
    guards: list[Guard] = [correlate, refuse_control_characters]
    app[GUARDS] = guards
    app[METRICS] = Metrics()
    app.on_response_prepare.append(observe_response)
    app[CONFIG] = config
    app[CLOCK] = clock
    app[KEYS] = keys if keys is not None else load_keys(config)
    app[VAULT_KEYS] = vault_keys(config)
    app[LANGUAGES] = Languages(WEB_DIR)
    app.cleanup_ctx.append(metrics_listener)
    app.cleanup_ctx.append(shared_limits)
    app[READINESS] = []  # each feature adds the checks of what it depends on
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get(VENDOR_PREFIX + "/{name}", vendor_file)
    app.router.add_static(STATIC_PREFIX, WEB_DIR / "static", append_version=True)
