"""``balie probe URL``: the synthetic call of server/probe/client.py, from the command line.

The probe secret comes from ``BALIE_PROBE_SECRET`` or a file (``--secret-file``), never from
the command line, where other users of the machine could read it. Prints each step and its
duration (or JSON with ``--json``); on failure one line on standard error, ``balie probe:
<step>: <what is wrong>``, and exit status 1. Exit status 2: the probe could not start
(no secret, no aiortc, a URL that is not http(s)).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from server.probe.signalling import DEADLINE

#: what to install when aiortc is missing
INSTALL: str = "pip install 'balie[probe]'"


def add_parser(commands: Any) -> None:
    probe = commands.add_parser(
        "probe",
        help="place a synthetic call against a running Balie and time each step",
        description="Needs BALIE_PROBE_SECRET (or --secret-file): the server's probe secret.",
    )
    probe.add_argument("url", help="where Balie runs, as people open it (https://balie...)")
    probe.add_argument(
        "--relay-only",
        action="store_true",
        help="use TURN relay candidates only, on both sides (tests the TURN server)",
    )
    probe.add_argument(
        "--turn",
        choices=("udp", "tcp", "tls"),
        help="use the server's TURN URL of this kind (turn:?transport=udp, ...=tcp, turns:)",
    )
    probe.add_argument("--json", action="store_true", help="print JSON instead of text")
    probe.add_argument(
        "--timeout",
        type=float,
        default=DEADLINE,
        help=f"seconds each step may take (default {DEADLINE:g})",
    )
    probe.add_argument("--secret-file", help="read the probe secret from this file")


def run(
    args: argparse.Namespace,
    env: Mapping[str, str],
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    try:
        secret = _secret(args, env)
    except OSError as error:
        err.write(f"balie probe: --secret-file {args.secret_file}: {error.strerror}\n")
        return 2
    if not secret:
        err.write(
            "balie probe: no probe secret: set BALIE_PROBE_SECRET to the server's, or give "
            "--secret-file\n"
        )
        return 2
    if not args.url.startswith(("http://", "https://")):
        err.write(f"balie probe: {args.url!r} is not an http:// or https:// URL\n")
        return 2
    try:
        from server.probe.client import probe
    except ImportError as error:  # aiortc is an extra: servers need not carry it
        err.write(f"balie probe: {error.name} is not installed: {INSTALL}\n")
        return 2
    report = asyncio.run(
        probe(
            args.url,
            secret,
            relay_only=args.relay_only,
            turn=args.turn,
            deadline=args.timeout,
        )
    )
    if args.json:
        out.write(json.dumps(report.as_json(), indent=2) + "\n")
    else:
        out.write("\n".join(report.lines()) + "\n")
    if not report.ok:
        err.write(f"balie probe: {report.failed}: {report.error}\n")
        return 1
    return 0


def _secret(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    if args.secret_file:
        return Path(args.secret_file).read_text().strip()
    return env.get("BALIE_PROBE_SECRET", "").strip()
