#!/opt/balie/venv/bin/python
"""``balie`` in the container: secrets from files first, then the real command.

Installed as ``/opt/balie/bin/balie``, the image's ``balie`` command, so ``docker run IMAGE
serve`` and ``docker exec CONTAINER balie room create`` both read them. Every file in
``$BALIE_SECRETS_DIR`` (default ``/run/secrets``, where Docker and Compose put secrets) whose
name is a ``BALIE_*`` variable becomes that variable, its value the file's text without the
line end: ``/run/secrets/BALIE_VAULT_KEYS`` sets ``BALIE_VAULT_KEYS``. Other files there (key
files, certificates) are left alone. A variable given both ways is refused, so the value in
force is never a guess.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Final

#: the ``balie`` command of the image's Python environment
PYTHON: Final = "/opt/balie/venv/bin/python"
NAME: Final = re.compile(r"BALIE_[A-Z0-9_]+")


def secrets_from_files(directory: Path, env: dict[str, str]) -> list[str]:
    """Put each ``BALIE_*`` file of ``directory`` into ``env``; the problems, one line each."""
    problems: list[str] = []
    if not directory.is_dir():
        return problems
    for path in sorted(directory.iterdir()):
        if not NAME.fullmatch(path.name) or not path.is_file():
            continue
        if path.name in env:
            problems.append(
                f"{path.name} is set in the environment and in {path}: keep one of the two"
            )
            continue
        try:
            env[path.name] = path.read_text().strip()
        except OSError as error:
            problems.append(f"{path}: {error.strerror} (uid {os.getuid()} must be able to read it)")
    return problems


def main() -> None:
    env = dict(os.environ)
    problems = secrets_from_files(Path(env.get("BALIE_SECRETS_DIR", "/run/secrets")), env)
    for problem in problems:
        sys.stderr.write(f"balie: configuration error: {problem}\n")
    if problems:
        raise SystemExit(2)
    os.execve(PYTHON, [PYTHON, "-m", "server.cli", *sys.argv[1:]], env)  # noqa: S606 - fixed path


if __name__ == "__main__":
    main()
