"""``balie check``: every problem of the configuration ``balie serve`` would read, one line each.

The configuration is read as ``balie serve`` reads it (:meth:`Config.read_env`, the same
environment and ``--host``/``--port``), then judged by the rules of server/core/checks.py,
then, in production, the key files and secrets ``balie serve`` loads at start are read (never
made: in development a missing one is made at the first start). Exit status 1 on any
problem, 0 with a one-line summary otherwise. Nothing printed holds a secret.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from server.booking.setup import feed_tokens, load_link_keys
from server.config import Config, ConfigError
from server.core.checks import Finding, findings
from server.core.secrets import bus_keys, load_keys, vault_keys
from server.verification.setup import pinned_result_key

#: the variable a problem met while reading is filed under, when its message names none
_READING = "BALIE_*"


def add_parser(commands: Any) -> None:
    """``balie check [--host H] [--port P] [--json]``, beside the other commands."""
    check = commands.add_parser(
        "check", help="explain every problem of the configuration; exit 1 on any"
    )
    check.add_argument("--host", help="as for balie serve: the address to listen on")
    check.add_argument("--port", type=int, help="as for balie serve: the port to listen on")
    check.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(env: Mapping[str, str], *, as_json: bool = False, out: TextIO = sys.stdout) -> int:
    config, found = problems(env)
    if as_json:
        lines = [json.dumps(_as_json(config, found), indent=2)]
    elif found:
        lines = [_headline(config, found)]
        for finding in found:
            stops = " (balie serve refuses to start)" if finding.refuses_start else ""
            lines.append(f"- {finding.message}{stops}")
    else:
        assert config is not None
        lines = [f"balie check: ok: {summary(config)}"]
    out.write("\n".join(lines) + "\n")
    return 1 if found else 0


def problems(env: Mapping[str, str]) -> tuple[Config | None, list[Finding]]:
    """The configuration in ``env`` (None if it cannot be read at all) and what is wrong
    with it."""
    try:
        config = Config.read_env(env)
    except ConfigError as error:
        return None, [_refused(error)]
    found = []
    try:
        config.validate_values()
    except ConfigError as error:
        found.append(_refused(error))
    found += findings(config, env)
    if config.production:
        found += _unreadable_keys(config)
    return config, found


def summary(config: Config) -> str:
    """What this configuration runs, without secrets or the database's address."""
    environment = "production" if config.production else "development"
    database = "PostgreSQL" if config.database.url.startswith("postgresql") else "SQLite"
    nodes = "several nodes on Redis" if config.clustered else "one node"
    verifier = (
        "the built-in IRMA emulator"
        if config.emulate_irma
        else f"irma server {config.identity.irma.url}"
    )
    turn = f"TURN ({len(config.ice.turn_urls)} URLs)" if config.ice.turn_urls else "no TURN"
    probes = "probes on" if config.probe_secret else "probes off"
    return (
        f"{environment} at {config.public_url}; {database}, {nodes}; {verifier}; {turn}; "
        f"origins {', '.join(config.allowed_origins)}; {probes}"
    )


def _unreadable_keys(config: Config) -> list[Finding]:
    """Load what ``balie serve`` loads at start; in production no loader writes a file."""
    loads: list[tuple[str, Callable[[], object]]] = [
        ("BALIE_ROOM_KEYS_FILE", lambda: load_keys(config)),
        ("BALIE_LINK_KEYS_FILE", lambda: load_link_keys(config)),
        ("BALIE_FEED_SECRET", lambda: feed_tokens(config)),
    ]
    if config.identity.vault_keys:  # never made from nothing: a missing one is refused above
        loads.append(("BALIE_VAULT_KEYS", lambda: vault_keys(config)))
    if config.clustered and config.cluster.bus_keys:
        loads.append(("BALIE_BUS_KEYS", lambda: bus_keys(config)))
    key_file = config.identity.irma.result_key_file
    if key_file is not None:
        loads.append(("BALIE_IRMA_RESULT_KEY_FILE", lambda: pinned_result_key(key_file)))
    found = []
    for variable, load in loads:
        try:
            load()
        except ConfigError as error:
            found.append(Finding(variable, str(error), refuses_start=True))
    return found


def _refused(error: ConfigError) -> Finding:
    message = str(error)
    variable = message.split(maxsplit=1)[0].rstrip(":") if message.startswith("BALIE_") else ""
    return Finding(variable or _READING, message, refuses_start=True)


def _headline(config: Config | None, found: list[Finding]) -> str:
    count = f"{len(found)} problem{'s' if len(found) != 1 else ''}"
    if config is None:
        return f"balie check: {count}; the configuration cannot be read further until it is fixed"
    return f"balie check: {count}"


def _as_json(config: Config | None, found: list[Finding]) -> dict[str, object]:
    return {
        "ok": not found,
        "summary": summary(config) if config is not None and not found else None,
        "problems": [
            {
                "variable": finding.variable,
                "message": finding.message,
                "refuses_start": finding.refuses_start,
            }
            for finding in found
        ],
    }
