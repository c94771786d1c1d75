"""An installed (non-editable) duban finds the same migrations as a checkout: pyproject.toml
ships deploy/migrations inside the package, and activities/migrations.py looks there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from activities import migrations

ROOT = Path(__file__).resolve().parents[2]


def _setuptools() -> dict[str, object]:
    tool: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    return tool["setuptools"]  # type: ignore[return-value]


def test_the_wheel_ships_deploy_migrations_as_package_data() -> None:
    tool = _setuptools()
    package_dir: dict[str, str] = tool["package-dir"]  # type: ignore[assignment]
    (package,) = (p for p, d in package_dir.items() if ROOT / d == migrations._CHECKOUT_DIR)
    assert package in tool["packages"]  # type: ignore[operator]
    assert tool["package-data"][package] == ["*.sql"]  # type: ignore[index]
    assert sorted(migrations._CHECKOUT_DIR.glob("*.sql")), "no migrations in deploy/migrations"
    # A checkout has no packaged copy: it reads deploy/migrations itself.
    assert migrations.DEFAULT_DIR == migrations._CHECKOUT_DIR


def test_an_installed_duban_reads_the_migrations_shipped_in_the_package(tmp_path: Path) -> None:
    """The wheel's layout, as pyproject.toml builds it, in a site directory of its own."""
    package = next(
        p
        for p, d in _setuptools()["package-dir"].items()  # type: ignore[attr-defined]
        if ROOT / d == migrations._CHECKOUT_DIR
    )
    site = tmp_path / "site"
    shipped = site.joinpath(*package.split("."))
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "activities", site / "activities", ignore=skip)
    shutil.copytree(migrations._CHECKOUT_DIR, shipped)
    probe = (
        "from activities import migrations as m; folder = m.migrations_dir(); "
        "print(folder); print(*sorted(p.name for p in folder.glob('*.sql')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DUBAN_MIGRATIONS_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {probe}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert Path(out[0]) == shipped
    assert out[1].split() == sorted(p.name for p in migrations._CHECKOUT_DIR.glob("*.sql"))
