"""The hostile corpus (issue 13 §2, §4): every file in corpus/, and a few made here that are
too large or too odd to keep in the repository (a 1 MiB file, a FIFO, a device), fed to the
real `duban` command that reads it. Whatever the file, duban answers with one line and no
traceback, refuses (exit code not 0) unless the file is valid, and stays small.

Reading a file needs no running stack: task files are read before Temporal is asked, so
`duban task start` refuses a bad one with no stack and says a good one finds no running
duban. Calendar, directory and template files go into a database of their own."""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.e2e.stack import DUBAN

CORPUS = Path(__file__).parent / "corpus"
PEAK_MB = 300  # the bound on a duban command's memory, whatever the file
ADDRESS_SPACE = 1 << 30  # and what it may map at all, so a regression cannot take the machine
COMMANDS = {
    "task": ("task", "start"),
    "calendar": ("calendar", "import"),
    "directory": ("directory", "import"),
    "templates": ("templates", "import"),
}
# The valid files, and what duban says of each with no Temporal running.
VALID = {
    "task-valid.yaml": "no running duban found",
    "task-valid.json": "no running duban found",
    "calendar-valid.yaml": "imported 4 days for 2027",
    "calendar-bom.csv": "imported 2 days for 2027",
    "calendar-gb18030.csv": "imported 2 days for 2027",
    "directory-valid.yaml": "imported 11 people",
    "directory-valid-gb18030.csv": "imported 11 people",
    "templates-valid.yaml": "imported templates for escalation, copy",
}


@dataclass
class Ran:
    code: int
    out: str
    err: str
    peak_mb: float


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def duban(args: list[str], env: dict[str, str], timeout: float = 120) -> Ran:
    """Run `duban`, and take its own peak memory from the kernel (os.wait4: this child's
    rusage, not every child's so far)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [DUBAN, *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            preexec_fn=limit_memory,
        )
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:  # a guard, not a measurement: hung is a failure
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Ran(
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_maxrss / 1024,
        )


@pytest.fixture(scope="module")
async def database(pool: asyncpg.Pool, pg_url: str) -> AsyncIterator[str]:
    """A database of the corpus's own: what it imports reaches no other test."""
    name = f"hostile_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(pg_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    await pool.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def env(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data = tmp_path_factory.mktemp("no-stack")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DUBAN_", "TEMPORAL_"))}
    yield {**environ, "DUBAN_DATABASE_URL": database, "DUBAN_DATA_DIR": str(data)}


def made(tmp: Path) -> dict[str, Path]:
    """The hostile files too large or too odd for the repository, made afresh."""
    task = (CORPUS / "task-valid.yaml").read_text(encoding="utf-8")
    files: dict[str, Path] = {}

    def write(name: str, text: str) -> None:
        files[name] = tmp / name
        files[name].write_text(text, encoding="utf-8")

    write("task-huge.yaml", task + "#" + "x" * (1024 * 1024) + "\n")
    write("task-many-values.yaml", "co_units: [" + ",".join(["区"] * 200_000) + "]\n")
    write("calendar-long-field.csv", "2027-02-06,holiday," + "节" * 150_000 + "\n")
    os.mkfifo(tmp / "policy-fifo.yaml")
    write("task-policy-fifo.yaml", task.replace("policy: demo", "policy: policy-fifo.yaml"))
    (tmp / "policy-folder.yaml").mkdir()
    write("task-policy-folder.yaml", task.replace("policy: demo", "policy: policy-folder.yaml"))
    files["task-fifo.yaml"] = tmp / "task-fifo.yaml"
    os.mkfifo(files["task-fifo.yaml"])
    files["task-dev-zero"] = Path("/dev/zero")
    files["templates-folder.yaml"] = tmp / "policy-folder.yaml"
    return files


MADE = (
    "calendar-long-field.csv",
    "task-dev-zero",
    "task-fifo.yaml",
    "task-huge.yaml",
    "task-many-values.yaml",
    "task-policy-fifo.yaml",
    "task-policy-folder.yaml",
    "templates-folder.yaml",
)
NAMES = sorted(p.name for p in CORPUS.iterdir()) + list(MADE)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    fresh = made(tmp_path_factory.mktemp("made"))
    assert sorted(fresh) == list(MADE)
    return {p.name: p for p in CORPUS.iterdir()} | fresh


def check(name: str, path: Path, ran: Ran) -> None:
    everything = ran.out + ran.err
    assert "Traceback" not in everything, everything[-3000:]
    assert ran.peak_mb < PEAK_MB, f"{ran.peak_mb:.0f} MB"
    lines = ran.err.splitlines()
    if name in VALID:
        assert VALID[name] in everything, everything
        assert ran.code == 0 or len(lines) == 1, ran.err
        return
    assert ran.code != 0, f"taken: {ran.out}"
    assert len(lines) == 1, ran.err
    # The refusal is the file's, not the missing stack's: it names the file.
    assert lines[0].startswith("duban: ") and str(path) in lines[0], lines[0]


def test_the_corpus_holds_what_issue_13_names() -> None:
    assert len(NAMES) > 50 and set(VALID) <= set(NAMES)
    for kind in ("alias-bomb", "deep", "duplicate-key", "dev-zero", "huge", "fifo", "escape"):
        assert any(kind in name for name in NAMES), kind


@pytest.mark.parametrize("name", NAMES)
def test_one_line_never_a_traceback_and_small(
    env: dict[str, str], files: dict[str, Path], name: str
) -> None:
    ran = duban([*COMMANDS[name.split("-")[0]], str(files[name])], env)
    check(name, files[name], ran)


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("duplicate key", lambda p: p.write_text('{"pid": 1, "pid": 2}', encoding="utf-8")),
        ("huge", lambda p: p.write_text(" " * (65 * 1024) + "{}", encoding="utf-8")),
        ("FIFO", os.mkfifo),
        ("deep", lambda p: p.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")),
    ],
)
def test_a_hostile_stack_json_is_one_line(
    env: dict[str, str], tmp_path: Path, name: str, write: object
) -> None:
    stack = tmp_path / "stack.json"
    write(stack)  # type: ignore[operator]
    without = {k: v for k, v in env.items() if k != "DUBAN_DATABASE_URL"}
    ran = duban(["directory", "show", "--data-dir", str(tmp_path)], without)
    check(f"stack.json {name}", stack, ran)


async def test_calendars_saved_by_spreadsheets_are_imported_as_written(
    env: dict[str, str], database: str
) -> None:
    for name in ("calendar-bom.csv", "calendar-gb18030.csv"):
        ran = duban(["calendar", "import", str(CORPUS / name)], env)
        check(name, CORPUS / name, ran)
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT day::text, kind, name FROM calendar_days "
            "WHERE day IN ('2027-02-06', '2027-02-14') ORDER BY day"
        )
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [
        ("2027-02-06", "holiday", "春节"),
        ("2027-02-14", "workday", "春节调休"),
    ]
