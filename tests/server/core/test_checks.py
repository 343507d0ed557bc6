"""The configuration rules of server/core/checks.py: one test per rule, on configurations read
from environments as ``balie serve`` reads them, and ``balie serve`` refusing exactly the
findings marked so."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from server.config import Config, ConfigError
from server.core.checks import Finding, findings, refusals
from tests.support import PRODUCTION_IDENTITY

PUBLIC = "https://balie.gemeente.example"
#: a production deployment with nothing wrong in it
GOOD: Mapping[str, str] = {
    "BALIE_ENV": "production",
    "BALIE_PUBLIC_URL": PUBLIC,
    "BALIE_ALLOWED_ORIGINS": PUBLIC,
    "BALIE_TURN_URLS": "turn:turn.gemeente.example:3478?transport=udp",
    "BALIE_TURN_SECRET": "coturn-static-auth-secret",
    **PRODUCTION_IDENTITY,
}


def found(**env: str) -> list[Finding]:
    """The findings of ``GOOD`` changed by ``env`` (an empty value removes a variable)."""
    merged = {k: v for k, v in ({**GOOD, **env}).items() if v != ""}
    return findings(Config.read_env(merged), merged)


def development(**env: str) -> list[Finding]:
    return findings(Config.read_env(env), env)


def named(items: list[Finding]) -> list[tuple[str, bool]]:
    return [(f.variable, f.refuses_start) for f in items]


def test_a_good_production_configuration_has_no_findings() -> None:
    assert found() == []
    Config.from_env(GOOD)  # and balie serve reads it


def test_the_default_development_configuration_has_no_findings() -> None:
    assert development() == []


@pytest.mark.parametrize(
    ("variable", "raw"), [("BALIE_DEMO_MODE", "true"), ("BALIE_DEMO_DATA", "true")]
)
def test_demo_mode_or_demo_data_in_production(variable: str, raw: str) -> None:
    (finding,) = found(**{variable: raw})
    assert (finding.variable, finding.refuses_start) == (variable, True)
    assert f"{variable}=false" in finding.message


def test_no_mail_server_in_production() -> None:
    """Without one, confirmations would go into a folder nobody reads."""
    (finding,) = found(BALIE_SMTP_HOST="")
    assert (finding.variable, finding.refuses_start) == ("BALIE_SMTP_HOST", True)
    assert "written to a folder" in finding.message


def test_mail_in_clear_over_the_network_in_production() -> None:
    (finding,) = found(BALIE_SMTP_SECURITY="none")
    assert (finding.variable, finding.refuses_start) == ("BALIE_SMTP_SECURITY", True)
    # a relay on the node itself may take plain SMTP
    assert found(BALIE_SMTP_SECURITY="none", BALIE_SMTP_HOST="127.0.0.1") == []


def test_the_irma_emulator_in_production() -> None:
    """Without a real irma server's URL the emulator would stand in for it."""
    (finding,) = found(BALIE_IRMA_URL="")
    assert (finding.variable, finding.refuses_start) == ("BALIE_IRMA_URL", True)
    assert "emulator" in finding.message and "https://" in finding.message
    (finding,) = found(BALIE_IRMA_URL="http://irma.internal.example")
    assert finding.variable == "BALIE_IRMA_URL"


@pytest.mark.parametrize("variable", ["BALIE_IRMA_TOKEN", "BALIE_IRMA_RESULT_KEY_FILE"])
def test_an_irma_server_without_its_token_or_pinned_key(variable: str) -> None:
    assert named(found(**{variable: ""})) == [(variable, True)]


def test_a_missing_vault_key() -> None:
    (finding,) = found(BALIE_VAULT_KEYS="")
    assert (finding.variable, finding.refuses_start) == ("BALIE_VAULT_KEYS", True)
    assert "balie vault new-key" in finding.message


def test_a_non_https_public_url_in_production() -> None:
    public = "http://balie.gemeente.example"
    items = found(BALIE_PUBLIC_URL=public, BALIE_ALLOWED_ORIGINS=public)
    assert named(items) == [("BALIE_PUBLIC_URL", True)]
    assert "https://" in items[0].message


def test_a_non_https_public_url_in_development() -> None:
    """Browsers give the camera to https pages and to localhost only."""
    (finding,) = development(BALIE_PUBLIC_URL="http://192.168.1.20:8080")
    assert (finding.variable, finding.refuses_start) == ("BALIE_PUBLIC_URL", False)
    assert "camera" in finding.message
    assert development(BALIE_PUBLIC_URL="http://localhost:8080") == []


def test_development_mode_on_a_public_address() -> None:
    """Production is BALIE_ENV=production only; a public URL in development is a finding."""
    (finding,) = development(BALIE_PUBLIC_URL=PUBLIC)
    assert (finding.variable, finding.refuses_start) == ("BALIE_ENV", False)
    assert "BALIE_ENV=production" in finding.message
    assert "demo mode" in finding.message and "IRMA emulator" in finding.message
    # names reserved for tests and local networks are not public
    assert development(BALIE_PUBLIC_URL="https://balie.test") == []
    assert development(BALIE_PUBLIC_URL="https://10.0.0.5") == []


