"""Departments' messages, once accepted: what each one changes and records."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.contracts import Accepted, Message, Stage
from workflows.deadlines import Deadlines
from workflows.messages import MOVES_TO, action_of, approver, is_co_receipt, refusal

EVENT_KIND = {
    "receive": "received",
    "deploy": "deployed",
    "report:plan": "reported_plan",
    "report:progress": "reported_progress",
    "report:completion": "reported_completion",
    "verify": "verified",
    "reject": "rejected",
    "withdraw": "withdrawn",
}


class Handlers(Deadlines):
    """Mixed into TaskWorkflow: the effect of each accepted message."""

    def _apply(self, name: str, msg: Message) -> Accepted:
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(msg)
            return Accepted(seq=self.s.seq, stage=self.s.stage)
        if is_co_receipt(name, msg, self.s):
            self.s.co_received.append(msg.unit)
            event = self._emit("co_received", unit=msg.unit, by=msg.by, detail=msg.text)
            return Accepted(seq=event.seq, stage=self.s.stage)
        action = action_of(name, msg)
        self.s.stage = MOVES_TO[action]
        self.s.advances += 1
        self.s.extended_until = None  # an extension is for the window it was asked in
        if name == "report":
            self.s.last_report = msg.text
        if name == "reject":
            self.s.rework_reason = msg.text
        event = self._emit(EVENT_KIND[action], unit=msg.unit, by=msg.by, detail=msg.text)
        return Accepted(seq=event.seq, stage=self.s.stage)

    def _on_ack(self, msg: Message) -> None:
        self.s.acks += 1
        self.s.held_at_level = self.s.escalation_level
        self._emit(
            "acknowledged", unit=msg.unit, by=msg.by, level=self.s.escalation_level, detail=msg.text
        )

    def _on_raise_urgency(self, msg: Message) -> None:
        old = self.s.current_urgency
        self.s.urgency = msg.urgency
        self._emit("urgency_raised", unit=msg.unit, by=msg.by, detail=f"{old} → {msg.urgency}")
        self._replan_reasons.append(f"urgency raised to {msg.urgency}")

    def _on_difficulty(self, msg: Message) -> None:
        self._emit("difficulty_reported", unit=msg.unit, by=msg.by, detail=msg.text)
        self._open_matter("difficulty", msg.unit, self.s.spec.assigning_unit, msg.text)

    def _on_answer_difficulty(self, msg: Message) -> None:
        matter = self.s.open_matter("difficulty")
        assert matter is not None
        matter.resolved, matter.resolution = True, f"{msg.decision}: {msg.text}".rstrip(": ")
        self._emit("difficulty_answered", unit=msg.unit, by=msg.by, detail=matter.resolution)
        if msg.decision == "suspend":
            self.s.suspended_at = workflow.now()
            self.s.replans += 1
            self._emit("suspended", unit=msg.unit, by=msg.by, detail=msg.text)
        elif msg.decision == "new_approach":
            self.s.stage = Stage.DEPLOYED  # a new plan is due, counted from now
            self.s.advances += 1
            if self._has("new-approach-clears-extension"):
                self.s.extended_until = None  # an extension was for the old approach
            self._emit("new_approach", unit=msg.unit, by=msg.by, detail=msg.text)

    def _on_resume(self, msg: Message) -> None:
        assert self.s.suspended_at is not None
        paused = workflow.now() - self.s.suspended_at
        self.s.suspended_at = None
        w = self.s.window
        if w is not None:  # every clock stood still: move each by the pause
            w.deadline += paused
            w.warn_at = w.warn_at + paused if w.warn_at else None
            w.paused += paused.total_seconds()  # kept, so a later re-plan keeps it too
        for m in self.s.matters if self._has("matters-pause") else []:
            if not m.resolved and m.deadline is not None:
                m.deadline += paused
                m.paused += paused.total_seconds()
        if self.s.level_deadline is not None:
            self.s.level_deadline += paused
        self.s.replans += 1
        self._emit(
            "resumed",
            unit=msg.unit,
            by=msg.by,
            detail=f"paused {_span(paused)}; {msg.text}",
            deadline=w.deadline if w else None,
        )

    def _on_request_extension(self, msg: Message) -> None:
        self._emit(
            "extension_requested", unit=msg.unit, by=msg.by, detail=f"until {msg.until}: {msg.text}"
        )
        self._open_matter("extension", msg.unit, approver(self.s), msg.text, until=msg.until)

    def _on_decide_extension(self, msg: Message) -> None:
        matter = self.s.open_matter("extension")
        assert matter is not None and matter.until is not None
        matter.resolved, matter.resolution = True, f"{msg.decision}: {msg.text}".rstrip(": ")
        if msg.decision == "approve":
            self.s.extended_until = matter.until
            if self.s.current_due is not None:
                self.s.due = matter.until
            self._emit(
                "extension_approved", unit=msg.unit, by=msg.by, detail=f"until {matter.until}"
            )
            self._replan_reasons.append(f"extension to {matter.until} approved by {msg.unit}")
        else:
            self._emit("extension_refused", unit=msg.unit, by=msg.by, detail=msg.text)

    def _on_contribute(self, msg: Message) -> None:
        self.s.contributions += 1
        event = self._emit("contributed", unit=msg.unit, by=msg.by, detail=msg.text)
        text = (
            f"【督办】{self.s.spec.title}（{self.s.spec.id}）：{msg.unit}报送协办情况：{msg.text}"
        )
        self._send(event, "lead_unit", self.s.spec.lead_unit, "info", text)

    def _on_disagree(self, msg: Message) -> None:
        self._emit("disagreement_raised", unit=msg.unit, by=msg.by, detail=msg.text)
        self._open_matter("disagreement", msg.unit, self.s.spec.assigning_unit, msg.text)

    def _on_resolve(self, msg: Message) -> None:
        matter = self.s.open_matter("disagreement")
        assert matter is not None
        matter.resolved, matter.resolution = True, msg.text
        role = matter.ladder[matter.level][0]
        self._emit("disagreement_resolved", unit=msg.unit, by=msg.by, detail=f"{role}: {msg.text}")

    def _on_signal(self, name: str, msg: Message) -> None:
        reason = refusal(name, msg, self.s, workflow.now())
        if reason is None:
            self._apply(name, msg)
        else:
            workflow.logger.info("refused %s signal: %s", name, reason)
            self._emit("refused", unit=msg.unit, by=msg.by, detail=f"{name}: {reason}")


def _span(delta: timedelta) -> str:
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    return f"{hours}h{rest // 60:02d}m"
