"""The call's layout in Chromium, measured with bounding boxes, on a phone (390×844) and on a
desktop (1280×800): the other person is the main picture, the own picture small in a corner
of it, and the controls are in view and reachable (on the phone fixed at the bottom edge,
even after scrolling) without covering the other person's picture. axe checks the same
state at both sizes.

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import pytest
from playwright.async_api import Browser, Page, ViewportSize

from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    Participant,
    admit_first_waiting,
    assert_accessible,
    click_join,
    open_participant,
    wait_for_phase,
    wait_for_remote_video,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

#: the smallest target WCAG 2.5.5 asks for, in CSS pixels
TARGET: Final = 44


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def area(self) -> float:
        return self.width * self.height

    def overlaps(self, other: Box) -> bool:
        return not (
            self.right <= other.x
            or other.right <= self.x
            or self.bottom <= other.y
            or other.bottom <= self.y
        )

    def inside(self, other: Box) -> bool:
        return (
            self.x >= other.x
            and self.y >= other.y
            and self.right <= other.right
            and self.bottom <= other.bottom
        )


async def box(page: Page, selector: str) -> Box:
    """The element's box in the viewport (after scrolling), as the person sees it."""
    found = await page.evaluate(
        """(selector) => {
             const r = document.querySelector(selector).getBoundingClientRect();
             return { x: r.x, y: r.y, width: r.width, height: r.height };
           }""",
        selector,
    )
    assert isinstance(found, dict)
    return Box(float(found["x"]), float(found["y"]), float(found["width"]), float(found["height"]))


@dataclass
class InCall:
    specialist: Participant
    resident: Participant


@pytest.fixture
async def in_call(browser: Browser, live_balie: LiveServer) -> AsyncIterator[InCall]:
    room = live_balie.issue_room()
    specialist = await open_participant(browser, room.seat(Role.SPECIALIST).url, name="medewerker")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        await click_join(specialist)
        await wait_for_phase(specialist, "call")
        await click_join(resident)
        await wait_for_phase(resident, "lobby")
        await admit_first_waiting(specialist)
        await wait_for_phase(resident, "call")
        for participant in (specialist, resident):
            await wait_for_remote_video(participant, count=1)
        yield InCall(specialist, resident)
    finally:
        await resident.close()
        await specialist.close()


async def assert_call_layout(page: Page, size: ViewportSize, who: str) -> None:
    where = f"{who} at {size['width']}×{size['height']}"
    viewport = Box(0, 0, size["width"], size["height"])
    await page.evaluate("window.scrollTo(0, 0)")
    stage = await box(page, "#stage")
    remote = await box(page, "#tiles .tile-remote video")
    own = await box(page, "#self-video")
    controls = await box(page, "#controls")

    # the other person is the main picture; the own picture is small, in a corner of it
    assert remote.area >= 4 * own.area, f"{where}: remote {remote}, own {own}"
    assert remote.width >= 0.8 * stage.width, f"{where}: remote {remote} in stage {stage}"
    assert own.inside(stage), f"{where}: own {own} not inside the stage {stage}"
    assert own.overlaps(remote), f"{where}: own picture {own} not in the main one {remote}"
    assert stage.right - own.right <= 0.1 * stage.width, f"{where}: own {own}, stage {stage}"
    assert own.y - stage.y <= 0.1 * stage.height, f"{where}: own {own}, stage {stage}"

    # the other person's picture is in view, and the controls cover none of it
    assert remote.inside(viewport), f"{where}: remote {remote} not in view"
    assert not controls.overlaps(remote), f"{where}: controls {controls} over remote {remote}"

    # every control is in view and large enough to hit, before and after scrolling down
    for scrolled in (False, True):
        if scrolled:
            await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        for control in ("#mic-btn", "#cam-btn", "#chat-btn", "#leave-btn"):
            target = await box(page, control)
            assert target.inside(viewport), f"{where}: {control} {target} not in view"
            assert target.width >= TARGET and target.height >= TARGET, f"{where}: {target}"


async def test_on_a_phone_the_other_person_is_the_main_picture_and_hanging_up_is_at_hand(
    in_call: InCall,
) -> None:
    for participant in (in_call.resident, in_call.specialist):
        page = participant.page
        await page.set_viewport_size(PHONE)
        await assert_call_layout(page, PHONE, participant.name)
        # fixed at the bottom edge of the screen
        leave = await box(page, "#leave-btn")
        controls = await box(page, "#controls")
        assert controls.bottom >= PHONE["height"] - 1, controls
        assert leave.bottom >= PHONE["height"] - 64, leave
        await page.evaluate("window.scrollTo(0, 0)")
        await assert_accessible(page, f"{participant.name} in the call, phone")
        participant.assert_no_page_errors()


async def test_on_a_phone_the_open_chat_is_not_hidden_behind_the_controls(
    in_call: InCall,
) -> None:
    page = in_call.resident.page
    await page.set_viewport_size(PHONE)
    await page.get_by_role("button", name="Chat").click()
    send = page.get_by_role("button", name="Versturen")
    await send.scroll_into_view_if_needed()
    await page.get_by_label("Uw bericht").focus()
    controls = await box(page, "#controls")
    for target in ("#chat-input", "#chat-send"):
        found = await box(page, target)
        assert not found.overlaps(controls), f"{target} {found} under the controls {controls}"
    await assert_accessible(page, "resident in the call with the chat open, phone")


async def test_on_a_desktop_the_call_keeps_its_controls_in_view(in_call: InCall) -> None:
    for participant in (in_call.resident, in_call.specialist):
        page = participant.page
        await page.set_viewport_size(DESKTOP)
        await assert_call_layout(page, DESKTOP, participant.name)
        await assert_accessible(page, f"{participant.name} in the call, desktop")
        participant.assert_no_page_errors()
