"""WeeklyDigestWorkflow: started by a Schedule every Monday morning; on a day off it waits
for the next working morning (working-day rules apply), then sends every leader's digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow

from workflows import activity_names
from workflows.effects import NOTICE_RETRY
from workflows.windows import local

SCHEDULE_ID = "duban-weekly-digest"
CRON = "0 9 * * 1"  # Mondays 09:00, in the office's time zone


@dataclass
class DigestOutcome:
    """What one week's digest did, leader by leader (person ids from the directory)."""

    week: str  # the ISO week, e.g. "2026-W48"
    delivered: dict[str, str] = field(default_factory=dict)  # leader -> channels it went by
    unreached: dict[str, str] = field(default_factory=dict)  # leader -> why not


@workflow.defn
class WeeklyDigestWorkflow:
    @workflow.run
    async def run(self) -> DigestOutcome:
        opens: datetime = await workflow.execute_activity(
            activity_names.WORKING_HOURS_FROM,
            workflow.now(),
            result_type=datetime,
            start_to_close_timeout=timedelta(seconds=10),
            summary="查询工作时间",
        )
        if opens > workflow.now():
            await workflow.sleep(opens - workflow.now(), summary=f"等待工作日 {local(opens)}")
        # The same activity as before, each leader's digest now sent on its own: one leader
        # who cannot be reached is named in the result, and the others still get theirs.
        outcome: DigestOutcome = await workflow.execute_activity(
            activity_names.SEND_WEEKLY_DIGEST,
            workflow.now(),
            result_type=DigestOutcome,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=NOTICE_RETRY,
            summary="发送督办周报",
        )
        for leader, why in sorted(outcome.unreached.items()):
            workflow.logger.warning("weekly digest not delivered to %s: %s", leader, why)
        return outcome
