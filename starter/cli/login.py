"""`duban login-link PERSON [--minutes N] [--send]`: a one-time link that signs PERSON in to
the pages (activities.signin), printed on stdout and, with --send, sent to them alone: by
SMS or email, the channels that reach one person. A work-group robot (WeCom, DingTalk,
Feishu) posts where the whole group reads, and the generic webhook goes to another system:
neither carries a sign-in link."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from activities import directory as store
from activities import signin
from activities.directory import Person, Reached
from starter.cli import common
from starter.db import open_pool
from workflows.contracts import Notice
from workflows.errors import DubanError
from workflows.names import NoticeKind
from workflows.windows import local

MAX_MINUTES = int(signin.MAX_LIFETIME.total_seconds() // 60)


def register(sub: common.Subparsers) -> None:
    p = sub.add_parser(
        "login-link",
        parents=[common.COMMON],
        help="a one-time link that signs PERSON in to the pages",
        description="Print a one-time sign-in link for PERSON; --send also sends it to them "
        "by SMS or email (their preference first).",
    )
    p.add_argument("person", help="the person's id in the directory")
    p.add_argument(
        "--minutes",
        type=int,
        default=15,
        help=f"valid for N minutes (default 15, at most {MAX_MINUTES})",
    )
    p.add_argument("--send", action="store_true", help="send it to the person by SMS or email")
    p.set_defaults(handler=_login_link)


def private_channel(person: Person, configured: list[str]) -> str | None:
    """The channel that reaches this person alone, their preference first: one that needs
    a contact of theirs and is not a work-group robot."""
    from activities.channels import specs

    found = specs()
    personal = [n for n, s in found.items() if s.contact is not None and not s.im]
    ordered = [c for c in person.prefer if c in personal] + personal
    for name in ordered:
        contact = found[name].contact
        if name in configured and contact is not None and person.contact(contact):
            return name
    return None


async def _login_link(args: argparse.Namespace) -> None:
    from activities.channels import build
    from worker.client import settings

    if not 1 <= args.minutes <= MAX_MINUTES:
        raise DubanError(f"--minutes {args.minutes}: give 1 to {MAX_MINUTES}")
    base = settings().action_link_url.rstrip("/")
    async with open_pool(common.data_dir(args)) as pool:
        person = (await store.load(pool)).people.get(args.person)
        if person is None:
            raise DubanError(f"no person {args.person!r} in the directory")
        channels = build() if args.send else {}
        channel = private_channel(person, list(channels)) if args.send else None
        if args.send and channel is None:
            raise DubanError(
                f"{person.id} cannot be reached alone: no SMS or email channel is set for "
                "their contacts (a group robot would show the link to the whole group); "
                "nothing was made"
            )
        now = datetime.now(UTC)
        token, expires = await signin.issue(pool, person.id, now, timedelta(minutes=args.minutes))
    url = f"{base}/login/link/{token}"
    print(url)
    print(
        f"duban: sign-in link for {person.id}, usable once until {local(expires)}",
        file=sys.stderr,
    )
    if channel is None:
        return
    text = (
        f"{person.name}，您好：请点击以下链接登录督办系统，链接仅供本人使用，"
        f"{args.minutes} 分钟内有效，只能使用一次：{url}"
    )
    notice = Notice(
        task_id="登录",
        seq=0,
        title="督办系统登录链接",
        level=0,
        role="office",
        unit="",
        kind=NoticeKind.INFO,
        text=text,
        channel=channel,
    )
    sender = channels[channel]
    try:
        await sender.send(notice, f"login-link:{token.split('_')[1]}", Reached(person, "holder"))
    except Exception as err:
        from activities.channels.base import error_text

        said = error_text(err)
        raise DubanError(f"the link was made but not sent by {channel}: {said}") from None
    finally:
        for made in channels.values():
            close = getattr(made, "close", None)
            if close is not None:
                await close()
    print(f"duban: sent to {person.name} by {channel}", file=sys.stderr)
