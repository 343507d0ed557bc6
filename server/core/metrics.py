"""Prometheus metrics: one registry per application, served on a listener of its own.

Every node keeps its own :class:`Metrics` (``app[METRICS]``), never prometheus-client's
global registry: tests build many applications in one process, and each must count only
its own. Features register what they count on ``app[METRICS].registry`` in their own setup
(the call's rooms and messages, bookings, verifications); core counts HTTP requests by
route template (never the raw path) and the security events of :mod:`server.core.logs`.

``/metrics`` is never served by the public application: with ``BALIE_METRICS_PORT`` set, a
second listener on ``BALIE_METRICS_HOST`` (loopback unless the operator says otherwise)
serves it, behind ``Authorization: Bearer`` when ``BALIE_METRICS_TOKEN`` is set. Label
values come from fixed sets only (route templates, methods, status classes, close codes,
reasons): no ids, no personal data. docs/operations.md lists every metric.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Final

from aiohttp import hdrs, web
from prometheus_client import CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from server.config import ConfigError
from server.core.appkeys import CONFIG
from server.core.logs import EVENT_COUNTS, REQUEST_ID, Event, bind_room, new_request_id

log = logging.getLogger("balie.metrics")

#: request durations: a page in milliseconds, a slow database in seconds
HTTP_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: methods named in labels; anything else is ``other``
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: the path parameters that name a room (their requests' log lines carry its reference)
_ROOM_PARAMETERS: Final = ("room_id", "room")


class _SecurityEvents(Collector):
    """``balie_security_events_total{event}``: every :class:`Event`, zero until logged."""

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "balie_security_events",
            "Security events logged by this process, by stable event name",
            labels=("event",),
        )
        for name in Event:
            family.add_metric((name.value,), EVENT_COUNTS[name])
        yield family


class Metrics:
    """This node's registry and the metrics core keeps itself."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_duration = Histogram(
            "balie_http_request_duration_seconds",
            "HTTP requests answered, by route template, method and status class "
            "(WebSocket upgrades are not timed: they last as long as the call)",
            ("route", "method", "status"),
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_SecurityEvents())
        # CPU seconds, resident memory, open files: this node's process
        ProcessCollector(registry=self.registry)

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition in the format ``accept`` asks for, and its content type."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


METRICS = web.AppKey("metrics", Metrics)


def route_of(request: web.Request) -> str:
    """The route template that matched (``/call/{room_id}``), never the path itself."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


_STARTED = web.RequestKey("metrics_started", float)
_REQUEST_ID = web.RequestKey("request_id", str)


async def correlate(request: web.Request) -> None:
    """The first request guard (server/core/security.py): the request's id for its log lines
    and its ``X-Request-Id`` answer, its room's reference, and when it started.

    A guard and a response signal, not a middleware of its own: a middleware's frame lives
    as long as its request, and a WebSocket's request lasts the whole call."""
    request_id = new_request_id()
    REQUEST_ID.set(request_id)
    if request.headers.get(hdrs.UPGRADE, "").lower() != "websocket":
        # an upgrade is neither timed nor answered with the header (observe_response), and
        # whatever its request holds is held for the whole call
        request[_REQUEST_ID] = request_id
        request[_STARTED] = time.perf_counter()
    for name in _ROOM_PARAMETERS:
        if room := request.match_info.get(name):
            bind_room(room)
            break


async def observe_response(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: ``balie_http_request_duration_seconds`` (to the response's
    headers; a WebSocket upgrade is not timed) and the ``X-Request-Id`` header."""
    if isinstance(response, web.WebSocketResponse):
        return
    request_id = request.get(_REQUEST_ID)
    if request_id is not None:
        response.headers["X-Request-Id"] = request_id
    started = request.get(_STARTED)
    if started is None:
        return  # answered before the guards ran (aiohttp's own 400 for a bad request line)
    method = request.method if request.method in _METHODS else "other"
    request.config_dict[METRICS].http_duration.labels(
        route_of(request), method, _status_class(response.status)
    ).observe(time.perf_counter() - started)


async def metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: serve ``/metrics`` on BALIE_METRICS_HOST:BALIE_METRICS_PORT, if set."""
    settings = app[CONFIG].metrics
    if not settings.port:
        yield
        return
    metrics = app[METRICS]
    token = settings.token

    async def scrape(request: web.Request) -> web.Response:
        if token and not _bearer_matches(request, token):
            return web.Response(
                status=401,
                text="send the metrics token as Authorization: Bearer\n",
                headers={"WWW-Authenticate": 'Bearer realm="balie-metrics"'},
            )
        body, content_type = metrics.render(request.headers.get("Accept", ""))
        return web.Response(
            body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"}
        )

    listener = web.Application()
    listener.router.add_get("/metrics", scrape)
    runner = web.AppRunner(listener, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
    except OSError as error:
        await runner.cleanup()
        raise ConfigError(
            f"BALIE_METRICS_PORT: cannot listen on {settings.host}:{settings.port} "
            f"({error.strerror or error})"
        ) from None
    log.info("metrics at http://%s:%d/metrics", settings.host, settings.port)
    try:
        yield
    finally:
        await runner.cleanup()


def _bearer_matches(request: web.Request, token: str) -> bool:
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())
