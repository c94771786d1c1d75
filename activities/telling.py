"""A step's write to the ledger and its notices in one activity (release 4).

Each step of a task used to cost two activities, the ledger write and the notices, each
with its own workflow task to schedule and to take its result: in a deadline storm, the
server's time. Here the events go in first (the notices' action links read the task from
the ledger), then each notice is tried once over the channels that answer, waiting at no
gate. What cannot go at once comes back `waiting`, and the workflow tries it patiently on
its own (notify.send_notices): the next write never waits for a channel that is away."""

from __future__ import annotations

import asyncio

from temporalio import activity

from activities.channels.base import error_text
from activities.ledger import LedgerActivities
from activities.notify import NotifyActivities, heartbeating, rejected
from workflows import activity_names
from workflows.contracts import LedgerBatch, NoticeOutcome


class TellingActivities:
    def __init__(self, ledger: LedgerActivities, notify: NotifyActivities) -> None:
        self.ledger = ledger
        self.notify = notify

    @activity.defn(name=activity_names.RECORD_AND_NOTIFY)
    async def record_and_notify(self, batch: LedgerBatch) -> list[NoticeOutcome]:
        """The events written (a retry writes nothing twice), then every notice tried once.
        A failure of the ledger fails the activity, retried until PostgreSQL answers; a
        notice never does: it is delivered, refused (`failed`), or left `waiting`."""
        async with heartbeating():
            await self.ledger.record_events(batch)
            if not batch.notices:
                return []
            directory = await self.notify.directory.now(self.notify.pool)
            wording = await self.notify.wording(batch.notices)
            at_once = asyncio.get_running_loop().time()
            outcomes: list[NoticeOutcome] = []
            for notice in batch.notices:
                try:
                    sent = await self.notify.send_one(notice, directory, wording, at_once)
                except Exception as err:
                    if rejected(err):
                        sent = self.notify.failed(notice, str(err), err)
                    else:
                        sent = self.notify.outcome(notice, "waiting", 0, error_text(err))
                outcomes.append(sent)
            return outcomes
