"""Deadlines in the workflow: opening a window, its warning, and re-planning it when the
calendar changes, the urgency rises or an extension is approved."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

from workflows.contracts import TERMINAL_STAGES, Deadline, Stage, Window
from workflows.matters import Matters
from workflows.windows import LABELS, PLANS, anchor, local, owner


class Deadlines(Matters):
    """Mixed into TaskWorkflow: every deadline it keeps, and how each one moves."""

    _replan_reasons: list[str]

    async def _window_deadline(self, name: str, opened: datetime, span: str | None) -> Deadline:
        """A window's deadline: its span from opening, an earlier due date, a later extension."""
        if span is not None:
            deadline = await self._deadline(opened, span)
        else:
            assert self.s.current_due is not None
            deadline = await self._deadline_on(self.s.current_due)
        due = self.s.current_due
        if due is not None and span is not None and name in ("progress", "stage_every"):
            due_deadline = await self._deadline_on(due)
            if due_deadline.at < deadline.at:
                deadline = due_deadline.model_copy(update={"rule": f"due: {due_deadline.rule}"})
        if self.s.extended_until is not None:
            extended = await self._deadline_on(self.s.extended_until)
            if extended.at > deadline.at:
                deadline = extended.model_copy(update={"rule": f"extended: {extended.rule}"})
        return deadline

    async def _open_window(self) -> Window:
        with self._working():
            return await self._open_next_window()

    async def _open_next_window(self) -> Window:
        stage, generation = self.s.stage, self.s.advances  # before any await: messages move on
        plan = PLANS[stage]
        opened = anchor(self.s, plan)
        windows = self.s.spec.policy.windows_for(self.s.current_urgency)
        span: str = getattr(windows, plan.name)
        deadline = await self._window_deadline(plan.name, opened, span)
        name = "due" if deadline.rule.startswith("due: ") else plan.name
        self.s.window = Window(
            name=name,
            awaiting=plan.awaiting,
            owner_unit=owner(self.s, plan),
            opened_at=opened,
            deadline=deadline.at,
            rule=deadline.rule,
            stage=stage,
            generation=generation,
            span=span,
            fallback=deadline.fallback,
        )
        if self._has("warning-margin"):
            await self._plan_warning(self.s.window)
        if stage == Stage.RECEIVED and self._has("difficulty-window"):
            until = await self._deadline(opened, windows.difficulty)
            self.s.difficulty_until = until.at
        self._note_fallback(deadline)
        self._emit(
            "deadline_set",
            unit=self.s.window.owner_unit,
            detail=f"{LABELS[name]}: {deadline.rule}",
            deadline=deadline.at,
        )
        return self.s.window

    async def _plan_warning(self, w: Window) -> None:
        margin = self.s.spec.policy.warning_margin
        w.warn_at = max(await self._margin_start(w.deadline, margin), w.opened_at)
        w.warned = w.warn_at <= w.opened_at  # opened inside the margin: yellow, no warning

    def _note_fallback(self, deadline: Deadline) -> None:
        if deadline.fallback:
            workflow.logger.warning(
                "deadline for %s counted Monday-Friday: no published calendar (%s)",
                self.s.spec.id,
                deadline.rule,
            )

    def _warn(self, w: Window) -> None:
        w.warned = True
        event = self._emit(
            "warned",
            unit=w.owner_unit,
            detail=f"{LABELS[w.name]} closes {local(w.deadline)}",
            deadline=w.deadline,
        )
        text = (
            f"【督办预警】{self.s.spec.title}（{self.s.spec.id}）：{LABELS[w.name]}将于 "
            f"{local(w.deadline)} 截止，请{w.owner_unit}按时{w.awaiting}。"
        )
        self._send(event, "lead_unit", w.owner_unit, "warning", text)

    async def _replan_forever(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._replan_reasons))
            reasons = "; ".join(self._replan_reasons)
            await self._replan(reasons)
            self._replan_reasons.clear()

    async def _replan(self, reason: str) -> None:
        w = self.s.window
        if w is None or self.s.stage in TERMINAL_STAGES or w.stage != self.s.stage:
            return
        windows = self.s.spec.policy.windows_for(self.s.current_urgency)
        span = getattr(windows, w.name, None) if w.name != "due" else None
        new = await self._window_deadline(w.name, w.opened_at, span)
        # A suspension's pause stays added, whatever else moves (patched: before this
        # release a re-plan dropped it and made a resumed task overdue).
        if w.paused and self._has("replan-keeps-pause"):
            new = new.model_copy(
                update={
                    "at": new.at + timedelta(seconds=w.paused),
                    "rule": f"{new.rule}; +{_hours(w.paused)} suspended",
                }
            )
        for m in self.s.matters:
            if not m.resolved and m.deadline is not None and m.opened_at is not None:
                moved = await self._deadline(m.opened_at, m.ladder[m.level][1])
                pause = timedelta(seconds=m.paused)
                if m.paused and not self._has("replan-keeps-pause"):
                    pause = timedelta(0)
                m.deadline, m.rule = moved.at + pause, moved.rule
        if new.at == w.deadline and new.fallback == w.fallback:
            self.s.replans += 1  # matters may have moved
            return
        old = w.deadline
        w.deadline, w.rule, w.fallback, w.span = new.at, new.rule, new.fallback, span
        if w.warn_at is not None:
            await self._plan_warning(w)
        if w.missed and new.at > workflow.now():  # the window is open again: the climb stops
            w.missed = False
            self.s.escalation_level, self.s.level_deadline, self.s.held_at_level = 0, None, 0
        self._note_fallback(new)
        self.s.replans += 1
        self._emit(
            "replanned",
            unit=w.owner_unit,
            detail=f"{LABELS[w.name]}: {local(old)} → {local(new.at)} ({reason}; {new.rule})",
            deadline=new.at,
        )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}h"
