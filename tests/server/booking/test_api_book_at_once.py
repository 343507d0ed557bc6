"""``POST /appointments`` with ``purpose`` and ``start``: a slot booked in one request and
one transaction, for a client that has every detail at once; its errors, and its replay."""

from __future__ import annotations

import pytest

from tests.server.booking.support import (
    EMAIL,
    Booking,
    count_appointments,
    free_times,
    key,
    seed,
)


async def test_a_slot_is_booked_at_once_and_replayed_by_its_key(server: Booking) -> None:
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    body = {"purpose": "intake", "start": starts[0], "contact": {"email": EMAIL}}
    once = key()
    status, booked = await server.call(
        "POST", server.api(tenant, "/appointments"), json=body, key=once
    )
    assert status == 201, booked
    assert booked["state"] == "booked" and booked["start"] == starts[0]
    assert booked["join_url"].startswith(f"{server.url}/call/r_")
    assert starts[0] not in await free_times(server, tenant)

    status, again = await server.call(
        "POST", server.api(tenant, "/appointments"), json=body, key=once
    )
    assert (status, again["id"]) == (201, booked["id"])
    status, problem = await server.call(
        "POST", server.api(tenant, "/appointments"), json=body, key=key()
    )
    assert (status, problem["code"]) == (409, "slot-taken")
    status, details = await server.call(
        "GET", server.api(tenant, f"/appointments/{booked['id']}"), token=booked["manage_token"]
    )
    assert (status, details["contact"]["email"]) == (200, EMAIL)
    assert await count_appointments(server.engine, tenant) == {"booked": 1}


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"purpose": "intake"}, 400, "field-missing", "start"),
        ({"purpose": "intake", "start": "2026-13-01T10:00"}, 400, "datetime-malformed", "start"),
        ({"purpose": "intake", "start": "2027-03-02T10:00"}, 400, "datetime-without-offset", None),
        ({"purpose": "in take", "start": "2027-03-02T10:00+01:00"}, 400, "field-invalid", None),
        ({"purpose": "intake", "start": "1", "hold": "x"}, 400, "field-unknown", None),
        ({"purpose": "intake", "start": "1", "version": 1}, 400, "field-unknown", None),
        ({"purpose": "nothing", "start": "2027-03-02T10:00+01:00"}, 404, "purpose-not-found", None),
        (
            {"purpose": "intake", "start": "2027-03-02T10:07+01:00", "contact": {"email": EMAIL}},
            422,
            "slot-unavailable",
            None,
        ),
        (
            {"purpose": "intake", "start": "2099-03-02T10:00+01:00", "staff_id": "s1"},
            422,
            "slot-unavailable",
            None,
        ),
    ],
)
async def test_every_bad_request_to_book_at_once_is_named_and_changes_nothing(
    server: Booking, body: dict[str, object], status: int, code: str, field: str | None
) -> None:
    tenant = await seed(server.engine)
    got, problem = await server.call(
        "POST", server.api(tenant, "/appointments"), json=body, key=key()
    )
    assert (got, problem["code"]) == (status, code), problem
    if field is not None:
        assert problem.get("field") == field
    assert EMAIL not in str(problem)
    assert await count_appointments(server.engine, tenant) == {}
