"""Every file a person hands duban is read here, and only here: a regular file (never a
device, a FIFO or a directory), never read past its kind's size, decoded as the kind allows,
without control characters; YAML without anchors or aliases, nested no deeper than any of
duban's files needs, with no key given twice; JSON likewise. Each refusal is one line.

The bounds, by kind of file (`Kind` below): a task file 1 MiB, a policy file 64 KiB, a
calendar 1 MiB, a directory 4 MiB, a templates file 256 KiB, stack.json 64 KiB. YAML is
nested at most 8 collections deep and holds at most the kind's number of values: PyYAML's
own parser takes some 700 bytes and 12 µs a value, and the bound keeps both small."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from starter.located import Located
from workflows.errors import DubanError

KiB = 1024
MiB = 1024 * KiB
MAX_DEPTH = 8  # a task file's deepest: policy > urgent > escalation > [ > {level, ...}
UTF8 = ("utf-8-sig",)  # a BOM is read past
SPREADSHEET = ("utf-8-sig", "gb18030")  # what spreadsheets in China save CSV as


@dataclass(frozen=True)
class Kind:
    what: str  # as a refusal names it
    max_bytes: int
    max_values: int  # scalars and collections in a YAML file


TASK = Kind("task file", 1 * MiB, 10_000)
POLICY = Kind("policy file", 64 * KiB, 2_000)
CALENDAR = Kind("calendar file", 1 * MiB, 50_000)
DIRECTORY = Kind("directory file", 4 * MiB, 100_000)
TEMPLATES = Kind("templates file", 256 * KiB, 1_000)
STACK = Kind("stack file", 64 * KiB, 100)

_NOT_REGULAR = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}
# C0 and C1 control characters but tab and line ends; bidirectional overrides and isolates,
# which reorder what a person sees ("Trojan source").
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n // KiB} KiB"


def read_bytes(path: Path, kind: Kind) -> bytes:
    """The file's bytes, if it is a regular file no larger than the kind allows. Opened
    without blocking (a FIFO with no writer would wait for ever) and read no further than
    one byte past the bound, whatever its size says."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as err:
        raise DubanError(f"{path}: cannot read the {kind.what}: {err.strerror}") from err
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = _NOT_REGULAR.get(stat.S_IFMT(mode), "not a file")
        raise DubanError(f"{path}: cannot read the {kind.what}: {what}, not a regular file")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(kind.max_bytes + 1)
        except OSError as err:
            raise DubanError(f"{path}: cannot read the {kind.what}: {err.strerror}") from err
    if len(data) > kind.max_bytes:
        raise DubanError(
            f"{path}: the {kind.what} is larger than {_size(kind.max_bytes)}, "
            f"more than any {kind.what} needs"
        )
    return data


def read_text(path: Path, kind: Kind, encodings: tuple[str, ...] = UTF8) -> str:
    """The file as text in the first of `encodings` it is written in, with no control
    character but tab and line ends, and no bidirectional override."""
    raw = read_bytes(path, kind)
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        names = [e.removesuffix("-sig").upper() for e in encodings]
        said = f"neither {' nor '.join(names)}" if len(names) > 1 else f"not {names[0]}"
        raise DubanError(f"{path}: cannot read the {kind.what}: {said}")
    found = _CONTROL.search(text)
    if found is not None:
        line = text.count("\n", 0, found.start()) + 1
        raise DubanError(f"{path}:{line}: {character_problem(found.group())}")
    return text


def control_in(text: str, lines: bool = True) -> str | None:
    """The first control character or bidi override in `text` (tab and line ends allowed
    where `lines`), or None."""
    found = (_CONTROL if lines else _CONTROL_IN_LINE).search(text)
    return None if found is None else found.group()


def character_problem(ch: str) -> str:
    kind = "a bidirectional override" if ch >= "\u202a" else "a control character"
    return f"{kind} (U+{ord(ch):04X}) is not allowed"


