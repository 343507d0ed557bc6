"""The in-process message bus and socket channels."""

from __future__ import annotations

from signaling.bus import Deliver, Envelope, InProcessBus, socket_channel


def collect(into: list[Envelope]) -> Deliver:
    async def deliver(envelope: Envelope) -> None:
        into.append(envelope)

    return deliver


def test_each_socket_has_a_channel_of_its_own() -> None:
    assert socket_channel("a1") == socket_channel("a1") == "c.a1"
    assert len({socket_channel(f"s{i}") for i in range(1000)}) == 1000


async def test_publish_reaches_every_subscriber_in_order() -> None:
    bus = InProcessBus()
    got_a: list[Envelope] = []
    got_b: list[Envelope] = []
    await bus.subscribe("c", collect(got_a))
    await bus.subscribe("c", collect(got_b))
    await bus.subscribe("other", collect([]))
    envelopes = [Envelope(frame=str(i).encode()) for i in range(5)]
    for envelope in envelopes:
        await bus.publish("c", envelope)
    assert got_a == envelopes and got_b == envelopes
    assert bus.channel_count == 2


async def test_publish_without_subscribers_is_dropped() -> None:
    bus = InProcessBus()
    await bus.publish("nobody", Envelope(frame=b"x"))
    await bus.publish("nobody", Envelope(close_code=4000))
    assert bus.channel_count == 0


async def test_cancel_stops_delivery_and_frees_the_channel() -> None:
    bus = InProcessBus()
    got: list[Envelope] = []
    kept: list[Envelope] = []
    subscription = await bus.subscribe("c", collect(got))
    await bus.subscribe("c", collect(kept))
    await subscription.cancel()
    await subscription.cancel()  # twice is harmless
    await bus.publish("c", Envelope(frame=b"after"))
    assert got == [] and kept == [Envelope(frame=b"after")]
    assert bus.channel_count == 1


async def test_last_cancel_removes_the_channel() -> None:
    bus = InProcessBus()
    subscription = await bus.subscribe("c", collect([]))
    assert bus.channel_count == 1
    await subscription.cancel()
    assert bus.channel_count == 0


async def test_close_drops_all_subscribers() -> None:
    bus = InProcessBus()
    got: list[Envelope] = []
    await bus.subscribe("c", collect(got))
    await bus.close()
    await bus.publish("c", Envelope(frame=b"x"))
    assert got == [] and bus.channel_count == 0


def test_envelope_defaults() -> None:
    envelope = Envelope()
    assert envelope.frame is None and envelope.close_code is None and envelope.close_reason == ""
