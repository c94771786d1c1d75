"""`duban token issue|list|revoke`: personal tokens for the HTTP API, for people and for the
office's systems acting as a person (activities.identity)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from activities import directory as store
from activities import identity
from starter import commands
from starter.cli import common
from starter.db import open_pool
from workflows.errors import DubanError
from workflows.windows import local


def register(sub: common.Subparsers) -> None:
    token = sub.add_parser("token", help="personal tokens for the HTTP API")
    tsub = token.add_subparsers(dest="token_command", required=True, metavar="COMMAND")
    issue = tsub.add_parser(
        "issue",
        parents=[common.COMMON],
        help="a new token for PERSON, printed once on stdout (only its hash is kept)",
    )
    issue.add_argument("person", help="the person's id in the directory")
    issue.add_argument("--days", type=int, default=90, help="valid for N days (default 90)")
    issue.add_argument("--name", default="", help="a label: whose desk or which system")
    issue.set_defaults(handler=_issue)
    lst = tsub.add_parser("list", parents=[common.COMMON], help="tokens, and whether each holds")
    lst.add_argument("person", nargs="?", help="only this person's")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_list)
    revoke = tsub.add_parser("revoke", parents=[common.COMMON], help="revoke token ID at once")
    revoke.add_argument("id", help="the token's id (the part after dbn_)")
    revoke.set_defaults(handler=_revoke)


async def _issue(args: argparse.Namespace) -> None:
    if not 1 <= args.days <= identity.MAX_DAYS:
        raise DubanError(f"--days {args.days}: give 1 to {identity.MAX_DAYS}")
    async with open_pool(common.data_dir(args)) as pool:
        if args.person not in (await store.load(pool)).people:
            raise DubanError(f"no person {args.person!r} in the directory")
        token, info = await identity.issue(
            pool, args.person, args.days, args.name, datetime.now(UTC)
        )
    print(token)
    print(
        f"duban: token {info.id} for {info.person_id}, valid until {local(info.expires_at)}; "
        f"it is shown only now (revoke with `duban token revoke {info.id}`)",
        file=sys.stderr,
    )


async def _list(args: argparse.Namespace) -> None:
    async with open_pool(common.data_dir(args)) as pool:
        tokens = await identity.listed(pool, args.person)
    now = datetime.now(UTC)
    if args.json:
        rows = [
            {
                "id": t.id,
                "person": t.person_id,
                "name": t.name,
                "state": t.state(now),
                "created_at": t.created_at,
                "expires_at": t.expires_at,
                "revoked_at": t.revoked_at,
                "last_used_at": t.last_used_at,
            }
            for t in tokens
        ]
        print(commands.dumps(rows))
        return
    if not tokens:
        print("no tokens")
        return
    for t in tokens:
        used = local(t.last_used_at) if t.last_used_at else "never used"
        print(
            f"{t.id}  {t.person_id:<12} {t.state(now):<8} until {local(t.expires_at)}  "
            f"{used:<16}  {t.name}".rstrip()
        )


async def _revoke(args: argparse.Namespace) -> None:
    async with open_pool(common.data_dir(args)) as pool:
        info = await identity.revoke(pool, args.id, datetime.now(UTC))
    if info is None:
        raise DubanError(f"no token {args.id}")
    print(f"token {info.id} of {info.person_id} revoked; it proves nothing from now on")
