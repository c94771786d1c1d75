"""`duban ops setup` against real dev servers: adds what is missing, twice is harmless,
and a clashing type is refused with nothing changed."""

from __future__ import annotations

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from starter.ops import setup
from tests.conftest import venv_binary
from workflows.errors import DubanError


async def _custom(client: Client) -> dict[str, int]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return dict(listed.custom_attributes)


async def test_setup_adds_every_attribute_and_is_safe_twice() -> None:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"), ui=False
    ) as env:
        first = await setup(env.client)
        assert all(line.endswith(")") and ": added (" in line for line in first)
        custom = await _custom(env.client)
        assert {"TaskStage", "Light", "CoUnits", "NextDeadline"} <= custom.keys()
        second = await setup(env.client)
        assert all(": already there (" in line for line in second)


async def test_a_clashing_type_is_refused_and_nothing_is_added() -> None:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        ui=False,
        search_attributes=[SearchAttributeKey.for_int("Light")],
    ) as env:
        with pytest.raises(DubanError, match="Light exists as Int; duban needs Keyword"):
            await setup(env.client)
        assert "TaskStage" not in await _custom(env.client)


async def test_the_weekly_digest_schedule_is_created_once() -> None:
    from starter.ops import ensure_digest_schedule
    from workflows.digest import CRON, SCHEDULE_ID

    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"), ui=False
    ) as env:
        first = await ensure_digest_schedule(env.client, "duban", "Asia/Shanghai")
        assert first == f"schedule {SCHEDULE_ID}: created ({CRON}, Asia/Shanghai)"
        assert await ensure_digest_schedule(env.client, "duban", "Asia/Shanghai") == (
            f"schedule {SCHEDULE_ID}: already there"
        )
        described = await env.client.get_schedule_handle(SCHEDULE_ID).describe()
        assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
