"""Verification sessions: bound to room, browser and purpose; a result is consumed once."""

from __future__ import annotations

import asyncio

import pytest

from identity.errors import (
    IdentityError,
    RefusalReason,
    UnknownVerification,
    VerificationRefused,
    VerificationStateError,
)
from identity.policy import Tag, policy_from_data
from identity.sessions import (
    Binding,
    MemoryVerifications,
    VerificationRegistry,
    VerificationState,
)
from identity.verifier import VerifiedIdentity, VerifierHandle
from tests.identity.results import FAKE_BSN, POLICY, TOKEN

BINDING = Binding(room="room-a", browser_session="browser-session-1", purpose=POLICY.purpose)
HANDLE = VerifierHandle("yivi", TOKEN, POLICY)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def identity(purpose: str = POLICY.purpose, verifier: str = "yivi") -> VerifiedIdentity:
    return VerifiedIdentity(
        verifier=verifier,
        purpose=purpose,
        values={"bsn": FAKE_BSN},
        tags=frozenset({Tag.BSN}),
        attribute_ids=("pbdf.gemeente.personalData.bsn",),
        issuers=("pbdf.gemeente",),
        verified_at=1_000,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(clock: Clock) -> VerificationRegistry:
    return MemoryVerifications(ttl=900, clock=clock)


async def test_the_happy_path(registry: VerificationRegistry) -> None:
    opened = await registry.open(HANDLE, BINDING)
    assert opened.state is VerificationState.PENDING
    assert len(opened.id) >= 32  # 24 random bytes, base64url
    assert (await registry.get(opened.id, BINDING)).handle == HANDLE
    claimed = await registry.claim(opened.id, BINDING)
    assert claimed.state is VerificationState.CLAIMED
    done = await registry.complete(opened.id, identity())
    assert done.state is VerificationState.VERIFIED
    assert done.tags == {Tag.BSN}


async def test_ids_are_unguessable_and_unique(registry: VerificationRegistry) -> None:
    ids = {(await registry.open(HANDLE, BINDING)).id for _ in range(50)}
    assert len(ids) == 50


REPLAYS = [
    ("another-room", Binding("room-b", "browser-session-1", POLICY.purpose),
     RefusalReason.OTHER_ROOM),
    ("another-browser", Binding("room-a", "browser-session-2", POLICY.purpose),
     RefusalReason.OTHER_BROWSER),
    ("another-purpose", Binding("room-a", "browser-session-1", "belastingen"),
     RefusalReason.OTHER_PURPOSE),
]  # fmt: skip


@pytest.mark.parametrize(("other", "reason"), [r[1:] for r in REPLAYS], ids=[r[0] for r in REPLAYS])
async def test_a_result_replayed_elsewhere_is_refused_and_changes_nothing(
    registry: VerificationRegistry, other: Binding, reason: RefusalReason
) -> None:
    opened = await registry.open(HANDLE, BINDING)
    for attempt in (registry.get, registry.claim, registry.cancel):
        with pytest.raises(VerificationRefused) as caught:
            await attempt(opened.id, other)
        assert caught.value.reason is reason
    # the rightful owner can still use it
    assert (await registry.claim(opened.id, BINDING)).state is VerificationState.CLAIMED


async def test_a_result_is_consumed_once(registry: VerificationRegistry) -> None:
    opened = await registry.open(HANDLE, BINDING)
    await registry.claim(opened.id, BINDING)
    with pytest.raises(VerificationRefused) as caught:
        await registry.claim(opened.id, BINDING)
    assert caught.value.reason is RefusalReason.ALREADY_USED
    await registry.complete(opened.id, identity())
    with pytest.raises(VerificationRefused) as caught:
        await registry.claim(opened.id, BINDING)
    assert caught.value.reason is RefusalReason.ALREADY_USED
    with pytest.raises(VerificationStateError, match="'verified'"):
        await registry.complete(opened.id, identity())


async def test_racing_claims_have_exactly_one_winner(registry: VerificationRegistry) -> None:
    opened = await registry.open(HANDLE, BINDING)
    outcomes = await asyncio.gather(
        *(registry.claim(opened.id, BINDING) for _ in range(10)), return_exceptions=True
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, VerificationRefused)]
    assert len(winners) == 1 and len(losers) == 9
    assert all(o.reason is RefusalReason.ALREADY_USED for o in losers)


async def test_a_result_for_another_purpose_is_refused_and_burns_the_claim(
    registry: VerificationRegistry,
) -> None:
    opened = await registry.open(HANDLE, BINDING)
    await registry.claim(opened.id, BINDING)
    with pytest.raises(VerificationRefused) as caught:
        await registry.complete(opened.id, identity(purpose="belastingen"))
    assert caught.value.reason is RefusalReason.OTHER_PURPOSE
    assert (await registry.get(opened.id, BINDING)).state is VerificationState.REFUSED


