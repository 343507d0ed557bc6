"""Complete a wheelhouse for the image's Python, and list what the image installs from it.

``docker/build`` fills the wheelhouse with ``.venv``'s pip, which evaluates environment
markers for the Python it runs on. The image's Python may differ in a way a marker notices:
redis wants ``async-timeout`` below Python 3.11.3, and Debian bookworm's is 3.11.2. So this
walks the dependencies of Balie's wheel (with its extras) through the wheelhouse, evaluating
each marker for the base image's Python (asked with ``docker run``, no network), fetches what
is missing with ``.venv``'s pip, and writes ``requirements.txt`` beside the wheels: every
distribution the image needs, pinned to the wheel that is there. ``pip install --no-index``
in the image then fails loudly if anything is still missing.

    .venv/bin/python docker/wheelhouse.py BASE_IMAGE BALIE_WHEEL DEPS_DIR CONSTRAINTS EXTRAS
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path
from typing import Final

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import Version

#: the marker environment of the interpreter that runs it (what packaging computes)
MARKER_ENVIRONMENT: Final = """
import json, os, platform, sys
v = sys.implementation.version
iv = f"{v.major}.{v.minor}.{v.micro}"
if v.releaselevel != "final":
    iv += v.releaselevel[0] + str(v.serial)
print(json.dumps({
    "implementation_name": sys.implementation.name,
    "implementation_version": iv,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}))
"""
ROUNDS: Final = 5


def image_environment(image: str) -> dict[str, str]:
    """The marker environment of ``image``'s ``python3``."""
    command = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3"]
    out = subprocess.run(  # noqa: S603 - our own arguments, no shell
        [*command, image, "-c", MARKER_ENVIRONMENT],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    environment: dict[str, str] = json.loads(out)
    return environment


def requirements_of(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = HeaderParser().parsestr(archive.read(name).decode())
    return [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]


def wheels_in(directory: Path) -> dict[NormalizedName, tuple[Version, Path]]:
    found: dict[NormalizedName, tuple[Version, Path]] = {}
    for wheel in directory.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        found[name] = (version, wheel)
    return found


def walk(
    root: Path, extras: set[str], deps: Path, environment: dict[str, str]
) -> tuple[dict[NormalizedName, Version], list[Requirement]]:
    """What ``root`` needs from ``deps`` for this environment, and what ``deps`` lacks."""
    present = wheels_in(deps)
    needed: dict[NormalizedName, Version] = {}
    missing: list[Requirement] = []
    queue: list[tuple[Path, set[str]]] = [(root, extras)]
    seen: set[tuple[Path, frozenset[str]]] = set()
    while queue:
        wheel, wanted = queue.pop()
        if (wheel, frozenset(wanted)) in seen:
            continue
        seen.add((wheel, frozenset(wanted)))
        for requirement in requirements_of(wheel):
            marker = requirement.marker
            if marker is not None and not any(
                marker.evaluate({**environment, "extra": extra}) for extra in wanted | {""}
            ):
                continue
            name = canonicalize_name(requirement.name)
            if name not in present or not requirement.specifier.contains(
                present[name][0], prereleases=True
            ):
                missing.append(requirement)
                continue
            version, path = present[name]
            needed[name] = version
            queue.append((path, set(requirement.extras)))
    return needed, missing


def main(argv: list[str]) -> int:
    image, balie_wheel, deps_dir, constraints, extras = argv
    root, deps = Path(balie_wheel), Path(deps_dir)
    environment = image_environment(image)
    wanted = {extra for extra in extras.split(",") if extra}
    for _ in range(ROUNDS):
        needed, missing = walk(root, wanted, deps, environment)
        if not missing:
            lines = sorted(f"{name}=={version}" for name, version in needed.items())
            (deps / "requirements.txt").write_text("\n".join(lines) + "\n")
            return 0
        fetch = sorted({f"{r.name}{r.specifier}" for r in missing})
        sys.stderr.write(
            f"wheelhouse: for Python {environment['python_full_version']}: {' '.join(fetch)}\n"
        )
        pip = [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check"]
        subprocess.run(  # noqa: S603 - our own arguments, no shell
            [*pip, "--wheel-dir", str(deps), "--constraint", constraints, *fetch],
            check=True,
        )
    sys.stderr.write(f"wheelhouse: still incomplete after {ROUNDS} rounds\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
