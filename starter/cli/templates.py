"""`duban templates import`: the notices' texts in the office's own words."""

from __future__ import annotations

import argparse
from pathlib import Path

from starter.cli import common
from starter.db import open_pool


def register(sub: common.Subparsers) -> None:
    tpl = sub.add_parser("templates", help="the notices' editable texts")
    tsub = tpl.add_subparsers(dest="templates_command", required=True, metavar="COMMAND")
    imp = tsub.add_parser("import", parents=[common.COMMON], help="replace the templates (YAML)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_import)


async def _import(args: argparse.Namespace) -> None:
    from activities import templates
    from starter.templatefile import read_templates

    found = read_templates(args.file)
    async with open_pool(common.data_dir(args)) as pool:
        await templates.replace(pool, found)
    print(f"imported templates for {', '.join(found)}")