async def test_a_result_from_another_verifier_is_refused(registry: VerificationRegistry) -> None:
    opened = await registry.open(HANDLE, BINDING)
    await registry.claim(opened.id, BINDING)
    with pytest.raises(VerificationRefused) as caught:
        await registry.complete(opened.id, identity(verifier="openid4vp"))
    assert caught.value.reason is RefusalReason.SESSION_MISMATCH


async def test_complete_needs_a_claim(registry: VerificationRegistry) -> None:
    opened = await registry.open(HANDLE, BINDING)
    with pytest.raises(VerificationStateError, match="'pending'"):
        await registry.complete(opened.id, identity())


async def test_release_allows_a_retry_after_an_unreachable_verifier(
    registry: VerificationRegistry,
) -> None:
    opened = await registry.open(HANDLE, BINDING)
    await registry.claim(opened.id, BINDING)
    assert (await registry.release(opened.id)).state is VerificationState.PENDING
    await registry.claim(opened.id, BINDING)


async def test_refuse_and_cancel(registry: VerificationRegistry) -> None:
    first = await registry.open(HANDLE, BINDING)
    refused = await registry.refuse(first.id, RefusalReason.PROOF_INVALID)
    assert refused.reason is RefusalReason.PROOF_INVALID
    with pytest.raises(VerificationRefused) as caught:
        await registry.claim(first.id, BINDING)
    assert caught.value.reason is RefusalReason.ALREADY_USED
    second = await registry.open(HANDLE, BINDING)
    await registry.cancel(second.id, BINDING)
    with pytest.raises(VerificationRefused) as caught:
        await registry.claim(second.id, BINDING)
    assert caught.value.reason is RefusalReason.CANCELLED


async def test_expiry_and_purge(registry: VerificationRegistry, clock: Clock) -> None:
    opened = await registry.open(HANDLE, BINDING)
    clock.now += 899
    await registry.get(opened.id, BINDING)
    clock.now += 1
    with pytest.raises(VerificationRefused) as caught:
        await registry.claim(opened.id, BINDING)
    assert caught.value.reason is RefusalReason.VERIFICATION_EXPIRED
    assert await registry.purge() == 1
    with pytest.raises(UnknownVerification):
        await registry.get(opened.id, BINDING)


async def test_unknown_ids_and_mismatched_handles(registry: VerificationRegistry) -> None:
    with pytest.raises(UnknownVerification):
        await registry.claim("nope", BINDING)
    other_policy = policy_from_data("belastingen", {"required": ["bsn"]})
    with pytest.raises(IdentityError):
        await registry.open(VerifierHandle("yivi", TOKEN, other_policy), BINDING)


async def test_reprs_hide_secrets(registry: VerificationRegistry) -> None:
    opened = await registry.open(HANDLE, BINDING)
    shown = repr(opened)
    assert opened.id not in shown and TOKEN not in shown and "browser-session-1" not in shown


async def test_the_pending_verification_is_found_by_its_binding(
    registry: VerificationRegistry, clock: Clock
) -> None:
    assert await registry.pending(BINDING) is None
    first = await registry.open(HANDLE, BINDING)
    clock.now += 1
    second = await registry.open(HANDLE, BINDING)  # the page started again: the newest counts
    assert await registry.pending(BINDING) == second.id
    # another browser, room or purpose finds nothing of this one
    for other in (
        Binding(BINDING.room, "browser-session-2", BINDING.purpose),
        Binding("room-b", BINDING.browser_session, BINDING.purpose),
        Binding(BINDING.room, BINDING.browser_session, "belastingen"),
    ):
        assert await registry.pending(other) is None
    # claimed (being fetched) or done: no longer waiting; released: waiting again
    await registry.claim(second.id, BINDING)
    assert await registry.pending(BINDING) == first.id
    await registry.release(second.id)
    assert await registry.pending(BINDING) == second.id
    await registry.refuse(second.id, RefusalReason.PROOF_INVALID)
    await registry.cancel(first.id, BINDING)
    assert await registry.pending(BINDING) is None


async def test_an_expired_verification_is_not_pending(
    registry: VerificationRegistry, clock: Clock
) -> None:
    await registry.open(HANDLE, BINDING)
    clock.now += 900
    assert await registry.pending(BINDING) is None


async def test_forgetting_a_room_forgets_its_verifications_only(
    registry: VerificationRegistry,
) -> None:
    mine = await registry.open(HANDLE, BINDING)
    other = Binding("room-b", BINDING.browser_session, BINDING.purpose)
    theirs = await registry.open(HANDLE, other)
    assert await registry.forget_room(BINDING.room) == 1
    assert await registry.pending(BINDING) is None
    with pytest.raises(UnknownVerification):
        await registry.get(mine.id, BINDING)
    assert await registry.pending(other) == theirs.id
