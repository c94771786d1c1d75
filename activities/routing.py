"""Which channels a notice goes over: by escalation level and urgency, then the person's
own preferences and contacts. Level 3 or urgent: SMS and IM; level 2: IM and email;
otherwise IM. The generic webhook, where configured, always gets a copy for other systems."""

from __future__ import annotations

from collections.abc import Collection

from activities.directory import Person, Reached
from workflows.contracts import Notice

IM = ("wecom", "dingtalk", "feishu")
CONTACT = {
    "sms": "mobile",
    "email": "email",
    "wecom": "wecom",
    "dingtalk": "dingtalk",
    "feishu": "feishu",
}


def reachable(person: Person, channel: str, configured: Collection[str]) -> bool:
    return channel in configured and bool(getattr(person, CONTACT[channel], None))


def _im(person: Person, configured: Collection[str]) -> str | None:
    ordered = [c for c in person.prefer if c in IM] + [c for c in IM if c not in person.prefer]
    return next((c for c in ordered if reachable(person, c, configured)), None)


def route(notice: Notice, reached: Reached | None, configured: Collection[str]) -> list[str]:
    extra = ["webhook"] if "webhook" in configured else []
    if reached is None:  # no directory yet: only the role-addressed webhook can carry it
        return extra
    person = reached.person
    if notice.level >= 3 or notice.urgency == "urgent":
        wanted = ["sms", "im"]
    elif notice.level == 2:
        wanted = ["im", "email"]
    else:
        wanted = ["im"]
    chosen: list[str] = []
    for kind in wanted:
        channel = _im(person, configured) if kind == "im" else kind
        if channel and reachable(person, channel, configured) and channel not in chosen:
            chosen.append(channel)
    if not chosen:  # the rule's channels cannot reach this person: their own preference
        chosen = [c for c in (*person.prefer, *CONTACT) if reachable(person, c, configured)][:1]
    return chosen + extra
