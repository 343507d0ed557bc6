"""The README is what a newcomer reads first: everything it names must be in the repository,
and its layout table must name the folders the repository has (it once called a finished
package "next" and pointed to a design file outside the repository)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
README: Final = (ROOT / "README.md").read_text()
#: `code` spans and the targets of [links](...)
_CODE: Final = re.compile(r"`([^`\n]+)`")
_LINK: Final = re.compile(r"\]\(([^)\s]+)\)")
_LAYOUT_ROW: Final = re.compile(r"^\| `([\w.-]+)/` \|", re.MULTILINE)


def top_level_folders() -> set[str]:
    """The folders git tracks at the top (hidden ones, such as .ci, are not for newcomers)."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return {path.split("/", 1)[0] for path in listed if "/" in path and path[0] != "."}


def named_paths(text: str, folders: set[str]) -> set[str]:
    """Repository paths the text names: code spans and link targets that start with a
    top-level folder, or that leave the repository (``../``)."""
    candidates = set(_CODE.findall(text)) | set(_LINK.findall(text))
    return {
        candidate
        for candidate in candidates
        if candidate.startswith("../") or candidate.split("/", 1)[0] in folders
        if "/" in candidate and not re.search(r"[\s:$<>{}*]", candidate)
    }


def test_everything_the_readme_names_is_in_the_repository() -> None:
    folders = top_level_folders()
    named = named_paths(README, folders)
    assert len(named) > 10, named  # the rule sees the paths it is meant to see
    outside = sorted(p for p in named if not (ROOT / p).resolve().is_relative_to(ROOT))
    assert outside == [], f"the README points outside the repository: {outside}"
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == [], f"the README names what is not here: {missing}"


def test_the_layout_table_names_every_top_level_folder_and_no_other() -> None:
    layout = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    assert set(_LAYOUT_ROW.findall(layout)) == top_level_folders()


def test_the_rules_catch_a_pointer_outside_and_a_stale_name() -> None:
    """The checks above must be able to fail."""
    folders = top_level_folders()
    text = "Read `../shared/design.md` and [the plan](docs/plan-that-is-gone.md)."
    named = named_paths(text, folders)
    assert named == {"../shared/design.md", "docs/plan-that-is-gone.md"}
    assert not (ROOT / "docs/plan-that-is-gone.md").exists()
