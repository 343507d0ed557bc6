"""The OpenID4VP settings from BALIE_OPENID4VP_*: off by default, parsed in one place, and a
configuration that cannot work refused at start with the variable named."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from identity.openid4vp import ResponseMode
from identity.openid4vp.pid import VCT_PID_NL
from server.config import Config, ConfigError
from server.verification.openid4vp_setup import verifier_settings
from tests.server.verification.openid4vp_support import make_pkis, openid4vp_config


def test_it_is_off_unless_configured(tmp_path: Path) -> None:
    config = Config.from_env({"BALIE_DATA_DIR": str(tmp_path)})
    assert not config.identity.openid4vp.enabled
    assert verifier_settings(config) is None


def test_every_variable_is_read(tmp_path: Path) -> None:
    env = {
        "BALIE_DATA_DIR": str(tmp_path),
        "BALIE_PUBLIC_URL": "https://balie.example.nl",
        "BALIE_OPENID4VP_CERTIFICATE_FILE": "/etc/balie/access.pem",
        "BALIE_OPENID4VP_KEY_FILE": "/etc/balie/access-key.pem",
        "BALIE_OPENID4VP_TRUST_ANCHORS": f"{VCT_PID_NL}=/etc/balie/nl.pem, eu.europa.ec.eudi.pid.1="
        "/etc/balie/iaca.pem",
        "BALIE_OPENID4VP_RESPONSE_MODE": "direct_post",
        "BALIE_OPENID4VP_WALLET_URL": "haip://",
        "BALIE_OPENID4VP_TTL": "600",
    }
    settings = Config.from_env(env).identity.openid4vp
    assert settings.enabled
    assert settings.trust_anchors == (
        (VCT_PID_NL, Path("/etc/balie/nl.pem")),
        ("eu.europa.ec.eudi.pid.1", Path("/etc/balie/iaca.pem")),
    )
    assert (settings.response_mode, settings.wallet_url, settings.ttl) == (
        "direct_post",
        "haip://",
        600,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BALIE_OPENID4VP_CERTIFICATE_FILE": "/a.pem"}, "BALIE_OPENID4VP_KEY_FILE"),
        (
            {"BALIE_OPENID4VP_CERTIFICATE_FILE": "/a.pem", "BALIE_OPENID4VP_KEY_FILE": "/k.pem"},
            "BALIE_OPENID4VP_TRUST_ANCHORS",
        ),
        ({"BALIE_OPENID4VP_TRUST_ANCHORS": "no-equals-sign"}, "BALIE_OPENID4VP_TRUST_ANCHORS"),
        (
            {
                "BALIE_OPENID4VP_CERTIFICATE_FILE": "/a.pem",
                "BALIE_OPENID4VP_KEY_FILE": "/k.pem",
                "BALIE_OPENID4VP_TRUST_ANCHORS": "t=/t.pem",
                "BALIE_OPENID4VP_RESPONSE_MODE": "query",
            },
            "BALIE_OPENID4VP_RESPONSE_MODE",
        ),
        (
            {
                "BALIE_OPENID4VP_CERTIFICATE_FILE": "/a.pem",
                "BALIE_OPENID4VP_KEY_FILE": "/k.pem",
                "BALIE_OPENID4VP_TRUST_ANCHORS": "t=/t.pem",
            },
            "https://",  # wallets cannot reach an http development address
        ),
    ],
)
def test_a_configuration_that_cannot_work_is_refused(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        Config.from_env({"BALIE_DATA_DIR": str(tmp_path), **env})


def test_the_files_are_read_and_checked_at_start(tmp_path: Path) -> None:
    pkis = make_pkis()
    config = openid4vp_config(tmp_path, pkis)
    settings = verifier_settings(config)
    assert settings is not None
    assert settings.response_mode is ResponseMode.DIRECT_POST_JWT
    assert settings.request_uri == "https://balie.test/oid4vp/request/{request_id}"
    assert settings.same_device_redirect == (
        "https://balie.test/identiteit/wallet#response_code={response_code}"
    )
    assert settings.trust.types == {VCT_PID_NL, "urn:eudi:pid:1", "eu.europa.ec.eudi.pid.1"}
    # a key that is not the certificate's: refused, naming the variables, never the key
    other = make_pkis()
    oid4vp = config.identity.openid4vp
    assert oid4vp.key_file is not None
    oid4vp.key_file.write_bytes((tmp_path / "openid4vp" / "access-key.pem").read_bytes())
    assert oid4vp.certificate_file is not None
    oid4vp.certificate_file.write_bytes(other.client.leaf.public_bytes(Encoding.PEM))
    with pytest.raises(ConfigError, match="BALIE_OPENID4VP_CERTIFICATE_FILE/KEY_FILE"):
        verifier_settings(config)
    (tmp_path / "openid4vp" / "nl-pid.pem").unlink()
    oid4vp.certificate_file.write_bytes(pkis.client.leaf.public_bytes(Encoding.PEM))
    with pytest.raises(ConfigError, match="BALIE_OPENID4VP_TRUST_ANCHORS"):
        verifier_settings(config)
