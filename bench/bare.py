"""The bare side of each comparison: workflows that do the least Temporal allows. They run
on the same sandbox and cache as duban's worker (bench/bare_worker.py), so a ratio measures
duban's own work and nothing else. Like workflows/, this module imports only what the
sandbox may load."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

from workflows.contracts import Accepted, Message, Stage


@workflow.defn(name="BareStart")
class BareStart:
    """Starts: one no-op activity, then done."""

    @workflow.run
    async def run(self, key: str) -> None:
        await workflow.execute_activity(
            "bare_noop", key, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name="BareTimer")
class BareTimer:
    """Storm: sleep until `at`, then record one row."""

    @workflow.run
    async def run(self, key: str, at: datetime) -> None:
        await workflow.sleep(max(at - workflow.now(), timedelta(0)))
        await workflow.execute_activity(
            "bare_mark", key, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name="BareOpen")
class BareOpen:
    """Open tasks: record one row, as duban's first ledger write, then wait a year."""

    @workflow.run
    async def run(self, key: str) -> None:
        await workflow.execute_activity(
            "bare_mark", key, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.sleep(timedelta(days=365))


@workflow.defn(name="BareSignoff")
class BareSignoff:
    """Sign-off: an update named like duban's that only sets a flag."""

    def __init__(self) -> None:
        self.received = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.received)

    @workflow.update(name="receive")
    def receive(self, msg: Message) -> Accepted:
        self.received = True
        return Accepted(seq=1, stage=Stage.RECEIVED)
