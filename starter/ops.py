"""`duban ops setup`: register duban's search attributes on an existing cluster, safely
twice, and refuse clearly where one exists with another type."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
)
from temporalio.service import RPCError

from workflows.contracts import SEARCH_ATTRIBUTES
from workflows.digest import CRON, SCHEDULE_ID, WeeklyDigestWorkflow
from workflows.errors import DubanError


def type_name(value: int) -> str:
    """INDEXED_VALUE_TYPE_KEYWORD_LIST -> KeywordList, as the temporal CLI writes it."""
    words = (
        IndexedValueType.Name(IndexedValueType.ValueType(value))
        .removeprefix("INDEXED_VALUE_TYPE_")
        .split("_")
    )
    return "".join(w.capitalize() for w in words)


def dev_server_flags() -> list[str]:
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={type_name(key.indexed_value_type)}"]
    return flags


async def setup(client: Client) -> list[str]:
    """Add what is missing; return one line per attribute saying what was done."""
    namespace = client.namespace
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as err:
        raise DubanError(f"cannot list search attributes in {namespace}: {err}") from err
    existing = {**listed.system_attributes, **listed.custom_attributes}
    missing: dict[str, IndexedValueType.ValueType] = {}
    lines = []
    for key in SEARCH_ATTRIBUTES:
        wanted = IndexedValueType.ValueType(int(key.indexed_value_type))
        have = existing.get(key.name)
        if have is None:
            missing[key.name] = wanted
            lines.append(f"{key.name}: added ({type_name(wanted)})")
        elif have != wanted:
            raise DubanError(
                f"search attribute {key.name} exists as {type_name(have)}; duban needs "
                f"{type_name(wanted)}: nothing was changed"
            )
        else:
            lines.append(f"{key.name}: already there ({type_name(wanted)})")
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
        except RPCError as err:
            raise DubanError(f"cannot add search attributes: {err}") from err
    return lines


async def ensure_digest_schedule(client: Client, task_queue: str, tz: str) -> str:
    """The weekly digest's Schedule (Mondays 09:00 office time); left as it is if present."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            WeeklyDigestWorkflow.run, id=f"{SCHEDULE_ID}-run", task_queue=task_queue
        ),
        spec=ScheduleSpec(cron_expressions=[CRON], time_zone_name=tz),
    )
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        return f"schedule {SCHEDULE_ID}: already there"
    except RPCError as err:  # e.g. no permission on a shared cluster: say so, go on
        return f"schedule {SCHEDULE_ID}: NOT created ({err}); run `duban ops setup` later"
    return f"schedule {SCHEDULE_ID}: created ({CRON}, {tz})"
