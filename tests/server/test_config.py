"""Configuration from BALIE_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.booking.setup import feed_tokens, load_link_keys
from server.config import Config, ConfigError, Environment, LogFormat
from tests.support import PRODUCTION_IDENTITY

ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - only parsed here, never bound


def config(**env: str) -> Config:
    return Config.from_env(env)


#: the least a production deployment must configure besides its public URL


def production(**env: str) -> Config:
    return Config.from_env(
        {"BALIE_ENV": "production", "BALIE_PUBLIC_URL": "https://balie.example.nl"}
        | PRODUCTION_IDENTITY
        | env
    )


def test_defaults() -> None:
    c = config()
    assert c.environment is Environment.DEVELOPMENT and not c.production
    assert (c.host, c.port) == ("127.0.0.1", 8080)
    assert c.public_url == "http://127.0.0.1:8080"
    assert set(c.allowed_origins) == {"http://127.0.0.1:8080", "http://localhost:8080"}
    assert c.data_dir == Path("var")
    assert c.keys_file == Path("var") / "room-keys.json"
    assert c.ws.max_message == 64 * 1024 and c.ws.compress is False
    assert c.ws.join_timeout == 10 and c.ws.resume_grace == 30 and c.ws.max_in_call == 3
    assert c.tokens.issuer == "balie"
    assert c.ice.stun_urls == () and c.ice.turn_urls == ()
    assert c.log_level == "INFO" and c.log_format is LogFormat.TEXT and c.log_key == b""
    # no metrics listener unless asked for, and then on loopback
    assert c.metrics.port == 0 and c.metrics.host == "127.0.0.1" and c.metrics.token == ""
    assert c.database.timeout == 5 and c.header_timeout == 10


# every variable: (name, raw value, how to read it back, expected)
PARSED: list[tuple[str, str, str, Any]] = [
    ("BALIE_ENV", "Production", "environment", Environment.PRODUCTION),
    ("BALIE_HOST", f" {ANY_ADDRESS} ", "host", ANY_ADDRESS),
    ("BALIE_PORT", "9000", "port", 9000),
    ("BALIE_PUBLIC_URL", "https://balie.example.nl/", "public_url", "https://balie.example.nl"),
    (
        "BALIE_ALLOWED_ORIGINS",
        "https://a.example, https://b.example:8443,",
        "allowed_origins",
        ("https://a.example", "https://b.example:8443"),
    ),
    ("BALIE_DATA_DIR", "/srv/balie", "data_dir", Path("/srv/balie")),
    ("BALIE_ROOM_KEYS_FILE", "/etc/balie/keys.json", "keys_file", Path("/etc/balie/keys.json")),
    ("BALIE_WS_MAX_MESSAGE", "2048", "ws.max_message", 2048),
    ("BALIE_WS_HEARTBEAT", "7.5", "ws.heartbeat", 7.5),
    ("BALIE_WS_JOIN_TIMEOUT", "3", "ws.join_timeout", 3.0),
    ("BALIE_WS_RATE", "12.5", "ws.rate", 12.5),
    ("BALIE_WS_BURST", "40", "ws.burst", 40.0),
    ("BALIE_WS_RATE_STRIKES", "7", "ws.rate_strikes", 7),
    ("BALIE_WS_SEND_QUEUE", "64", "ws.send_queue", 64),
    ("BALIE_WS_COMPRESS", "yes", "ws.compress", True),
    ("BALIE_RESUME_GRACE", "45", "ws.resume_grace", 45.0),
    ("BALIE_TOKEN_ISSUER", "gemeente-x", "tokens.issuer", "gemeente-x"),
    ("BALIE_ROOM_TOKEN_TTL", "600", "tokens.room_token_ttl", 600),
    (
        "BALIE_STUN_URLS",
        "stun:a:3478, stun:b:3478",
        "ice.stun_urls",
        ("stun:a:3478", "stun:b:3478"),
    ),
    ("BALIE_LOG_LEVEL", "debug", "log_level", "DEBUG"),
    ("BALIE_LOG_FORMAT", " JSON ", "log_format", LogFormat.JSON),
    ("BALIE_LOG_KEY", "A" * 22 + "==", "log_key", bytes(16)),
    ("BALIE_METRICS_PORT", "9464", "metrics.port", 9464),
    ("BALIE_METRICS_HOST", "10.0.0.5", "metrics.host", "10.0.0.5"),
    ("BALIE_METRICS_TOKEN", " scrape ", "metrics.token", "scrape"),
]


def read(c: Config, path: str) -> Any:
    value: Any = c
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(("name", "raw", "path", "expected"), PARSED, ids=lambda v: str(v)[:30])
def test_each_variable_is_parsed(name: str, raw: str, path: str, expected: Any) -> None:
    env = {name: raw}
    if name == "BALIE_ENV":
        env |= {"BALIE_PUBLIC_URL": "https://balie.example.nl"} | PRODUCTION_IDENTITY
    c = Config.from_env(env)
    assert read(c, path) == expected
    assert read(Config.from_env({}), path) != expected  # the variable made the difference


@pytest.mark.parametrize("raw", ["0", "false", "No", "OFF"])
def test_compress_can_be_switched_off(raw: str) -> None:
    assert config(BALIE_WS_COMPRESS="on").ws.compress is True
    assert config(BALIE_WS_COMPRESS=raw).ws.compress is False


def test_turn_variables() -> None:
    c = config(
        BALIE_TURN_URLS="turn:t.example:3478?transport=udp,turns:t.example:5349",
        BALIE_TURN_SECRET=" geheim ",
        BALIE_TURN_TTL="900",
    )
    assert c.ice.turn_urls == ("turn:t.example:3478?transport=udp", "turns:t.example:5349")
    assert c.ice.turn_secret == "geheim" and c.ice.turn_ttl == 900


def test_empty_values_mean_the_default() -> None:
    blank = {
        name: "  "
        for name in (
            "BALIE_PORT",
            "BALIE_WS_RATE",
            "BALIE_WS_COMPRESS",
            "BALIE_ENV",
            "BALIE_ALLOWED_ORIGINS",
        )
    }
    assert Config.from_env(blank) == Config.from_env({})


def test_public_url_sets_the_allowed_origin() -> None:
    c = config(BALIE_HOST=ANY_ADDRESS, BALIE_PUBLIC_URL="https://balie.example.nl")
    assert c.allowed_origins == ("https://balie.example.nl",)
    assert config(BALIE_HOST=ANY_ADDRESS).public_url == "http://127.0.0.1:8080"


BAD: list[tuple[str, str]] = [
    ("BALIE_ENV", "staging"),
    ("BALIE_PORT", "http"),
    ("BALIE_PORT", "0"),
    ("BALIE_PORT", "70000"),
    ("BALIE_PORT", "80.5"),
    ("BALIE_ALLOWED_ORIGINS", "https://a.example/path"),
    ("BALIE_ALLOWED_ORIGINS", "a.example"),
    ("BALIE_WS_MAX_MESSAGE", "100"),
    ("BALIE_WS_MAX_MESSAGE", "64k"),
    ("BALIE_WS_HEARTBEAT", "soon"),
    ("BALIE_WS_JOIN_TIMEOUT", "ten"),
    ("BALIE_WS_RATE", "0"),
    ("BALIE_WS_RATE", "fast"),
    ("BALIE_WS_BURST", "0"),
    ("BALIE_WS_RATE_STRIKES", "0"),
    ("BALIE_WS_RATE_STRIKES", "1.5"),
    ("BALIE_WS_SEND_QUEUE", "0"),
    ("BALIE_WS_SEND_QUEUE", "many"),
    ("BALIE_WS_COMPRESS", "maybe"),
    ("BALIE_RESUME_GRACE", "half a minute"),
    ("BALIE_ROOM_TOKEN_TTL", "4h"),
    ("BALIE_TURN_TTL", "1h"),
    ("BALIE_STUN_URLS", "http://stun.example"),
    ("BALIE_TURN_URLS", "stun:t.example"),
    ("BALIE_LOG_LEVEL", "TRACE"),
    ("BALIE_LOG_FORMAT", "xml"),
    ("BALIE_LOG_KEY", "not base64!"),
    ("BALIE_LOG_KEY", "c2hvcnQ="),
    ("BALIE_METRICS_PORT", "8080"),
    ("BALIE_METRICS_PORT", "70000"),
    ("BALIE_METRICS_PORT", "metrics"),
    ("BALIE_METRICS_TOKEN", "two words"),
]


@pytest.mark.parametrize(("name", "raw"), BAD, ids=lambda v: str(v))
def test_bad_value_names_the_variable(name: str, raw: str) -> None:
    env = {name: raw}
    if name == "BALIE_TURN_URLS":
        env["BALIE_TURN_SECRET"] = "s"
    with pytest.raises(ConfigError) as caught:
        Config.from_env(env)
    # the ICE settings are checked together and named "BALIE_STUN_URLS/BALIE_TURN_*"
    named = "BALIE_TURN" if name.startswith("BALIE_TURN") else name
    assert named in str(caught.value)


@pytest.mark.parametrize(
    "name", ["BALIE_WS_HEARTBEAT", "BALIE_WS_JOIN_TIMEOUT", "BALIE_RESUME_GRACE"]
)
@pytest.mark.parametrize("raw", ["0"])
def test_non_positive_timeout_names_the_variable(name: str, raw: str) -> None:
    """``validate`` says only "WebSocket timeouts must be positive"."""
    with pytest.raises(ConfigError) as caught:
        Config.from_env({name: raw})
    assert name in str(caught.value)


def test_turn_ttl_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        config(BALIE_TURN_TTL="0")
    assert "BALIE_TURN" in str(caught.value)


def test_turn_urls_need_a_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        config(BALIE_TURN_URLS="turn:t.example:3478")
    assert "BALIE_TURN" in str(caught.value)


@pytest.mark.parametrize(
    "name", ["BALIE_WS_HEARTBEAT", "BALIE_WS_JOIN_TIMEOUT", "BALIE_WS_RATE", "BALIE_RESUME_GRACE"]
)
def test_nan_is_refused(name: str) -> None:
    """``float("nan")`` parses, and NaN passes every ``<= 0`` check."""
    with pytest.raises(ConfigError) as caught:
        Config.from_env({name: "nan"})
    assert name in str(caught.value)


@pytest.mark.parametrize("raw", ["-3600"])
def test_room_token_lifetime_must_be_positive(raw: str) -> None:
    """A non-positive lifetime mints links that never work."""
    with pytest.raises(ConfigError) as caught:
        config(BALIE_ROOM_TOKEN_TTL=raw)
    assert "BALIE_ROOM_TOKEN_TTL" in str(caught.value)


def test_production_requires_an_https_public_url() -> None:
    with pytest.raises(ConfigError) as caught:
        config(BALIE_ENV="production", **PRODUCTION_IDENTITY)
    assert "BALIE_PUBLIC_URL" in str(caught.value)
    with pytest.raises(ConfigError):
        production(BALIE_PUBLIC_URL="http://balie.example.nl")
    c = production()
    assert c.production and c.public_url == "https://balie.example.nl"
    assert "https://balie.example.nl" in c.allowed_origins


def test_production_default_origin_is_only_the_public_url() -> None:
    """In production (typically host 127.0.0.1 behind a proxy) the default
    allow-list must not add the development origins http://127.0.0.1:PORT and
    http://localhost:PORT next to the https public URL."""
    c = production()
    assert c.allowed_origins == ("https://balie.example.nl",)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("BALIE_DEMO_MODE", "true"),
        ("BALIE_DEMO_DATA", "true"),
        ("BALIE_IRMA_URL", ""),
        ("BALIE_IRMA_URL", "http://irma.internal.example"),
        ("BALIE_IRMA_TOKEN", ""),
        ("BALIE_IRMA_RESULT_KEY_FILE", ""),
        ("BALIE_VAULT_KEYS", ""),
    ],
)
def test_production_refuses_settings_that_weaken_verification(name: str, raw: str) -> None:
    """Demo credentials, the emulator or an unpinned result key must never be
    reachable in production by leaving a variable out."""
    with pytest.raises(ConfigError) as caught:
        production(**{name: raw})
    assert name in str(caught.value)


