"""Which rules a task keeps: the release of the workflow's logic it started under.

A task lives for months, across releases. A change to the workflow's logic is a patch
(`workflow.patched`): a task already running takes the new path from the point it meets
it, and its recorded history still replays on the old one. But the SDK marks each patch in
every history that meets it, with a marker and an upsert of the `TemporalChangeVersion`
search attribute: two events and a visibility write per patch, some twenty for a task
started today, which has no old path to keep.

So a task started today asks one question when it starts, whether it began under the
current release, and keeps the answer in its state (carried over a continue-as-new). Every
patch up to that release is then simply on, without a marker; the patches asked one by one
are the ones newer than the task's release, as before.

A new release that changes workflow logic adds its patches here with the next number and
a `rules-N` marker in `started_under`; the numbers already given never change.
"""

from __future__ import annotations

from temporalio import workflow

# Every patch of TaskWorkflow, with the release of the rules that includes it.
PATCHES: dict[str, int] = {
    "warning-margin": 1,
    "difficulty-window": 1,
    "co-unit-copies": 1,
    "quiet-hours": 1,
    "replan-keeps-pause": 1,
    "matters-pause": 1,
    "new-approach-clears-extension": 1,
    "tell-office-of-failures": 1,
    "calendar-local-activities": 1,
    "one-ledger-write-per-step": 1,
    "batched-notices": 2,
    # Release 3: the renovation. Every search attribute of the task's units is upserted
    # (running tasks on their next step), and the lead unit's head is told on receipt.
    "unit-attributes": 3,
    "tell-head-on-receipt": 3,
    "bounded-ledger-batches": 3,
    "reminders-back-off": 3,
    "patient-notices": 3,
    # Release 4: speed. An event's notices go in the activity that writes it to the ledger
    # (one activity and one workflow task fewer per step); what cannot go at once is then
    # tried patiently on its own.
    "notices-with-the-ledger": 4,
    # Release 5: speed. The workflow holds the year's working days (fetched once a year a
    # run) and counts its deadlines itself, instead of a local activity per deadline.
    "calendar-held": 5,
}

CURRENT = max(PATCHES.values())


def started_under() -> int:
    """For a new task, in the workflow's first activation: the release it starts under. A
    history recorded before releases were numbered has no marker here, and answers 0."""
    for release in range(CURRENT, 0, -1):
        if workflow.patched(f"rules-{release}"):
            return release
    return 0


def has(rules: int, patch: str) -> bool:
    """Whether the patch's path applies to a task that started under release `rules`."""
    return rules >= PATCHES[patch] or workflow.patched(patch)
