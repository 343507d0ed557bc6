"""Configuration from BALIE_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.config import Config, ConfigError, Environment

ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - only parsed here, never bound


def config(**env: str) -> Config:
    return Config.from_env(env)


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
    assert c.log_level == "INFO"


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
        env["BALIE_PUBLIC_URL"] = "https://balie.example.nl"
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
        config(BALIE_ENV="production")
    assert "BALIE_PUBLIC_URL" in str(caught.value)
    with pytest.raises(ConfigError):
        config(BALIE_ENV="production", BALIE_PUBLIC_URL="http://balie.example.nl")
    c = config(BALIE_ENV="production", BALIE_PUBLIC_URL="https://balie.example.nl")
    assert c.production and c.public_url == "https://balie.example.nl"
    assert "https://balie.example.nl" in c.allowed_origins


def test_production_default_origin_is_only_the_public_url() -> None:
    """In production (typically host 127.0.0.1 behind a proxy) the default
    allow-list must not add the development origins http://127.0.0.1:PORT and
    http://localhost:PORT next to the https public URL."""
    c = config(BALIE_ENV="production", BALIE_PUBLIC_URL="https://balie.example.nl")
    assert c.allowed_origins == ("https://balie.example.nl",)


def test_development_allows_http() -> None:
    assert config(BALIE_PUBLIC_URL="http://balie.test:8080").public_url == "http://balie.test:8080"
