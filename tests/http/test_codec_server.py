"""The codec server (issue 16 §2) through the real stack: what a task's history holds is
sealed, /codec/decode opens it for people with the ops role and for no one else, in
Temporal's remote codec protocol, with CORS for the Web UI's origin only."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from temporalio.api.common.v1 import Payload

from activities import directory as store
from activities.directory import Person
from starter.http.session import COOKIE, SALT, Sessions
from starter.http.settings import HttpSettings
from tests.http.conftest import Api
from tests.http.test_api import one_line_error
from worker.codec import ENCODING, KEY_ID

UI = "http://localhost:8233"
KEY = "k" * 40  # the pages' session key in these tests
TITLE = "完善行政执法协调机制"


@pytest.fixture
async def codec_api(
    serve: Callable[..., Awaitable[Api]], pool: asyncpg.Pool, people: store.Directory
) -> AsyncIterator[Api]:
    """The service, and the example directory with 周运维 (ops) in it."""
    people.people["zhou.ops"] = Person("zhou.ops", "周运维", mobile="13800000099")
    people.members.add(("ops", "*", "zhou.ops"))
    await store.replace(pool, people)
    yield await serve(HttpSettings(ui_url=UI, session_key=KEY))


def as_json(payloads: list[Payload]) -> dict[str, Any]:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def data_of(answer: httpx.Response) -> list[bytes]:
    assert answer.status_code == 200, answer.text
    return [base64.b64decode(p.get("data", "")) for p in answer.json()["payloads"]]


async def started(api: Api) -> tuple[str, list[Payload]]:
    """A task started through the API, and its first event's payloads as Temporal holds them."""
    task_id = await api.start()
    history = await api.client.get_workflow_handle(task_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    sealed = [*started.input.payloads, history.events[0].user_metadata.summary]
    sealed.append(started.memo.fields["title"])
    return task_id, sealed


async def test_what_temporal_holds_is_sealed_and_ops_reads_it(codec_api: Api) -> None:
    task_id, sealed = await started(codec_api)
    for payload in sealed:  # the input, the static summary and the memo
        assert payload.metadata["encoding"] == ENCODING
        assert TITLE.encode() not in payload.data
    answer = await codec_api.call(
        "POST",
        "/codec/decode",
        "zhou.ops",
        json=as_json(sealed),
        headers={"X-Namespace": "default"},
    )
    spec, summary, memo = data_of(answer)
    assert json.loads(spec)["spec"]["title"] == TITLE and json.loads(spec)["spec"]["id"] == task_id
    assert json.loads(summary).startswith(f"{TITLE}｜牵头 区司法局")
    assert json.loads(memo) == TITLE
    inner = answer.json()["payloads"][0]["metadata"]
    assert base64.b64decode(inner["encoding"]) == b"json/plain"  # the original encoding back
    assert answer.headers["cache-control"] == "no-store"


async def test_only_ops_may_decode_or_encode(codec_api: Api) -> None:
    _, sealed = await started(codec_api)
    body = as_json(sealed)
    for person in ("chen.yi", "wu.shi", "sun.ba"):  # a clerk, the office, the principal leader
        refused = await codec_api.call("POST", "/codec/decode", person, json=body)
        one_line_error(refused, 403, person, "only people with the ops role")
        refused = await codec_api.call("POST", "/codec/encode", person, json=body)
        one_line_error(refused, 403, "ops role")
    nobody = await codec_api.call("POST", "/codec/decode", json=body)
    one_line_error(nobody, 401, "no credential")
    forged = await codec_api.call(
        "POST", "/codec/decode", json=body, headers={"Authorization": "Bearer dbn_0_nothing"}
    )
    one_line_error(forged, 401, "unknown token")


async def test_a_signed_in_ops_session_decodes_and_others_do_not(codec_api: Api) -> None:
    """The Web UI's 'include cross-origin credentials': the pages' session cookie."""
    _, sealed = await started(codec_api)
    signer = URLSafeTimedSerializer(KEY.encode(), salt=SALT)
    for person, status in (("zhou.ops", 200), ("chen.yi", 403)):
        session = await Sessions.open(codec_api.pool, person, "token", datetime.now(UTC))
        jar = {COOKIE: signer.dumps(session.dump())}
        async with httpx.AsyncClient(base_url=codec_api.url, cookies=jar) as http:
            answer = await http.post("/codec/decode", json=as_json(sealed))
        assert answer.status_code == status, answer.text
    forged = {COOKIE: URLSafeTimedSerializer(b"x" * 40, salt=SALT).dumps({"c": "x"})}
    async with httpx.AsyncClient(base_url=codec_api.url, cookies=forged) as http:
        one_line_error(await http.post("/codec/decode", json=as_json(sealed)), 401)


async def test_encode_then_decode_and_what_cannot_be_opened(codec_api: Api) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(TITLE).encode())
    sealed = await codec_api.call("POST", "/codec/encode", "zhou.ops", json=as_json([plain]))
    [data] = data_of(sealed)
    assert TITLE.encode() not in data
    meta = sealed.json()["payloads"][0]["metadata"]
    kid = base64.b64decode(meta[KEY_ID]).decode()
    opened = await codec_api.call("POST", "/codec/decode", "zhou.ops", json=sealed.json())
    assert data_of(opened) == [plain.data]
    untouched = await codec_api.call("POST", "/codec/decode", "zhou.ops", json=as_json([plain]))
    assert data_of(untouched) == [plain.data]  # written before sealing: as it is

    tampered = sealed.json()
    raw = bytearray(data)
    raw[-1] ^= 1
    tampered["payloads"][0]["data"] = base64.b64encode(bytes(raw)).decode()
    answer = await codec_api.call("POST", "/codec/decode", "zhou.ops", json=tampered)
    one_line_error(answer, 422, f"key {kid} failed authentication")
    foreign = sealed.json()
    foreign["payloads"][0]["metadata"][KEY_ID] = base64.b64encode(b"retired-1").decode()
    answer = await codec_api.call("POST", "/codec/decode", "zhou.ops", json=foreign)
    one_line_error(answer, 422, "key retired-1, which is not among the payload keys")
    bad = await codec_api.call(
        "POST",
        "/codec/decode",
        "zhou.ops",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    one_line_error(bad, 400, "not a Payloads message")


async def test_cors_answers_the_web_ui_s_origin_only(codec_api: Api) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    for origin in (UI, "http://127.0.0.1:8233"):  # the UI on either loopback name
        answer = await codec_api.call(
            "OPTIONS", "/codec/decode", headers={**preflight, "Origin": origin}
        )
        assert answer.status_code == 204
        assert answer.headers["access-control-allow-origin"] == origin
        assert answer.headers["access-control-allow-credentials"] == "true"
        allowed = answer.headers["access-control-allow-headers"]
        assert "authorization" in allowed and "x-namespace" in allowed
        assert answer.headers["access-control-allow-methods"] == "POST"
    elsewhere = await codec_api.call(
        "OPTIONS", "/codec/decode", headers={**preflight, "Origin": "http://evil.example"}
    )
    one_line_error(elsewhere, 403, "origin http://evil.example may not call the codec server")
    assert "access-control-allow-origin" not in elsewhere.headers
    # The answers carry it too, a refusal included, so the UI can read why.
    refused = await codec_api.call(
        "POST", "/codec/decode", "chen.yi", json={"payloads": []}, headers={"Origin": UI}
    )
    assert refused.status_code == 403 and refused.headers["access-control-allow-origin"] == UI
    foreign = await codec_api.call(
        "POST",
        "/codec/decode",
        "zhou.ops",
        json={"payloads": []},
        headers={"Origin": "http://evil.example"},
    )
    assert foreign.status_code == 200 and "access-control-allow-origin" not in foreign.headers
    # No other path of the service answers another origin.
    api_preflight = await codec_api.call(
        "OPTIONS", "/api/tasks", headers={**preflight, "Origin": UI}
    )
    assert "access-control-allow-origin" not in api_preflight.headers
