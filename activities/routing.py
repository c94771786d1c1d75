"""Which channels a notice goes over: by escalation level and urgency, then the person's
own preferences and contacts. A climb to a leader (level 2 and up, not the copies to the
levels below) or an urgent notice: SMS and IM, as offices report to leaders by SMS
(S1 第八条); level 1 and copies: IM. A person who prefers a
channel first gets it too. A channel that needs no contact (the generic webhook), where
configured, always gets a copy. Channels to avoid (those that failed for the notice an
`undelivered` notice is about, or `Notice.avoid`) are left out while another channel reaches
the person; when none does, they are tried after all. What each channel is comes from
activities/channels/."""

from __future__ import annotations

from collections.abc import Collection

from activities.channels import specs
from activities.directory import Person, Reached
from workflows.contracts import Notice
from workflows.names import Channel, NoticeKind


def reachable(person: Person, channel: str, configured: Collection[str]) -> bool:
    spec = specs().get(channel)
    if spec is None or spec.contact is None or channel not in configured:
        return False
    return bool(person.contact(spec.contact))


def _im(person: Person, configured: Collection[str]) -> str | None:
    im = [name for name, spec in specs().items() if spec.im]
    ordered = [c for c in person.prefer if c in im] + [c for c in im if c not in person.prefer]
    return next((c for c in ordered if reachable(person, c, configured)), None)


def route(
    notice: Notice,
    reached: Reached | None,
    configured: Collection[str],
    avoid: Collection[str] = (),
) -> list[str]:
    avoid = set(avoid) | set(notice.avoid)
    if avoid:
        other = [c for c in configured if c not in avoid]
        chosen = _route(notice, reached, other)
        if chosen:
            return chosen
    return _route(notice, reached, configured)


def _route(notice: Notice, reached: Reached | None, configured: Collection[str]) -> list[str]:
    extra = [n for n, s in specs().items() if s.contact is None and n in configured]
    if reached is None:  # no directory yet: only a role-addressed channel can carry it
        return extra
    person = reached.person
    to_leader = notice.level >= 2 and notice.kind != NoticeKind.COPY
    wanted = [Channel.SMS, "im"] if to_leader or notice.urgency == "urgent" else ["im"]
    wanted += person.prefer[:1]
    chosen: list[str] = []
    for kind in wanted:
        channel = _im(person, configured) if kind == "im" else kind
        if channel and reachable(person, channel, configured) and channel not in chosen:
            chosen.append(channel)
    if not chosen:  # the rule's channels cannot reach this person: their own preference
        chosen = [c for c in (*person.prefer, *specs()) if reachable(person, c, configured)][:1]
    return chosen + extra
