"""What the service keeps between requests and what it reads every time (issue 17): the
directory is held until its version in PostgreSQL moves, so an import or a leave is obeyed
on the very next request; a token's row is read on every request, so a revoked or expired
token is refused at once; when a token was last used is written once a minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg

from activities import directory as store
from activities import identity
from activities.directory import Person
from starter.directoryfile import add_leave
from tests.http.conftest import Api
from tests.http.test_api import one_line_error


def _copy(d: store.Directory) -> store.Directory:
    return store.Directory(
        people=dict(d.people),
        units=set(d.units),
        holders=dict(d.holders),
        absences=list(d.absences),
        members=set(d.members),
    )


async def test_the_held_directory_is_read_again_only_when_its_version_moves(
    pool: asyncpg.Pool, people: store.Directory
) -> None:
    held = store.Held()
    first = await held.now(pool)
    assert await held.now(pool) is first  # nothing changed: not read again
    assert "chen.yi" in first.people

    # An import is one transaction however many rows it writes: the version moves by one.
    seen = await store.version(pool)
    moved = _copy(people)
    del moved.people["ma.yi"]
    moved.holders.pop(("unit_head", "区教育局"))
    moved.members.discard(("member", "区教育局", "ma.yi"))
    await store.replace(pool, moved)
    assert await store.version(pool) == seen + 1
    after_import = await held.now(pool)
    assert after_import is not first and "ma.yi" not in after_import.people
    assert await held.now(pool) is after_import

    # `duban leave add` writes one absence; a hand-typed UPDATE moves it too.
    today = date.today()
    leave = {"person": "zhang.san", "from": today, "to": today + timedelta(days=1)}
    absence = add_leave(await store.load(pool), "leave", {**leave, "stand_in": "wang.wu"})
    await store.add_absences(pool, [absence])
    after_leave = await held.now(pool)
    assert after_leave is not after_import
    assert [a.stand_in_id for a in after_leave.absences if a.person_id == "zhang.san"] == [
        "wang.wu"
    ]
    await pool.execute("UPDATE people SET name = '张三丰' WHERE id = 'zhang.san'")
    assert (await held.now(pool)).people["zhang.san"].name == "张三丰"
    # Reading or writing anything else moves nothing.
    before = await store.version(pool)
    await store.load(pool)
    await pool.execute("UPDATE api_tokens SET name = name")
    assert await store.version(pool) == before


async def test_a_directory_import_changes_who_may_act_on_the_next_request(
    api: Api, people: store.Directory
) -> None:
    task_id = await api.start()
    await api.ledger(task_id)  # its row in the ledger: the messages are decided on it
    path = f"/api/tasks/{task_id}"
    assert (await api.call("GET", path, "chen.yi")).status_code == 200  # held from here on

    # chen.yi moves to 区教育局 (on no unit of the task), bai.shi joins 区司法局.
    newcomer = await api.token("bai.shi")
    headers = {"Authorization": f"Bearer {newcomer}"}
    refused = await api.call("POST", f"{path}/receive", headers=headers)
    one_line_error(refused, 401, "bai.shi is not in the directory")
    moved = _copy(people)
    moved.members.discard(("member", "区司法局", "chen.yi"))
    moved.members.add(("member", "区教育局", "chen.yi"))
    moved.people["bai.shi"] = Person("bai.shi", "白石", mobile="13800000012")
    moved.members.add(("member", "区司法局", "bai.shi"))
    before = await api.ledger(task_id)
    await store.replace(api.pool, moved)

    gone = await api.call("POST", f"{path}/receive", "chen.yi")
    one_line_error(gone, 404, f"no task {task_id}")  # not theirs to see any more
    assert await api.ledger(task_id) == before
    assert (await api.state(task_id)).stage == "assigned"
    signed = await api.call("POST", f"{path}/receive", headers=headers)
    assert signed.status_code == 200, signed.text
    row = await api.row(task_id, signed)
    assert (row["kind"], row["unit"], row["actor"], row["role"]) == (
        "received",
        "区司法局",
        "bai.shi",
        "member",
    )


async def test_a_leave_lets_the_stand_in_act_on_the_next_request(
    api: Api, people: store.Directory
) -> None:
    task_id = await api.start()
    path = f"/api/tasks/{task_id}"
    received = await api.call("POST", f"{path}/receive", "chen.yi")
    assert received.status_code == 200, received.text
    # ma.yi heads 区教育局, on no unit of the task: the task is not theirs to see.
    one_line_error(await api.call("POST", f"{path}/deploy", "ma.yi"), 404, "no task")

    # zhang.san (head of the lead unit) goes on leave with ma.yi standing in, as `duban
    # leave add` records it: one absence added, nothing else written.
    today = date.today()
    leave = {"person": "zhang.san", "from": today - timedelta(days=1), "to": today + timedelta(1)}
    absence = add_leave(_copy(people), "leave", {**leave, "stand_in": "ma.yi"})
    await store.add_absences(api.pool, [absence])

    deployed = await api.call("POST", f"{path}/deploy", "ma.yi")
    assert deployed.status_code == 200, deployed.text
    row = await api.row(task_id, deployed)
    assert (row["kind"], row["actor"], row["role"], row["stand_in_for"]) == (
        "deployed",
        "ma.yi",
        "unit_head",
        "zhang.san",
    )


async def test_a_revoked_or_expired_token_is_refused_on_the_next_request(api: Api) -> None:
    task_id = await api.start()
    path = f"/api/tasks/{task_id}"
    for how in ("revoked", "expired"):
        token = await api.token("chen.yi")
        token_id = token.split("_")[1]
        headers = {"Authorization": f"Bearer {token}"}
        assert (await api.call("GET", path, headers=headers)).status_code == 200
        if how == "revoked":
            assert await identity.revoke(api.pool, token_id, datetime.now(UTC)) is not None
        else:
            await api.pool.execute(
                "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
                token_id,
            )
        before = await api.ledger(task_id)
        refused = await api.call("POST", f"{path}/receive", headers=headers)
        one_line_error(refused, 401, f"token {token_id} is {how}")
        assert await api.ledger(task_id) == before
        assert (await api.state(task_id)).stage == "assigned"


async def test_when_a_token_was_last_used_is_written_once_a_minute(api: Api) -> None:
    token = await api.token("chen.yi")
    token_id = token.split("_")[1]
    headers = {"Authorization": f"Bearer {token}"}

    async def last_used() -> datetime | None:
        found: datetime | None = await api.pool.fetchval(
            "SELECT last_used_at FROM api_tokens WHERE id = $1", token_id
        )
        return found

    assert await last_used() is None
    assert (await api.call("GET", "/api/tasks", headers=headers)).status_code == 200
    first = await last_used()
    assert first is not None
    # Used 30 seconds ago: this use is not written.
    await api.pool.execute(
        "UPDATE api_tokens SET last_used_at = now() - interval '30 seconds' WHERE id = $1",
        token_id,
    )
    recent = await last_used()
    assert (await api.call("GET", "/api/tasks", headers=headers)).status_code == 200
    assert await last_used() == recent
    # Used two minutes ago: this use is written.
    await api.pool.execute(
        "UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE id = $1",
        token_id,
    )
    stale = await last_used()
    assert (await api.call("GET", "/api/tasks", headers=headers)).status_code == 200
    latest = await last_used()
    assert stale is not None and latest is not None and latest > stale + timedelta(minutes=1)
