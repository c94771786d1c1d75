"""Every patch the workflow asks about has a release, and every release's patch is asked."""

from __future__ import annotations

import re
from pathlib import Path

from workflows import releases

WORKFLOWS = Path(releases.__file__).parent


def _asked() -> set[str]:
    """The patches named in `.has("...")` across the workflow's modules and its core."""
    found: set[str] = set()
    for path in WORKFLOWS.rglob("*.py"):
        found |= set(re.findall(r'\bhas\("([a-z0-9-]+)"\)', path.read_text(encoding="utf-8")))
    return found


def test_every_patch_asked_has_a_release() -> None:
    assert _asked() - releases.PATCHES.keys() == set()


def test_every_release_patch_is_still_asked() -> None:
    # A patch dropped from the code but kept here would claim a path nobody takes.
    assert releases.PATCHES.keys() - _asked() == set()


def test_no_workflow_module_asks_the_sdk_directly() -> None:
    # workflow.patched outside releases.py would mark every new task's history again.
    direct = [
        p.name
        for p in WORKFLOWS.rglob("*.py")
        if p.name != "releases.py" and "workflow.patched(" in p.read_text(encoding="utf-8")
    ]
    assert direct == []


def test_the_current_release_is_the_newest_patch() -> None:
    assert releases.CURRENT == max(releases.PATCHES.values()) >= 1