def test_identity_and_database_defaults() -> None:
    c = config(BALIE_DATA_DIR="/srv/balie")
    assert c.database.url == "sqlite+aiosqlite:////srv/balie/balie.db"
    assert c.identity.demo_mode and c.database.demo_data and c.emulate_irma
    p = production()
    assert not p.identity.demo_mode and not p.database.demo_data and not p.emulate_irma
    assert p.identity.irma.result_key_file == Path("/etc/balie/irma-jwt.pem")
    assert "requestor-token" not in repr(p) and "AAAA" not in repr(p)  # secrets stay out of logs


def test_database_url_must_name_a_supported_driver() -> None:
    with pytest.raises(ConfigError) as caught:
        config(BALIE_DATABASE_URL="mysql://db/balie")
    assert "BALIE_DATABASE_URL" in str(caught.value)
    assert config(BALIE_DATABASE_URL="postgresql+asyncpg://db/balie").database.url.startswith(
        "postgresql+asyncpg://"
    )


def test_development_allows_http() -> None:
    assert config(BALIE_PUBLIC_URL="http://balie.test:8080").public_url == "http://balie.test:8080"


# --- booking (BookingSettings) ---------------------------------------------------------------

FEED_SECRET = "QkFMSUUtdGVzdC1mZWVkLXNlY3JldC0zMi1ieXRlcyE="  # 32 bytes, base64


