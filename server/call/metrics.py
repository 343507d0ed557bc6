"""What the call counts for Prometheus (docs/operations.md, "Logs and metrics").

The hub keeps plain counters (:class:`CallStats`): a relayed frame costs one dictionary
increment, never a lock, and :class:`HubCollector` reads them, and the rooms this node is
the home of, when Prometheus scrapes. What clients report of their own peer connections
(``report``, docs/signaling.md) goes to histograms and counters as it comes: a few frames a
call. Labels are message types, close codes, routes and seat states: never an id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.core.metrics import Metrics
from signaling.close_codes import CloseCode
from signaling.messages import (
    Admit,
    Candidate,
    Chat,
    ClientMessage,
    Deny,
    Description,
    End,
    Hold,
    Media,
    Report,
)
from signaling.registry import Registry
from signaling.room import Seat

if TYPE_CHECKING:
    from server.call.hub import Hub
    from server.call.node_link import NodeLinks

#: what the hub counts by type: the relayed messages, and the specialist's decisions
_RELAYED: Final[dict[type, str]] = {
    Description: "description",
    Candidate: "candidate",
    Media: "media",
    Chat: "chat",
}
_DECISIONS: Final[dict[type, str]] = {Admit: "admit", Deny: "deny", Hold: "hold", End: "end"}
#: close codes named in labels: Balie's own and RFC 6455's that a client or aiohttp sends
#: (1006: the connection dropped without a close frame); anything else is ``other``
_CLOSE_CODES: Final = frozenset({*CloseCode, 1002, 1003, 1005, 1006, 1008, 1011})
#: seconds from both sides in the call to connected: a LAN connects in a fraction of a
#: second, a TURN relay found after failed direct checks in several
SETUP_BUCKETS: Final = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0)


def close_label(code: int | None) -> str:
    """A close code as a bounded label value."""
    if code is None:
        return "none"
    return str(int(code)) if code in _CLOSE_CODES else "other"


class CallStats:
    """The hub's counters: plain integers on the relay's path, metric objects elsewhere."""

    __slots__ = ("closes", "connections", "decisions", "ice_failures", "relayed", "setup")

    def __init__(self) -> None:
        self.relayed = dict.fromkeys(_RELAYED.values(), 0)
        self.decisions = dict.fromkeys(_DECISIONS.values(), 0)
        # registered on the application's registry by server/call/setup.py
        self.setup = Histogram(
            "balie_call_setup_seconds",
            "Call setup as clients report it: from both sides in the call to their peer "
            "connection connected",
            buckets=SETUP_BUCKETS,
            registry=None,
        )
        self.connections = Counter(
            "balie_call_connections",
            "Peer connections that connected, as clients report them, by route "
            "(direct, relay through TURN, unknown)",
            ("route",),
            registry=None,
        )
        self.ice_failures = Counter(
            "balie_ice_failures",
            "Peer connections whose ICE failed, as clients report them",
            registry=None,
        )
        self.closes = Counter(
            "balie_ws_closes",
            "Signalling WebSockets closed, by close code (docs/signaling.md)",
            ("code",),
            registry=None,
        )

    def applied(self, message: ClientMessage) -> None:
        """A room took ``message`` (the hub calls this at the room's home, once a message)."""
        kind = type(message)
        relayed = _RELAYED.get(kind)
        if relayed is not None:
            self.relayed[relayed] += 1
        elif isinstance(message, Report):
            self._report(message)
        elif (decision := _DECISIONS.get(kind)) is not None:
            self.decisions[decision] += 1

    def _report(self, report: Report) -> None:
        if report.event == "ice-failed":
            self.ice_failures.inc()
            return
        if report.setup_ms is not None:
            self.setup.observe(report.setup_ms / 1000)
        self.connections.labels(report.route or "unknown").inc()

    def closed(self, code: int | None) -> None:
        """A signalling socket closed with ``code`` (the one the server sent, or else the
        client's)."""
        self.closes.labels(close_label(code)).inc()

    def collectors(self) -> tuple[Histogram, Counter, Counter, Counter]:
        return self.setup, self.connections, self.ice_failures, self.closes


class HubCollector(Collector):
    """The rooms and seats homed on this node and the sockets it holds, read when
    Prometheus scrapes, and the hub's plain counters."""

    def __init__(
        self,
        registry: Registry,
        stats: CallStats,
        sockets: Callable[[], int],
        clock: Callable[[], float],
    ) -> None:
        self._registry = registry
        self._stats = stats
        self._sockets = sockets
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        rooms = list(self._registry.rooms.values())
        by_state = dict.fromkeys(Seat.State, 0)
        away = 0
        oldest: float | None = None
        for room in rooms:
            for seat in room.seats.values():
                by_state[seat.state] += 1
                away += seat.away_since is not None
                if seat.in_lobby and (oldest is None or seat.arrived < oldest):
                    oldest = seat.arrived
        yield GaugeMetricFamily(
            "balie_rooms", "Open rooms this node is the home of", value=len(rooms)
        )
        participants = GaugeMetricFamily(
            "balie_participants",
            "Seats in the rooms homed here, by state: in the call, or in the lobby waiting "
            "or on hold (the lobby's length)",
            labels=("state",),
        )
        for state, count in by_state.items():
            participants.add_metric((state.value,), count)
        yield participants
        yield GaugeMetricFamily(
            "balie_participants_away",
            "Seats whose socket dropped and that are kept for resume",
            value=away,
        )
        yield GaugeMetricFamily(
            "balie_lobby_longest_wait_seconds",
            "How long the longest-waiting participant in any lobby homed here has waited",
            value=0.0 if oldest is None else max(0.0, self._clock() - oldest),
        )
        yield GaugeMetricFamily(
            "balie_ws_connections", "Signalling WebSockets open on this node", value=self._sockets()
        )
        relayed = CounterMetricFamily(
            "balie_relayed_messages",
            "Signalling messages relayed by the rooms homed here, by type",
            labels=("type",),
        )
        for name, count in self._stats.relayed.items():
            relayed.add_metric((name,), count)
        yield relayed
        decisions = CounterMetricFamily(
            "balie_room_decisions",
            "The specialists' admit, deny, hold and end in rooms homed here",
            labels=("decision",),
        )
        for name, count in self._stats.decisions.items():
            decisions.add_metric((name,), count)
        yield decisions


class LinkCollector(Collector):
    """The links between this node and the others (server/call/node_link.py)."""

    def __init__(self, links: NodeLinks) -> None:
        self._links = links

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "balie_node_links",
            "Links open from this node to other nodes",
            value=self._links.open_links,
        )
        yield CounterMetricFamily(
            "balie_link_frames",
            "Frames this node sent another over a link instead of through Redis",
            value=self._links.sent,
        )


def register_metrics(metrics: Metrics, hub: Hub) -> None:
    """The hub's gauges and counters on this application's registry."""
    metrics.register(
        HubCollector(hub.registry, hub.stats, sockets=lambda: len(hub.sockets), clock=hub.clock)
    )
    for collector in hub.stats.collectors():
        metrics.register(collector)
