"""`duban codec rotate|keys`: the keys payloads are sealed with (worker.keys, worker.codec)."""

from __future__ import annotations

import argparse
import sys
from typing import get_args

from starter.cli import common
from worker import keys
from worker.settings import Cipher
from workflows.errors import DubanError


def register(sub: common.Subparsers) -> None:
    codec = sub.add_parser("codec", help="the keys Temporal payloads are sealed with")
    csub = codec.add_subparsers(dest="codec_command", required=True, metavar="COMMAND")
    rotate = csub.add_parser(
        "rotate",
        parents=[common.COMMON],
        help="a new current key on top of the key file (the data directory's codec.keys, or "
        "DUBAN_CODEC_KEY_FILE); the others stay, to open what they sealed",
    )
    rotate.add_argument(
        "--cipher",
        choices=get_args(Cipher),
        help="the cipher the new key is for (default DUBAN_CODEC_CIPHER, else aes-256-gcm)",
    )
    rotate.set_defaults(handler=_rotate)
    listed = csub.add_parser(
        "keys", parents=[common.COMMON], help="the key ids in use, the current one first"
    )
    listed.set_defaults(handler=_keys)


async def _rotate(args: argparse.Namespace) -> None:
    from worker.client import settings

    s = settings()
    if s.codec_keys is not None:
        raise DubanError(
            "DUBAN_CODEC_KEYS is set: the keys are the environment's; put a new kid:base64 "
            "first in it (`duban codec rotate` writes a key file)"
        )
    path = keys.key_file(s, common.data_dir(args))
    cipher: Cipher = args.cipher or s.codec_cipher
    kid = keys.rotate(path, cipher)
    older = len(keys.read_file(path, cipher).keys) - 1
    print(kid)
    print(
        f"duban: {path}: {kid} ({cipher}) seals from now on; {older} older key(s) kept to "
        "open what they sealed. Running workers and services take it up when restarted; "
        "until then they read it whenever they meet a payload it sealed",
        file=sys.stderr,
    )


async def _keys(args: argparse.Namespace) -> None:
    from worker.client import settings

    ring = keys.load(settings(), common.data_dir(args))
    print(f"# {ring.source}")
    for n, (kid, key) in enumerate(ring.keys.items()):
        cipher = next(c for c, size in keys.KEY_BYTES.items() if size == len(key))
        print(f"{kid}  {cipher}{'  (current: seals)' if n == 0 else ''}")