def test_booking_defaults() -> None:
    c = config(BALIE_DATA_DIR="/srv/balie")
    assert c.booking.hold_minutes == 15
    assert c.link_keys_file == Path("/srv/balie/link-keys.json")
    assert c.booking.feed_secret == b""  # development: a file in the data directory
    assert c.booking.caldav_timeout == 15.0 and c.booking.caldav_uid_domain == "balie"
    assert c.booking.caldav_credentials == {}
    assert c.booking.invite_from == "noreply@127.0.0.1"
    assert config(BALIE_PUBLIC_URL="https://balie.example.nl").booking.invite_from == (
        "noreply@balie.example.nl"
    )


def test_booking_variables_are_parsed() -> None:
    c = config(
        BALIE_HOLD_MINUTES="10",
        BALIE_LINK_KEYS_FILE="/etc/balie/link-keys.json",
        BALIE_FEED_SECRET=FEED_SECRET,
        BALIE_CALDAV_TIMEOUT="2.5",
        BALIE_CALDAV_UID_DOMAIN="balie.voorbeeld.nl",
        BALIE_CALDAV_DAV_USERNAME="balie-service",
        BALIE_CALDAV_DAV_PASSWORD="geheim-wachtwoord",
        BALIE_INVITE_FROM="noreply@voorbeeld.nl",
    )
    assert c.booking.hold_minutes == 10
    assert c.link_keys_file == Path("/etc/balie/link-keys.json")
    assert len(c.booking.feed_secret) == 32
    assert c.booking.caldav_timeout == 2.5
    assert c.booking.caldav_uid_domain == "balie.voorbeeld.nl"
    assert c.booking.caldav_credentials["DAV"].username == "balie-service"
    assert c.booking.invite_from == "noreply@voorbeeld.nl"
    # secrets stay out of logs
    assert "geheim-wachtwoord" not in repr(c) and FEED_SECRET not in repr(c)
    assert "QkFM" not in repr(c)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("BALIE_HOLD_MINUTES", "0"),
        ("BALIE_HOLD_MINUTES", "121"),
        ("BALIE_HOLD_MINUTES", "a quarter"),
        ("BALIE_FEED_SECRET", "not base64!"),
        ("BALIE_FEED_SECRET", "c2hvcnQ="),  # 5 bytes
        ("BALIE_CALDAV_TIMEOUT", "0"),
        ("BALIE_CALDAV_TIMEOUT", "nan"),
        ("BALIE_CALDAV_UID_DOMAIN", "balie/../x"),
        ("BALIE_INVITE_FROM", "no address"),
        ("BALIE_CALDAV_DAV_USERNAME", ""),
    ],
    ids=lambda v: str(v),
)
def test_bad_booking_value_names_the_variable(name: str, raw: str) -> None:
    env = {name: raw}
    if name == "BALIE_CALDAV_DAV_USERNAME":
        env["BALIE_CALDAV_DAV_PASSWORD"] = "geheim-wachtwoord"  # a pair without its user name
    with pytest.raises(ConfigError) as caught:
        config(**env)
    assert name in str(caught.value)
    assert "geheim-wachtwoord" not in str(caught.value)


