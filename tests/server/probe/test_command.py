"""``balie probe`` before any call: where the secret comes from, and what it says when it
cannot start (exit status 2), in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import free_port

SECRET = "probe-secret-" + "s" * 32


def balie(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[3],
    )


def probe(*args: str) -> str:
    return f"from server.cli import main; raise SystemExit(main({['probe', *args]!r}))"


def test_without_a_secret_it_does_not_start() -> None:
    done = balie(probe("http://127.0.0.1:1"), {})
    assert done.returncode == 2
    assert done.stderr.startswith("balie probe: no probe secret: set BALIE_PROBE_SECRET")


def test_a_url_that_is_not_http_is_refused() -> None:
    done = balie(probe("ftp://balie.example"), {"BALIE_PROBE_SECRET": SECRET})
    assert (done.returncode, done.stderr) == (
        2,
        "balie probe: 'ftp://balie.example' is not an http:// or https:// URL\n",
    )


def test_without_aiortc_it_says_what_to_install() -> None:
    blocked = "import sys; sys.modules['aiortc'] = None; " + probe("http://127.0.0.1:1")
    done = balie(blocked, {"BALIE_PROBE_SECRET": SECRET})
    assert (done.returncode, done.stderr) == (
        2,
        "balie probe: aiortc is not installed: pip install 'balie[probe]'\n",
    )


def test_the_secret_may_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(SECRET + "\n")
    url = f"http://127.0.0.1:{free_port()}"
    done = balie(probe(url, "--secret-file", str(tmp_path / "secret")), {})
    # it got past the secret: the server is down
    assert done.returncode == 1
    assert done.stderr.startswith(f"balie probe: room: cannot reach {url}: Connection refused")
    missing = balie(probe(url, "--secret-file", str(tmp_path / "nothing")), {})
    assert (missing.returncode, missing.stderr) == (
        2,
        f"balie probe: --secret-file {tmp_path / 'nothing'}: No such file or directory\n",
    )
