"""The planner's "Berichten": what did not arrive, why, and sending a failed message again; the
messages about one appointment on its page. Never an address or a text."""

from __future__ import annotations

from pathlib import Path

from server.booking.appointment import Contact
from server.messages.appkeys import OUTBOX
from tests.server.messages.smtp import SmtpServer, smtp_settings
from tests.server.staff.planner.support import (
    ANNA,
    TENANT,
    booking_service,
    get,
    local,
    next_weekday,
    post,
)
from tests.server.staff.support import csrf_of, signed_in, staffed_server
from tests.support import MovableClock, config_for

EMAIL = "niet-bezorgd@example.invalid"


async def test_the_planner_sees_a_failed_message_and_sends_it_again(tmp_path: Path) -> None:
    day = next_weekday(1)
    with SmtpServer() as smtp:
        smtp.handler.refuse_rcpt = "550 5.1.1 mailbox unavailable"
        config = config_for(
            tmp_path,
            messages=smtp_settings(smtp.port),
        )
        async with staffed_server(tmp_path, clock=MovableClock(), config=config) as server:
            service = booking_service(server)
            held = await service.hold(
                TENANT, "wmo", local(day, 9), staff_id=ANNA, contact=Contact(email=EMAIL)
            )
            booked = await service.confirm(TENANT, held.id, held.version)
            assert await server.app[OUTBOX].run_due() == 1
            async with signed_in(server, "planner") as planner:
                status, page = await get(planner, f"{server.url}/staff/planner/berichten")
                assert status == 200
                assert "1 mislukt, 0 krijgen nog een nieuwe poging." in page
                assert "SMTP refused the recipient (550)" in page
                assert booked.reference in page
                assert EMAIL not in page
                # the appointment's own page lists its messages too
                status, about = await get(
                    planner, f"{server.url}/staff/planner/appointments/{booked.id}"
                )
                assert "Berichten over deze afspraak" in about and "Mislukt" in about
                # the address is fixed (here: the server takes it again); send it again
                smtp.handler.refuse_rcpt = None
                token = await csrf_of(planner, f"{server.url}/staff/planner/berichten")
                message_id = page.split('action="/staff/planner/berichten/')[1].split('"')[0]
                status, location, _ = await post(
                    planner,
                    f"{server.url}/staff/planner/berichten/{message_id}",
                    {"csrf_token": token},
                )
                assert (status, location) == (303, "/staff/planner/berichten?klaar=opnieuw")
                assert await server.app[OUTBOX].run_due() == 1
                assert [d.recipients for d in smtp.received] == [[EMAIL]]
                status, page = await get(planner, f"{server.url}/staff/planner/berichten")
                assert "Alles is aangekomen." in page
                # a message that is not failed (any more) cannot be sent again
                status, _, _ = await post(
                    planner,
                    f"{server.url}/staff/planner/berichten/{message_id}",
                    {"csrf_token": token},
                )
                assert status == 404
            # only planners
            async with signed_in(server, "specialist") as specialist:
                status, _ = await get(specialist, f"{server.url}/staff/planner/berichten")
                assert status == 403