def test_production_needs_existing_link_keys_and_a_feed_secret(tmp_path: Path) -> None:
    missing = production(BALIE_LINK_KEYS_FILE=str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="BALIE_LINK_KEYS_FILE"):
        load_link_keys(missing)
    assert not (tmp_path / "missing.json").exists()  # never invented in production
    with pytest.raises(ConfigError, match="BALIE_FEED_SECRET"):
        feed_tokens(missing)
    feed_tokens(production(BALIE_FEED_SECRET=FEED_SECRET))


def test_development_makes_link_keys_and_feed_secret_once(tmp_path: Path) -> None:
    c = config(BALIE_DATA_DIR=str(tmp_path))
    keys = load_link_keys(c)
    assert (tmp_path / "link-keys.json").stat().st_mode & 0o777 == 0o600
    assert load_link_keys(c).to_json() == keys.to_json()
    token = feed_tokens(c).issue("t", "s")
    assert feed_tokens(c).issue("t", "s") == token  # the same file the second time
    (tmp_path / "link-keys.json").write_text("{not json")
    with pytest.raises(ConfigError, match="BALIE_LINK_KEYS_FILE"):
        load_link_keys(c)


def test_staff_session_defaults_and_variables() -> None:
    assert config().staff.idle_minutes == 15
    assert config().staff.absolute_hours == 8
    c = config(BALIE_STAFF_IDLE_MINUTES="5", BALIE_STAFF_ABSOLUTE_HOURS="2")
    assert (c.staff.idle_minutes, c.staff.absolute_hours) == (5, 2)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("BALIE_STAFF_IDLE_MINUTES", "0"),
        ("BALIE_STAFF_IDLE_MINUTES", "121"),
        ("BALIE_STAFF_IDLE_MINUTES", "kwartier"),
        ("BALIE_STAFF_ABSOLUTE_HOURS", "0"),
        ("BALIE_STAFF_ABSOLUTE_HOURS", "25"),
        ("BALIE_STAFF_ABSOLUTE_HOURS", "8.5"),
    ],
)
def test_bad_staff_session_value_names_the_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        config(**{name: raw})


