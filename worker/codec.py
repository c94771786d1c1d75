"""The payload codec every client shares: what duban hands Temporal is sealed before it
leaves the process (samples-python `encryption/codec.py`; Temporal docs, "Codec Server").

A payload (its encoding and data, serialised whole) is compressed with zlib when that makes
it smaller, then sealed with AES-256-GCM, or SM4-GCM (GB/T 32907, for 国密 assessments), under
a fresh 12-byte nonce. The sealed payload says `binary/encrypted` and carries the key id,
the cipher and the compression in its metadata, all three bound to the ciphertext as
associated data: change one and it no longer opens. A payload without that encoding (one
written before payloads were sealed) is handed on as it is. A payload whose key is not
listed, or whose ciphertext was altered, fails with its key id in the message: never
garbage. Search attributes do not pass through a codec: they stay readable."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from worker.keys import KEY_BYTES, KeyRing
from workflows.errors import DubanError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
CIPHER = "encryption-cipher"
COMPRESSION = "compression"
NONCE_BYTES = 12
TAG_BYTES = 16


class CodecError(DubanError):
    """A sealed payload that cannot be opened (key missing, altered), or no key to seal."""


def _aad(kid: bytes, cipher: bytes, compression: bytes) -> bytes:
    return b"\0".join((b"duban-payload-1", kid, cipher, compression))


def _seal(cipher: str, key: bytes, nonce: bytes, plain: bytes, aad: bytes) -> bytes:
    if cipher == "aes-256-gcm":
        return AESGCM(key).encrypt(nonce, plain, aad)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    return enc.update(plain) + enc.finalize() + enc.tag


def _open(cipher: str, key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    if cipher == "aes-256-gcm":
        return AESGCM(key).decrypt(nonce, sealed, aad)
    if len(sealed) < TAG_BYTES:
        raise InvalidTag
    body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    return dec.update(body) + dec.finalize()


class SealingCodec(PayloadCodec):
    """Seals on encode, opens on decode. `keys` is asked once, when a key is first needed:
    a process that only reads payloads written before sealing never needs one."""

    def __init__(self, keys: Callable[[], KeyRing]) -> None:
        self._keys = keys
        self._ring: KeyRing | None = None

    def ring(self) -> KeyRing:
        if self._ring is None:
            self._ring = self._keys()
        return self._ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        ring = self.ring()
        kid, key = ring.sealing_key()
        plain = payload.SerializeToString()
        packed = zlib.compress(plain, 6)
        compression = b"zlib" if len(packed) < len(plain) else b"none"
        body = packed if compression == b"zlib" else plain
        cipher = ring.cipher.encode()
        nonce = os.urandom(NONCE_BYTES)
        aad = _aad(kid.encode(), cipher, compression)
        metadata = {
            "encoding": ENCODING,
            KEY_ID: kid.encode(),
            CIPHER: cipher,
            COMPRESSION: compression,
        }
        return Payload(metadata=metadata, data=nonce + _seal(ring.cipher, key, nonce, body, aad))

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before sealing, or not ours to open: as it is
        kid_b = payload.metadata.get(KEY_ID, b"")
        kid = kid_b.decode("utf-8", "replace") or "(none)"
        cipher_b = payload.metadata.get(CIPHER, b"")
        cipher = cipher_b.decode("utf-8", "replace")
        compression = payload.metadata.get(COMPRESSION, b"none")
        if cipher not in KEY_BYTES:
            raise CodecError(f"payload sealed with key {kid} names an unknown cipher {cipher!r}")
        try:
            ring = self.ring()
        except DubanError as err:
            raise CodecError(f"payload sealed with key {kid}, and no keys here: {err}") from None
        key = ring.keys.get(kid)
        if key is None:  # rotated since this process read its keys? read them again
            self._ring = None
            ring = self.ring()
            key = ring.keys.get(kid)
        if key is None:
            raise CodecError(
                f"payload sealed with key {kid}, which is not among the payload keys "
                f"({ring.source}): list it to read what it sealed"
            )
        if len(key) != KEY_BYTES[cipher]:
            raise CodecError(
                f"payload sealed with key {kid} under {cipher}, but that key is "
                f"{len(key)} bytes, not {KEY_BYTES[cipher]}"
            )
        data = payload.data
        aad = _aad(kid_b, cipher_b, compression)
        try:
            body = _open(cipher, key, data[:NONCE_BYTES], data[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):
            raise CodecError(
                f"payload sealed with key {kid} failed authentication: it was altered, "
                "or sealed with another key of that id"
            ) from None
        try:
            plain = zlib.decompress(body) if compression == b"zlib" else body
            return Payload.FromString(plain)
        except Exception as err:  # authenticated, yet not a payload: a defect, said so
            raise CodecError(f"payload sealed with key {kid} opened to no payload") from err
