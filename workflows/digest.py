"""WeeklyDigestWorkflow: started by a Schedule every Monday morning; on a day off it waits
for the next working morning (working-day rules apply), then sends every leader's digest."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

from workflows import activity_names
from workflows.effects import NOTICE_RETRY
from workflows.windows import local

SCHEDULE_ID = "duban-weekly-digest"
CRON = "0 9 * * 1"  # Mondays 09:00, in the office's time zone


@workflow.defn
class WeeklyDigestWorkflow:
    @workflow.run
    async def run(self) -> int:
        opens: datetime = await workflow.execute_activity(
            activity_names.WORKING_HOURS_FROM,
            workflow.now(),
            result_type=datetime,
            start_to_close_timeout=timedelta(seconds=10),
            summary="查询工作时间",
        )
        if opens > workflow.now():
            await workflow.sleep(opens - workflow.now(), summary=f"等待工作日 {local(opens)}")
        sent: int = await workflow.execute_activity(
            activity_names.SEND_WEEKLY_DIGEST,
            workflow.now(),
            result_type=int,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=NOTICE_RETRY,
            summary="发送督办周报",
        )
        return sent
