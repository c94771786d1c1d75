"""Matters a unit raises that someone must answer in time: a difficulty (the office), a
request for more time (the approver), a disagreement (the coordination ladder). A missed
answer climbs that matter's own ladder: the supervisor is supervised too (S0 §3, §7)."""

from __future__ import annotations

import asyncio
from datetime import date

from temporalio import workflow

from workflows.contracts import TERMINAL_STAGES, Matter, MatterKind
from workflows.effects import Effects
from workflows.policy import ROLE_LABELS, Recipient
from workflows.windows import LABELS, local


class Matters(Effects):
    """Mixed into TaskWorkflow: opens matters and watches their answer windows."""

    _watchers: set[asyncio.Task[None]]

    def _ladder(self, kind: str) -> list[tuple[Recipient, str]]:
        policy = self.s.spec.policy
        windows = policy.windows_for(self.s.current_urgency)
        if kind == "disagreement":
            return [(r.level, r.answer_within) for r in policy.coordination]
        first = windows.difficulty_answer if kind == "difficulty" else windows.extension_answer
        above = [
            (r.level, r.answer_within)
            for r in policy.ladder_for(self.s.current_urgency)
            if r.level != "lead_unit"
        ]
        return [("office", first), *above]

    def _open_matter(
        self, kind: MatterKind, unit: str, answering_unit: str, text: str, until: date | None = None
    ) -> Matter:
        matter = Matter(
            key=f"{kind}:{self.s.seq}",
            kind=kind,
            raised_by=unit,
            raised_at=workflow.now(),
            text=text,
            until=until,
            ladder=self._ladder(kind),
            unit=answering_unit,
        )
        self.s.matters.append(matter)
        self._watch(matter.key)
        return matter

    def _watch(self, key: str) -> None:
        watcher = asyncio.create_task(self._watch_matter(key))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)

    def _matter(self, key: str) -> Matter:
        return next(m for m in self.s.matters if m.key == key)

    async def _watch_matter(self, key: str) -> None:
        m = self._matter(key)
        label = LABELS[m.kind]
        # Patched: before this release a matter's clock ran on through a suspension.
        pauses = self._has("matters-pause")
        while not m.resolved and self.s.stage not in TERMINAL_STAGES:
            if pauses and self.s.suspended_at is not None:  # every clock stops
                await workflow.wait_condition(
                    lambda: (
                        self.s.suspended_at is None or m.resolved or self.s.stage in TERMINAL_STAGES
                    )
                )
                continue
            role, span = m.ladder[m.level]
            if m.deadline is None:
                m.opened_at = workflow.now()
                answer_by = await self._deadline(m.opened_at, span)
                m.deadline, m.rule = answer_by.at, answer_by.rule
                unit = m.unit if m.level == 0 else self.s.spec.lead_unit
                event = self._emit(
                    "matter_opened" if m.level == 0 else "matter_escalated",
                    unit=unit,
                    level=m.level,
                    detail=f"{label}: {ROLE_LABELS[role]} answers by {local(m.deadline)}"
                    f" ({m.rule})",
                    deadline=m.deadline,
                )
                text = (
                    f"【督办】{self.s.spec.title}（{self.s.spec.id}）：{m.raised_by}提出{label}事项"
                    f"「{m.text}」，请{ROLE_LABELS[role]}于 {local(m.deadline)} 前答复。"
                )
                self._send(event, role, unit, "matter", text)
            replans = self.s.replans
            try:
                await workflow.wait_condition(
                    lambda replans=replans: (  # type: ignore[misc]
                        m.resolved
                        or self.s.stage in TERMINAL_STAGES
                        or self.s.replans != replans
                        or (pauses and self.s.suspended_at is not None)
                    ),
                    timeout=self._until(m.deadline),
                    timeout_summary=f"{label}答复截止 {local(m.deadline)}",
                )
                continue
            except TimeoutError:
                pass
            m.missed = True
            self._emit("matter_missed", unit=m.unit, level=m.level, detail=f"{label} not answered")
            m.level = min(m.level + 1, len(m.ladder) - 1)
            m.deadline = None
