"""Sealed task content end to end (issue 16): `duban up` with no keys given makes its own,
keeps it, and everything Temporal stores of a task is sealed with it: the dev server's
SQLite file has no trace of the title, the `temporal` CLI shows it only through the codec
server with an ops token, the Web UI only for a signed-in ops person who lets it send
credentials; `duban task show` reads it; a rotated key seals from then on while the old
stays readable, and a payload whose key is gone is refused naming it."""

from __future__ import annotations

import asyncio
import base64
import random
import shutil
import stat
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.conftest import venv_binary
from tests.e2e.codec_ui import OPS, decoding, ops_directory, ui_codec_settings
from tests.e2e.stack import Stack, wait_for
from tests.e2e.test_web_ui import FLAGS
from tests.workflows.harness import make_spec
from worker.keys import FILE, read_file

pytestmark = pytest.mark.e2e

TEMPORAL = venv_binary("temporal") or "temporal"
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
TASK = """
id: {id}
title: {title}
source: 区政府常务会议纪要〔2026〕12号
assigning_unit: 区政府办公室
lead_unit: 区司法局
co_units: [区财政局, 区人社局]
standard: 形成协调办法并印发
policy: demo
"""


def a_title() -> str:
    """A title found nowhere else: eight random CJK characters after a plain prefix."""
    return "督办密封" + "".join(chr(random.randint(0x4E00, 0x9FA5)) for _ in range(8))


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`duban up` as a newcomer runs it: no payload keys in the environment."""
    root = tmp_path_factory.mktemp("sealed")
    s = Stack(root / "data", {})
    for name in ("DUBAN_CODEC_KEYS", "DUBAN_CODEC_KEY_FILE", "DUBAN_CODEC_CIPHER"):
        s.env.pop(name, None)
    s.start()
    s.ok("directory", "import", str(ops_directory(root)))
    yield s
    if s.process is not None:
        assert s.stop() == 0


def start(stack: Stack, folder: Path, title: str) -> str:
    task_id = f"T-SEAL-{random.randrange(16**8):08x}"
    path = folder / f"{task_id}.yaml"
    path.write_text(TASK.format(id=task_id, title=title), encoding="utf-8")
    assert stack.ok("task", "start", str(path)).strip() == task_id
    wait_for(lambda: len(stack.show(task_id)["events"]) >= 2)  # the worker took it up
    return task_id


def temporal_db(stack: Stack) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(stack.data_dir.glob("temporal.db*")))


def test_duban_up_makes_its_key_and_nothing_in_temporal_s_file_shows_the_title(
    sealed: Stack, tmp_path: Path
) -> None:
    path = sealed.data_dir / FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = read_file(path)
    assert len(ring.keys) == 1 and len(ring.keys[ring.current]) == 32  # AES-256
    banner = (sealed.data_dir.parent / "data-up.log").read_text(encoding="utf-8")
    assert f"  Payload keys    : {path} (aes-256-gcm, key {ring.current}, made now" in banner
    assert f"  Codec server    : http://localhost:{sealed.http_port}/codec (ops only" in banner

    title = a_title()
    task_id = start(sealed, tmp_path, title)
    assert sealed.show(task_id)["title"] == title  # the CLI reads it, through the codec
    assert title in sealed.ok("task", "list")
    # Unsealed, the task's input would hold the title as UTF-8 (pydantic's JSON)...
    [plain] = asyncio.run(pydantic_data_converter.encode([make_spec(id=task_id, title=title)]))
    assert title.encode() in plain.data

    # ...and Temporal's file has what it keeps in the clear: the id and the search attributes.
    def stored() -> bytes | None:
        data = temporal_db(sealed)
        return data if task_id.encode() in data and "区司法局".encode() in data else None

    data: bytes = wait_for(stored)
    assert title.encode() not in data
    assert title[4:].encode() not in data  # not even the random part alone


def test_the_temporal_cli_shows_the_title_only_through_the_codec_server(
    sealed: Stack, tmp_path: Path
) -> None:
    title = a_title()
    task_id = start(sealed, tmp_path, title)
    show = [TEMPORAL, "workflow", "show", "-w", task_id, "--address", sealed.address, "--detailed"]
    endpoint = ["--codec-endpoint", f"http://localhost:{sealed.http_port}/codec"]

    def temporal(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*show, *extra], capture_output=True, text=True, timeout=60)

    raw = temporal()
    assert raw.returncode == 0 and task_id in raw.stdout
    assert title not in raw.stdout and "input.payloads[0].data:" in raw.stdout
    ops = sealed.ok("token", "issue", OPS).strip()
    decoded = temporal(*endpoint, "--codec-auth", f"Bearer {ops}")
    assert decoded.returncode == 0, decoded.stderr
    assert f"input[0].spec.title: {title}" in decoded.stdout
    assert f"userMetadata.summary: {title}｜牵头 区司法局" in decoded.stdout
    assert f"memo.fields.title: {title}" in decoded.stdout

    clerk = sealed.ok("token", "issue", "chen.yi").strip()
    answer = httpx.post(
        f"{sealed.http_url}/codec/decode",
        json={"payloads": []},
        headers={"Authorization": f"Bearer {clerk}"},
    )
    assert answer.status_code == 403 and "only people with the ops role" in answer.json()["error"]
    refused = temporal(*endpoint, "--codec-auth", f"Bearer {clerk}")  # the CLI gives up
    assert refused.returncode != 0 and title not in refused.stdout + refused.stderr


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed for the browser test (make test installs it)"
    async with async_playwright() as p:
        found = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield found
        await found.close()


async def page_text(page: Page) -> str:
    parts = []
    for frame in page.frames:
        try:
            parts.append(await frame.inner_text("body"))
        except Exception:  # a frame still loading
            continue
    return "\n".join(parts)


async def test_the_web_ui_decodes_for_a_signed_in_ops_person_only(
    sealed: Stack, browser: Browser, tmp_path: Path
) -> None:
    title = a_title()
    task_id = start(sealed, tmp_path, title)
    run_id = sealed.show(task_id)["run_id"]
    settings = httpx.get(f"http://localhost:{sealed.ui_port}/api/v1/settings").json()
    assert settings["Codec"]["Endpoint"] == f"http://localhost:{sealed.http_port}/codec"
    url = f"http://localhost:{sealed.ui_port}/namespaces/default/workflows/{task_id}/{run_id}"

    async def seen(person: str | None, wanted: str) -> str:
        context = await browser.new_context(viewport={"width": 1600, "height": 1000})
        if person:
            await decoding(context, sealed, person)
        else:
            await context.add_init_script(ui_codec_settings(sealed))
        page = await context.new_page()
        decoded: list[int] = []
        page.on(
            "response", lambda r: decoded.append(r.status) if "/codec/decode" in r.url else None
        )
        await page.goto(url)
        await page.get_by_text(task_id).first.wait_for(timeout=30_000)
        for _ in range(120):
            text = await page_text(page)
            if wanted in text and decoded:
                break
            await page.wait_for_timeout(250)
        await page.get_by_test_id("user-metadata-tab").click()
        await page.wait_for_timeout(1000)
        text += "\n" + await page_text(page)
        if person == OPS:
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "ui-sealed-decoded.png"), full_page=True)
        await context.close()
        assert decoded, "the UI never asked the codec server"
        return text

    opened = await seen(OPS, title)
    assert f'"title": "{title}"' in opened  # the input
    assert f"{title}｜牵头 区司法局" in opened  # the static summary
    for person in (None, "chen.yi"):  # not signed in; signed in without the ops role
        shut = await seen(person, "binary/encrypted")
        assert title not in shut


def test_a_rotated_key_seals_from_then_on_and_a_missing_one_is_named(
    sealed: Stack, tmp_path: Path
) -> None:
    path = sealed.data_dir / FILE
    before = read_file(path)
    old_task = start(sealed, tmp_path, a_title())
    rotated = sealed.duban("codec", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    new_kid = rotated.stdout.strip()
    after = read_file(path)
    assert after.current == new_kid and list(after.keys)[1:] == list(before.keys)
    # The running worker has not been restarted: it reads the file again when it meets
    # the new key, so a task started now (sealed with it) goes on as any other.
    title = a_title()
    new_task = start(sealed, tmp_path, title)
    assert sealed.show(new_task)["title"] == title
    assert sealed.show(old_task)["stage"] == "assigned"  # the old key still opens the old
    listed = sealed.ok("codec", "keys").splitlines()
    assert listed[1].startswith(f"{new_kid}  aes-256-gcm  (current")

    kept = path.read_bytes()
    try:
        only_new = base64.b64encode(after.keys[new_kid]).decode()
        path.write_text(f"{new_kid}:{only_new}\n", encoding="utf-8")
        # A new process with only the new key: the old task's memo (its title, sealed at its
        # start with the old key) cannot be opened, and the list says which key it needs.
        refused = sealed.duban("task", "list")
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        assert f"payload sealed with key {before.current}, which is not among" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        path.write_bytes(kept)
    assert sealed.show(old_task)["id"] == old_task


def test_a_restart_keeps_the_key_and_reads_what_it_sealed(sealed: Stack, tmp_path: Path) -> None:
    title = a_title()
    task_id = start(sealed, tmp_path, title)
    kept = (sealed.data_dir / FILE).read_bytes()
    assert sealed.stop() == 0
    sealed.start()
    assert (sealed.data_dir / FILE).read_bytes() == kept
    assert sealed.show(task_id)["title"] == title