def csv_rows(path: Path, kind: Kind) -> Iterator[tuple[int, list[str]]]:
    """The file's CSV rows, each with its line, read as spreadsheets save CSV: UTF-8 with
    or without a BOM, or GB18030."""
    reader = csv.reader(io.StringIO(read_text(path, kind, SPREADSHEET)))
    try:
        for fields in reader:
            yield reader.line_num, fields
    except csv.Error as err:  # a field over csv.field_size_limit (128 KiB)
        raise DubanError(f"{path}:{reader.line_num}: not valid CSV: {err}") from err


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing at the first anchor or alias (never expanding one),
    at nesting deeper than MAX_DEPTH, past the kind's number of values, at a key given
    twice in a mapping, and at a string holding a control character; every refusal with
    its line. Mappings are built as `Located`, so a later refusal can name its line too."""

    def __init__(self, text: str, path: Path, kind: Kind) -> None:
        super().__init__(text)
        self.path, self.kind = path, kind
        self.depth = self.values = 0

    def refuse(self, node: yaml.Node | yaml.Event, reason: str) -> NoReturn:
        line = node.start_mark.line + 1 if node.start_mark else 0
        raise DubanError(f"{self.path}:{line}: {reason}")

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            self.refuse(event, "YAML anchors and aliases (& and *) are not accepted")
        self.values += 1
        if self.values > self.kind.max_values:
            self.refuse(event, f"more than {self.kind.max_values} values in a {self.kind.what}")
        nested = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        if nested and self.depth >= MAX_DEPTH:
            self.refuse(event, f"nested deeper than {MAX_DEPTH} levels")
        self.depth += nested
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= nested

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as err:  # a date 2027-13-45, an int of
            said = f"{str(node.value)[:40]!r}: " if isinstance(node, yaml.ScalarNode) else ""
            self.refuse(node, f"{said}{err}")  # 5,000 digits: Python's refusal, with the line


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    seen: dict[Hashable, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if isinstance(key, Hashable) and key in seen:
            loader.refuse(key_node, f"{key!r} is given twice (first on line {seen[key]})")
        if isinstance(key, Hashable):
            seen[key] = line
    items = loader.construct_mapping(node, deep=True)
    keys = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return Located(items, node.start_mark.line + 1, keys)


def _string(loader: _Loader, node: yaml.ScalarNode) -> str:
    value = str(loader.construct_scalar(node))
    found = control_in(value)
    if found is not None:
        loader.refuse(node, character_problem(found))
    return value


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:str", _string)


def _yaml_error(path: Path, err: yaml.YAMLError) -> DubanError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return DubanError(f"{path}: not valid YAML{where}: {problem}")


def load_yaml(path: Path, kind: Kind) -> Any:
    """The file's YAML, every mapping a `Located`."""
    loader = _Loader(read_text(path, kind), path, kind)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as err:
        raise _yaml_error(path, err) from err
    finally:
        loader.dispose()


def compose_yaml(path: Path, kind: Kind) -> yaml.Node | None:
    """The file's YAML as nodes, with every line, for a reader that checks them one by one."""
    loader = _Loader(read_text(path, kind), path, kind)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    except yaml.YAMLError as err:
        raise _yaml_error(path, err) from err
    finally:
        loader.dispose()


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _Duplicate(key)
        data[key] = value
    return data


# A JSON string (a key where a colon follows), or a bracket outside every string.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[\[\]{}]')


def _json_walk(path: Path, text: str, duplicate: str | None = None) -> None:
    """Refuse nesting deeper than MAX_DEPTH (before json.loads recurses into it); given
    the key json found twice, refuse it with the line of its second use."""
    objects: list[set[str] | None] = []
    for token in _JSON_TOKEN.finditer(text):
        what = token.group()
        if what in "[{":
            objects.append(set() if what == "{" else None)
            if len(objects) > MAX_DEPTH:
                line = text.count("\n", 0, token.start()) + 1
                raise DubanError(f"{path}:{line}: nested deeper than {MAX_DEPTH} levels")
        elif what in "]}":
            if objects:
                objects.pop()
        elif duplicate is not None and token.group(1) and objects and objects[-1] is not None:
            key = json.loads(what[: what.rindex('"') + 1])
            if key == duplicate and key in objects[-1]:
                line = text.count("\n", 0, token.start()) + 1
                raise DubanError(f"{path}:{line}: {key!r} is given twice")
            objects[-1].add(key)


def load_json(path: Path, kind: Kind) -> Any:
    text = read_text(path, kind)
    _json_walk(path, text)
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except _Duplicate as dup:
        _json_walk(path, text, dup.key)
        raise DubanError(f"{path}: {dup.key!r} is given twice") from None
    except json.JSONDecodeError as err:
        raise DubanError(f"{path}: not valid JSON (line {err.lineno}): {err.msg}") from err
    except (ValueError, RecursionError) as err:  # an int of 5,000 digits
        raise DubanError(f"{path}: not valid JSON: {err}") from err


def load(path: Path, kind: Kind) -> Any:
    """JSON for a `.json` file, else YAML."""
    return load_json(path, kind) if path.suffix.lower() == ".json" else load_yaml(path, kind)
