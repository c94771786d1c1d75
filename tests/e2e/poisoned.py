"""Test-only workflows and an activity that get stuck, for `duban ops doctor` and the
worker's stuck-task watch: one whose workflow code raises, one whose signal handler raises,
one whose activity fails until the test mends it. The product never registers them."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

MENDED = {"activity": False}


@activity.defn(name="poisoned.write")
async def poisoned_write(text: str) -> str:
    if not MENDED["activity"]:
        raise RuntimeError(f"测试：写入失败 {text}\n第二行不该出现在日志里")
    return text


@workflow.defn(name="PoisonedCode")
class PoisonedCode:
    @workflow.run
    async def run(self) -> None:
        raise ValueError("测试：工作流代码出错\n第二行不该出现在日志里")


@workflow.defn(name="PoisonedSignal")
class PoisonedSignal:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.signal
    def poke(self) -> None:
        raise KeyError("测试：信号处理出错")


@workflow.defn(name="PoisonedActivity")
class PoisonedActivity:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            poisoned_write,
            "材料",
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=50),
                backoff_coefficient=1.0,
                maximum_interval=timedelta(milliseconds=50),
            ),
        )
