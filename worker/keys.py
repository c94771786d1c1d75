"""The payload keys: `kid:base64` pairs, the first seals, every one opens.

From DUBAN_CODEC_KEYS (`k2:…,k1:…`), else the file DUBAN_CODEC_KEY_FILE, else the data
directory's `codec.keys` (which `duban up` makes on its first start). The file holds one
pair a line, newest first; `duban codec rotate` puts a new one on top and keeps the rest,
so what the older keys sealed stays readable while they are listed. A key is as long as
its cipher wants: 32 bytes for AES-256-GCM, 16 for SM4-GCM."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from worker.settings import Cipher, Settings
from workflows.errors import DubanError

KEY_BYTES: dict[str, int] = {"aes-256-gcm": 32, "sm4-gcm": 16}
FILE = "codec.keys"
MAX_FILE = 64 * 1024
KID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HEADER = (
    "# duban's payload keys (kid:base64), newest first: the first seals, every one opens.\n"
    "# Keep this file as you keep the database's backups: without it they cannot be read.\n"
)


class CodecKeyError(DubanError):
    """A key, a key list or a key file that cannot be used; never quotes key material."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]  # in order: the first is the current one
    cipher: Cipher = "aes-256-gcm"
    source: str = "DUBAN_CODEC_KEYS"

    @property
    def current(self) -> str:
        return next(iter(self.keys))

    def sealing_key(self) -> tuple[str, bytes]:
        kid = self.current
        key = self.keys[kid]
        if len(key) != KEY_BYTES[self.cipher]:
            raise CodecKeyError(
                f"the current payload key {kid} ({self.source}) is {len(key)} bytes; "
                f"{self.cipher} takes {KEY_BYTES[self.cipher]}: run `duban codec rotate`"
            )
        return kid, key


def parse(text: str, source: str, cipher: Cipher = "aes-256-gcm") -> KeyRing:
    """`kid:base64` pairs, split by commas or lines; `#` starts a comment line."""
    keys: dict[str, bytes] = {}
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    items = [i.strip() for line in lines for i in line.split(",")]
    for n, item in enumerate((i for i in items if i), 1):
        kid, sep, b64 = item.partition(":")
        if not sep or not KID.fullmatch(kid):
            raise CodecKeyError(f"{source}: key {n} is not kid:base64 (kid: letters, digits, ._-)")
        try:
            key = base64.b64decode(b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"{source}: key {kid} is not valid base64") from None
        if len(key) not in KEY_BYTES.values():
            raise CodecKeyError(
                f"{source}: key {kid} is {len(key)} bytes; give 32 (AES-256) or 16 (SM4)"
            )
        if kid in keys:
            raise CodecKeyError(f"{source}: key {kid} is listed twice")
        keys[kid] = key
    if not keys:
        raise CodecKeyError(f"{source}: no key in it")
    return KeyRing(keys, cipher, source)


def read_file(path: Path, cipher: Cipher = "aes-256-gcm") -> KeyRing:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE + 1)
    except OSError as err:
        raise CodecKeyError(f"payload key file {path}: {err.strerror or err}") from None
    if len(raw) > MAX_FILE:
        raise CodecKeyError(f"payload key file {path} is over {MAX_FILE // 1024} KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CodecKeyError(f"payload key file {path} is not UTF-8 text") from None
    return parse(text, str(path), cipher)


def new_kid() -> str:
    return f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def write_file(path: Path, ring: KeyRing) -> None:
    """The file for its owner only (0600) from its first byte, written aside and renamed."""
    lines = [f"{kid}:{base64.b64encode(key).decode()}" for kid, key in ring.keys.items()]
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    aside.unlink(missing_ok=True)
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(HEADER + "\n".join(lines) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(aside, path)


def rotate(path: Path, cipher: Cipher) -> str:
    """A new current key for `cipher` on top of the file (made if absent); its key id."""
    old = read_file(path, cipher).keys if path.exists() else {}
    kid = new_kid()
    while kid in old:
        kid = new_kid()
    write_file(path, KeyRing({kid: secrets.token_bytes(KEY_BYTES[cipher]), **old}, cipher))
    return kid


def ensure(path: Path, cipher: Cipher) -> bool:
    """A key file at `path`, made with one key if there is none; True if it was made."""
    if path.exists():
        return False
    rotate(path, cipher)
    return True


def key_file(settings: Settings, data_dir: Path | None = None) -> Path:
    """The key file in use: DUBAN_CODEC_KEY_FILE, else the data directory's."""
    return settings.codec_key_file or (data_dir or settings.data_dir) / FILE


def load(settings: Settings, data_dir: Path | None = None) -> KeyRing:
    """The keys from the environment, else the key file; refused in one line if none."""
    cipher = settings.codec_cipher
    if settings.codec_keys is not None:
        return parse(settings.codec_keys.get_secret_value(), "DUBAN_CODEC_KEYS", cipher)
    path = key_file(settings, data_dir)
    if settings.codec_key_file is None and not path.exists():
        raise CodecKeyError(
            f"no payload keys: set DUBAN_CODEC_KEYS or DUBAN_CODEC_KEY_FILE, or start "
            f"`duban up` once to make {path}"
        )
    return read_file(path, cipher)