def test_allowed_origins_not_set_in_production() -> None:
    (finding,) = found(BALIE_ALLOWED_ORIGINS="")
    assert (finding.variable, finding.refuses_start) == ("BALIE_ALLOWED_ORIGINS", False)
    assert f"BALIE_ALLOWED_ORIGINS={PUBLIC}" in finding.message


def test_allowed_origins_without_the_public_urls_own() -> None:
    (finding,) = found(BALIE_ALLOWED_ORIGINS="https://elders.example")
    assert finding.variable == "BALIE_ALLOWED_ORIGINS"
    assert f"does not name {PUBLIC}" in finding.message


def test_a_plain_http_origin_in_production() -> None:
    (finding,) = found(BALIE_ALLOWED_ORIGINS=f"{PUBLIC},http://balie.gemeente.example")
    assert "names http://balie.gemeente.example" in finding.message


def test_turn_urls_without_a_secret_are_refused_while_reading() -> None:
    """The rule lives in signaling.turn.IceSettings: the configuration cannot be read."""
    with pytest.raises(ConfigError, match="BALIE_TURN"):
        Config.read_env({**GOOD, "BALIE_TURN_SECRET": ""})


def test_a_turn_secret_without_urls() -> None:
    (finding,) = development(BALIE_TURN_SECRET="coturn-static-auth-secret")
    assert (finding.variable, finding.refuses_start) == ("BALIE_TURN_URLS", False)


def test_no_turn_in_production() -> None:
    (finding,) = found(BALIE_TURN_URLS="", BALIE_TURN_SECRET="")
    assert finding.variable == "BALIE_TURN_URLS" and "one call in five" in finding.message


def test_sqlite_with_redis() -> None:
    items = development(BALIE_REDIS_URL="redis://127.0.0.1:6379/0", BALIE_BUS_KEYS="k1:x")
    assert named(items) == [("BALIE_DATABASE_URL", True)]
    assert "PostgreSQL" in items[0].message
    clustered = development(
        BALIE_REDIS_URL="redis://127.0.0.1:6379/0",
        BALIE_BUS_KEYS="k1:x",
        BALIE_DATABASE_URL="postgresql+asyncpg://balie@db/balie",
    )
    assert clustered == []


def test_redis_without_bus_keys() -> None:
    items = development(
        BALIE_REDIS_URL="redis://127.0.0.1:6379/0",
        BALIE_DATABASE_URL="postgresql+asyncpg://balie@db/balie",
    )
    assert named(items) == [("BALIE_BUS_KEYS", True)]


@pytest.mark.parametrize("secret", ["short", "x" * 31, "has a space in it " + "x" * 32])
def test_a_weak_probe_secret(secret: str) -> None:
    assert named(development(BALIE_PROBE_SECRET=secret)) == [("BALIE_PROBE_SECRET", True)]
    assert development(BALIE_PROBE_SECRET="x" * 32) == []


def test_every_finding_is_one_line_naming_its_variable_and_no_secret() -> None:
    env = {
        "BALIE_ENV": "production",
        "BALIE_PUBLIC_URL": "http://balie.gemeente.example",
        "BALIE_DEMO_MODE": "true",
        "BALIE_REDIS_URL": "redis://:redis-password@redis:6379/0",
        "BALIE_TURN_SECRET": "coturn-static-auth-secret",
        "BALIE_PROBE_SECRET": "short-probe-secret",
    }
    items = findings(Config.read_env(env), env)
    assert len(items) >= 10
    for finding in items:
        assert "\n" not in finding.message
        assert finding.message.startswith("BALIE_")
        assert finding.variable in finding.message
        for secret in ("redis-password", "coturn-static-auth-secret", "short-probe-secret"):
            assert secret not in finding.message


def test_balie_serve_refuses_the_first_refused_finding_and_nothing_else() -> None:
    """Config.from_env (what balie serve reads) stops on refusals, never on advice."""
    env = {k: v for k, v in GOOD.items() if k != "BALIE_VAULT_KEYS"} | {"BALIE_DEMO_MODE": "1"}
    config = Config.read_env(env)
    assert [f.variable for f in refusals(config)] == ["BALIE_DEMO_MODE", "BALIE_VAULT_KEYS"]
    with pytest.raises(ConfigError) as caught:
        Config.from_env(env)
    assert str(caught.value) == refusals(config)[0].message
    # advice alone (no TURN, origins not set, development in public) starts
    advised = {k: v for k, v in GOOD.items() if "TURN" not in k and "ORIGINS" not in k}
    assert [f.refuses_start for f in findings(Config.read_env(advised), advised)] == [
        False,
        False,
    ]
    Config.from_env(advised)
    Config.from_env({"BALIE_PUBLIC_URL": PUBLIC})
