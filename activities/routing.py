"""Which channels a notice goes over: by escalation level and urgency, then the person's
own preferences and contacts. A climb to a leader (level 2 and up, not the copies to the
levels below) or an urgent notice: SMS and IM, as offices report to leaders by SMS
(S1 第八条); level 1 and copies: IM. A person who prefers a
channel first gets it too. The generic webhook, where configured, always gets a copy."""

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
    return channel in configured and bool(getattr(person, CONTACT.get(channel, ""), None))


def _im(person: Person, configured: Collection[str]) -> str | None:
    ordered = [c for c in person.prefer if c in IM] + [c for c in IM if c not in person.prefer]
    return next((c for c in ordered if reachable(person, c, configured)), None)


def route(notice: Notice, reached: Reached | None, configured: Collection[str]) -> list[str]:
    extra = ["webhook"] if "webhook" in configured else []
    if reached is None:  # no directory yet: only the role-addressed webhook can carry it
        return extra
    person = reached.person
    to_leader = notice.level >= 2 and notice.kind != "copy"
    wanted = ["sms", "im"] if to_leader or notice.urgency == "urgent" else ["im"]
    wanted += person.prefer[:1]
    chosen: list[str] = []
    for kind in wanted:
        channel = _im(person, configured) if kind == "im" else kind
        if channel and reachable(person, channel, configured) and channel not in chosen:
            chosen.append(channel)
    if not chosen:  # the rule's channels cannot reach this person: their own preference
        chosen = [c for c in (*person.prefer, *CONTACT) if reachable(person, c, configured)][:1]
    return chosen + extra
