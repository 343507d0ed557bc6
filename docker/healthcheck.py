#!/opt/balie/venv/bin/python
"""The image's HEALTHCHECK: ``GET /healthz`` on this container's own Balie.

``/healthz`` answers while the process runs; whether the node can take calls is ``/readyz``,
which the proxy checks (docs/deployment.md, "Health and logs").
"""

from __future__ import annotations

import os
import sys
import urllib.request

TIMEOUT = 4.0


def url(env: dict[str, str]) -> str:
    host = env.get("BALIE_HOST", "127.0.0.1") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):  # noqa: S104 - listening everywhere: ask on loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{env.get('BALIE_PORT', '8080')}/healthz"


def main() -> int:
    target = url(dict(os.environ))
    try:
        with urllib.request.urlopen(target, timeout=TIMEOUT) as response:  # noqa: S310 - http only
            return 0 if response.status == 200 else 1
    except OSError as error:
        sys.stderr.write(f"{target}: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
