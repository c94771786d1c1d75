"""What an ops person does for the Web UI of `duban up` to show sealed payloads decoded:
be in the directory with the ops role, sign in to duban's pages on `localhost`, and let the
UI send credentials to the codec server (README, "Sealed payloads")."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import BrowserContext

from tests.e2e.stack import Stack
from tests.unit.test_directory import EXAMPLE

OPS = "zhou.ops"


def ops_directory(folder: Path) -> Path:
    """The example directory with 周运维 holding the ops role."""
    path = folder / "directory-with-ops.yaml"
    people = EXAMPLE.read_text(encoding="utf-8").replace(
        "people:\n", f'people:\n  - {{id: {OPS}, name: 周运维, mobile: "13800000099"}}\n', 1
    )
    # The example names its own ops person; this one is added beside them.
    people = people.replace("\nops: [", f"\nops: [{OPS}, ", 1)
    path.write_text(people, encoding="utf-8")
    return path


def ui_codec_settings(stack: Stack) -> str:
    """A script setting what an ops person sets once in the Web UI's Codec Server dialog
    (kept in the browser's localStorage): the endpoint, 'Include cross-origin credentials'
    and 'use my browser's setting'. The dev server's own setting (--ui-codec-endpoint)
    cannot say 'include credentials'."""
    values = {
        "endpoint": f"http://localhost:{stack.http_port}/codec",
        "includeCredentials": True,
        "passAccessToken": False,
        "overrideRemoteCodecConfiguration": True,
    }
    sets = "".join(
        f"localStorage.setItem({json.dumps(k)}, {json.dumps(json.dumps(v))});"
        for k, v in values.items()
    )
    return f'if (location.port === "{stack.ui_port}") {{ {sets} }}'


async def sign_in(context: BrowserContext, stack: Stack, person: str) -> None:
    """Sign in to duban's pages with a personal token, on localhost (the UI's site)."""
    page = await context.new_page()
    await page.goto(f"http://localhost:{stack.http_port}/login")
    await page.fill("#token", stack.ok("token", "issue", person).strip())
    await page.click("button[type=submit]")
    await page.wait_for_url("**/desk**")
    await page.close()


async def decoding(context: BrowserContext, stack: Stack, person: str) -> None:
    """`person` signed in, and the UI told to send the session to the codec server."""
    await sign_in(context, stack, person)
    await context.add_init_script(ui_codec_settings(stack))
