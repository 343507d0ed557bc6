"""Structured logs (server/core/logs.py): one JSON object a line with the request and the
room it belongs to, security events under stable names (all documented), rooms named by a
keyed reference only, and readable text lines still the default."""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from server.config import LogFormat
from server.core import logs
from server.core.logs import (
    EVENT_COUNTS,
    REQUEST_ID,
    ROOM_REF,
    Correlation,
    Event,
    JsonFormatter,
    bind_room,
    event,
    loggable_path,
    room_ref,
)

ROOT = Path(__file__).resolve().parents[3]
ROOM = "r_Secret0Room0Id0123456"


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("balie.test")
    return logger.makeRecord(
        logger.name, logging.WARNING, __file__, 1, message, args, None, extra=extra or None
    )


@pytest.fixture
def root_handlers() -> Iterator[None]:
    """configure() replaces the root logger's handlers and may set the room key: put the
    test's back afterwards."""
    root = logging.getLogger()
    handlers, level, key = root.handlers[:], root.level, logs._room_key[0]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._room_key[0] = key


def test_a_record_is_one_json_object_with_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(_record("joined room=%s participant=%s", "rm-1", "p_1"))
    assert "\n" not in line
    entry = orjson.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "balie.test"
    assert entry["message"] == "joined room=rm-1 participant=p_1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert set(entry) == {"time", "level", "logger", "message"}  # nothing unknown is made up


def test_line_breaks_and_quotes_in_a_message_stay_inside_one_line() -> None:
    line = JsonFormatter().format(_record('a "quoted"\nsecond line\r\n{"forged": true}'))
    assert line.count("\n") == 0
    assert orjson.loads(line)["message"] == 'a "quoted"\nsecond line\r\n{"forged": true}'


def test_request_and_room_come_from_the_context_or_the_record() -> None:
    request_token = REQUEST_ID.set("0123456789abcdef")
    room_token = ROOM_REF.set("rm-aaaaaaaaaaaa")
    try:
        entry = orjson.loads(JsonFormatter().format(_record("in a request")))
    finally:
        REQUEST_ID.reset(request_token)
        ROOM_REF.reset(room_token)
    assert entry["request"] == "0123456789abcdef" and entry["room"] == "rm-aaaaaaaaaaaa"
    # a record stamped where it was made keeps its own (a handler that formats later)
    stamped = _record("later", request_id="fedcba9876543210", room_ref="rm-bbbbbbbbbbbb")
    entry = orjson.loads(JsonFormatter().format(stamped))
    assert entry["request"] == "fedcba9876543210" and entry["room"] == "rm-bbbbbbbbbbbb"


def test_the_correlation_filter_stamps_records_with_their_context() -> None:
    record = _record("stamped")
    token = REQUEST_ID.set("1111222233334444")
    try:
        assert Correlation().filter(record)
    finally:
        REQUEST_ID.reset(token)
    entry = orjson.loads(JsonFormatter().format(record))
    assert entry["request"] == "1111222233334444" and "room" not in entry


def test_a_security_event_has_its_name_and_is_counted() -> None:
    before = EVENT_COUNTS[Event.STAFF_SIGN_IN_REFUSED]
    entry = orjson.loads(
        JsonFormatter().format(_record("refused", **event(Event.STAFF_SIGN_IN_REFUSED)))
    )
    assert entry["event"] == "staff.sign_in_refused"
    assert EVENT_COUNTS[Event.STAFF_SIGN_IN_REFUSED] == before + 1


def test_an_exception_travels_as_one_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("balie.test").makeRecord(
            "balie.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert line.count("\n") == 0
    entry = orjson.loads(line)
    assert entry["message"] == "failed"
    assert "Traceback" in entry["exception"] and "ValueError: boom" in entry["exception"]


def test_configure_json_writes_json_lines_and_text_stays_the_default(
    root_handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    logs.configure("INFO", LogFormat.JSON)
    bind_room(ROOM)
    token = REQUEST_ID.set("abcdefabcdefabcd")
    try:
        logging.getLogger("balie.ws").info("joined", extra=event(Event.ROOM_TOKEN_REFUSED))
        logging.getLogger("balie.ws").debug("below the level")
    finally:
        REQUEST_ID.reset(token)
        bind_room(None)
    (line,) = stream.getvalue().splitlines()
    entry = orjson.loads(line)
    assert entry["request"] == "abcdefabcdefabcd" and entry["room"] == room_ref(ROOM)
    assert entry["event"] == "room.token_refused"
    assert ROOM not in line

    text = io.StringIO()
    monkeypatch.setattr("sys.stderr", text)
    logs.configure("INFO")
    logging.getLogger("balie.ws").info("a readable line")
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO balie.ws a readable line\n", text.getvalue()
    )


def test_a_room_reference_is_keyed_stable_and_says_nothing_of_the_id(root_handlers: None) -> None:
    first = room_ref(ROOM)
    assert re.fullmatch(r"rm-[0-9a-f]{12}", first)
    assert room_ref(ROOM) == first and room_ref(ROOM + "x") != first
    assert ROOM not in first and ROOM[2:8] not in first
    # another key (BALIE_LOG_KEY, the same on every node) gives other references
    logs.configure("INFO", room_key=bytes(range(32)))
    keyed = room_ref(ROOM)
    assert keyed != first
    logs.configure("INFO", room_key=bytes(range(32)))
    assert room_ref(ROOM) == keyed


def test_the_access_log_names_a_room_by_its_reference() -> None:
    ref = room_ref(ROOM)
    assert loggable_path(f"/call/{ROOM}") == f"/call/{ref}"
    assert loggable_path(f"/api/rooms/{ROOM}/verification") == f"/api/rooms/{ref}/verification"
    assert loggable_path(f"/feedback/{ROOM}/bedankt") == f"/feedback/{ref}/bedankt"
    assert loggable_path("/staff/anna/feed/tok3n.ics") == "/staff/anna/feed/***.ics"
    assert loggable_path("/afspraak/demo") == "/afspraak/demo"


def test_every_event_name_is_documented_and_every_documented_name_exists() -> None:
    """docs/operations.md lists the names operators alert on: the list and the code agree."""
    docs = (ROOT / "docs" / "operations.md").read_text()
    section = docs.split("### Security events", 1)[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", section, re.MULTILINE))
    assert documented == {name.value for name in Event}
    assert len(set(Event)) == len({name.value for name in Event})  # names are unique