def test_staff_idle_limit_must_fit_in_the_absolute_one() -> None:
    with pytest.raises(ConfigError, match="BALIE_STAFF_IDLE_MINUTES"):
        config(BALIE_STAFF_IDLE_MINUTES="90", BALIE_STAFF_ABSOLUTE_HOURS="1")


def test_links_between_nodes_are_parsed() -> None:
    redis = {
        "BALIE_REDIS_URL": "redis://127.0.0.1:6379/0",
        "BALIE_DATABASE_URL": "postgresql+asyncpg://balie@db/balie",
        "BALIE_BUS_KEYS": "k1:" + "A" * 43 + "=",
    }
    assert Config.from_env(redis).cluster.link is None  # through Redis only
    cluster = Config.from_env(
        redis | {"BALIE_LINK_LISTEN": "0.0.0.0:7070", "BALIE_LINK_ADVERTISE": "node-1.internal"}
    ).cluster
    assert cluster.link == ("0.0.0.0", 7070) and cluster.link_advertise == "node-1.internal"  # noqa: S104
    assert Config.from_env(redis | {"BALIE_LINK_LISTEN": "[::1]:0"}).cluster.link == ("::1", 0)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"BALIE_LINK_LISTEN": "127.0.0.1:7070"}, "BALIE_LINK_LISTEN needs BALIE_REDIS_URL"),
        ({"BALIE_REDIS_URL": "redis://r/0", "BALIE_LINK_LISTEN": "7070"}, "host:port"),
        ({"BALIE_REDIS_URL": "redis://r/0", "BALIE_LINK_LISTEN": "a b:1"}, "host:port"),
        ({"BALIE_REDIS_URL": "redis://r/0", "BALIE_LINK_LISTEN": "h:99999"}, "at most 65535"),
        (
            {"BALIE_REDIS_URL": "redis://r/0", "BALIE_LINK_ADVERTISE": "h:7070"},
            "BALIE_LINK_ADVERTISE",
        ),
    ],
)
def test_bad_link_settings_name_the_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Config.from_env(env)
