"""Metrics (server/core/metrics.py, server/call/metrics.py): a registry per application,
served on a listener of its own and behind its token, requests by route template, close
codes and reports as bounded labels; a report that is wrong changes nothing."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import aiohttp
import orjson
import pytest

from server.app import create_app
from server.call.metrics import close_label
from server.config import ConfigError, MetricsSettings
from server.core.metrics import METRICS, Metrics
from signaling.close_codes import CloseCode
from tests.leaks import metrics_text
from tests.support import LiveServer, SignalClient, config_for, free_port, live_server, seat_lobby

DASHBOARD = Path(__file__).resolve().parents[3] / "docker" / "grafana-dashboard.json"


def _sample(server: LiveServer, name: str, **labels: str) -> float:
    return server.app[METRICS].registry.get_sample_value(name, labels) or 0.0


async def test_metrics_have_their_own_listener_behind_their_token(tmp_path: Path) -> None:
    metrics = MetricsSettings(port=free_port(), token="t0ken-for-prometheus")
    config = config_for(tmp_path, metrics=metrics)
    url = f"http://127.0.0.1:{metrics.port}/metrics"
    async with live_server(tmp_path, config=config) as server, aiohttp.ClientSession() as http:
        async with http.get(server.url + "/metrics") as public:
            assert public.status == 404  # never on the public listener
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "t0ken"}):
            async with http.get(url, headers=headers) as refused:
                assert refused.status == 401
                assert refused.headers["WWW-Authenticate"].startswith("Bearer")
                assert "balie_" not in await refused.text()
        headers = {"Authorization": "Bearer t0ken-for-prometheus"}
        async with http.get(url, headers=headers) as scraped:
            assert scraped.status == 200
            assert scraped.headers["Cache-Control"] == "no-store"
            text = await scraped.text()
    for name in (
        "balie_rooms",
        "balie_participants",
        "balie_ws_connections",
        "balie_relayed_messages_total",
        "balie_ws_closes",
        "balie_call_setup_seconds",
        "balie_security_events_total",
        "balie_verifications",
        "balie_booking_operations_total",
        "balie_http_request_duration_seconds",
        "process_resident_memory_bytes",
    ):
        assert f"# TYPE {name}" in text or f"{name}" in text, name
    assert "t0ken-for-prometheus" not in text


async def test_a_metrics_port_in_use_is_a_clear_configuration_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = config_for(tmp_path, metrics=MetricsSettings(port=port))
        with pytest.raises(ConfigError, match="BALIE_METRICS_PORT"):
            async with live_server(tmp_path, config=config):
                pass


async def test_requests_are_timed_by_route_template_in_each_applications_own_registry(
    tmp_path: Path,
) -> None:
    async with (
        live_server(tmp_path / "a") as one,
        live_server(tmp_path / "b") as other,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(f"{one.url}/call/r_RawRoomId0000000000000") as page:
            assert page.status == 200
            assert len(page.headers["X-Request-Id"]) == 16
        async with http.get(f"{one.url}/nowhere/r_RawRoomId0000000000000") as missing:
            assert missing.status == 404
            assert len(missing.headers["X-Request-Id"]) == 16
        async with http.get(f"{one.url}/api/rooms/r_RawRoomId0000000000000/ice") as problem:
            assert problem.status == 401  # problem JSON, timed like any answer
        count = "balie_http_request_duration_seconds_count"
        page_labels = {"route": "/call/{room_id}", "method": "GET", "status": "2xx"}
        assert _sample(one, count, **page_labels) == 1
        assert _sample(one, count, route="unmatched", method="GET", status="4xx") == 1
        ice = {"route": "/api/rooms/{room_id}/ice", "method": "GET", "status": "4xx"}
        assert _sample(one, count, **ice) == 1
        assert _sample(other, count, **page_labels) == 0  # each node counts its own
        assert "r_RawRoomId" not in metrics_text(one.app)


def test_two_registries_do_not_share_a_sample() -> None:
    first, second = Metrics(), Metrics()
    first.http_duration.labels("/healthz", "GET", "2xx").observe(0.01)
    labels = {"route": "/healthz", "method": "GET", "status": "2xx"}
    name = "balie_http_request_duration_seconds_count"
    assert first.registry.get_sample_value(name, labels) == 1
    assert second.registry.get_sample_value(name, labels) is None


def test_close_codes_are_bounded_labels() -> None:
    assert close_label(CloseCode.TOKEN_REFUSED) == "4401"
    assert close_label(1006) == "1006"
    assert close_label(4999) == "other" and close_label(3000) == "other"
    assert close_label(None) == "none"


async def test_refused_sockets_and_reports_from_the_lobby_change_no_count(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server, aiohttp.ClientSession() as http:
        forged = await SignalClient.connect(http, server)
        await forged.send(type="join", token="not.a.token")
        assert (await forged.expect("error"))["code"] == "token-invalid"
        assert await forged.expect_close() == CloseCode.TOKEN_REFUSED
        specialist, resident, _ = await seat_lobby(http, server)
        # a resident in the lobby has no peer connection to report on
        await resident.send(type="report", event="connected", setup_ms=900, route="direct")
        refused = await resident.expect("error")
        assert refused["code"] == "not-allowed"
        await resident.send(type="report", event="ice-failed", seq="seven")
        assert (await resident.expect("error"))["code"] == "bad-message"
        await specialist.send(type="report", event="connected", setup_ms=600_001)
        assert (await specialist.expect("error"))["code"] == "bad-message"
        await specialist.send(type="ping", ts=1)
        await specialist.expect("pong")  # the reports before it were handled
        assert _sample(server, "balie_call_setup_seconds_count") == 0
        assert _sample(server, "balie_ice_failures_total") == 0
        assert _sample(server, "balie_ws_closes_total", code="4401") == 1
        assert _sample(server, "balie_participants", state="waiting") == 1
        # ... and a valid one from the call is counted, with the route it names
        seq = await specialist.send(type="report", event="connected", setup_ms=1500)
        # the same report again, as after a resume: a duplicate, not counted twice
        await specialist.send(type="report", event="connected", setup_ms=1500, seq=seq)
        await specialist.send(type="ping", ts=2)
        await specialist.expect("pong")
        assert _sample(server, "balie_call_setup_seconds_count") == 1
        assert _sample(server, "balie_call_setup_seconds_sum") == 1.5
        assert _sample(server, "balie_call_connections_total", route="unknown") == 1


def test_the_application_has_a_registry_of_its_own(tmp_path: Path) -> None:
    first = create_app(config_for(tmp_path / "a"))
    second = create_app(config_for(tmp_path / "b"))
    assert first[METRICS].registry is not second[METRICS].registry


async def test_the_grafana_dashboard_asks_only_for_metrics_balie_has(tmp_path: Path) -> None:
    """docker/grafana-dashboard.json: valid JSON whose every query names metrics a node
    exposes (a renamed metric would leave a panel empty without this)."""
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]
    assert len(exprs) > 20
    async with live_server(tmp_path) as server:  # started: booking registers at start
        families = list(server.app[METRICS].registry.collect())
    exposed = {sample.name for family in families for sample in family.samples}
    exposed |= {family.name for family in families}
    # histograms and labelled counters without a sample yet still name their series
    exposed |= {f"{name}_{suffix}" for name in exposed for suffix in ("bucket", "count", "sum")}
    exposed |= {f"{name}_total" for name in exposed}
    named = {name for expr in exprs for name in re.findall(r"\b((?:balie|process)_\w+)", expr)}
    assert named and named <= exposed, sorted(named - exposed)
