"""The payload codec (worker.codec) and its keys (worker.keys), with real ciphers."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.workflows.harness import make_spec
from worker import keys
from worker.client import DATA_CONVERTER
from worker.codec import CIPHER, COMPRESSION, ENCODING, KEY_ID, CodecError, SealingCodec
from worker.keys import CodecKeyError, KeyRing
from worker.settings import Settings
from workflows.contracts import TaskSpec

DUBAN = str(Path(sys.executable).parent / "duban")
TITLE = "完善行政执法协调机制"


def ring(*pairs: tuple[str, bytes], cipher: keys.Cipher = "aes-256-gcm") -> KeyRing:
    return KeyRing(dict(pairs), cipher)


def codec_of(r: KeyRing) -> SealingCodec:
    return SealingCodec(lambda: r)


def plain(text: str = TITLE * 20) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


AES = ("a1", os.urandom(32))
SM4 = ("s1", os.urandom(16))


@pytest.mark.parametrize(
    ("key", "cipher"), [(AES, "aes-256-gcm"), (SM4, "sm4-gcm")], ids=["aes", "sm4"]
)
def test_a_payload_round_trips_and_says_how_it_was_sealed(
    key: tuple[str, bytes], cipher: keys.Cipher
) -> None:
    codec = codec_of(ring(key, cipher=cipher))
    original = plain()
    sealed = codec.seal(original)
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == key[0].encode()
    assert sealed.metadata[CIPHER] == cipher.encode()
    assert sealed.metadata[COMPRESSION] == b"zlib"  # the repeated title shrinks
    assert TITLE.encode() not in sealed.data and b"json/plain" not in sealed.data
    assert len(sealed.data) < len(original.data)
    assert codec.open(sealed) == original  # the encoding inside comes back too


def test_sm4_gcm_is_the_standard_s_cipher() -> None:
    """What SM4-GCM sealed opens with a plain SM4-GCM decryptor: nonce, body, 16-byte tag."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from worker.codec import _aad

    sealed = codec_of(ring(SM4, cipher="sm4-gcm")).seal(plain("短"))
    nonce, body, tag = sealed.data[:12], sealed.data[12:-16], sealed.data[-16:]
    dec = Cipher(algorithms.SM4(SM4[1]), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(_aad(b"s1", b"sm4-gcm", sealed.metadata[COMPRESSION]))
    assert Payload.FromString(dec.update(body) + dec.finalize()) == plain("短")


def test_small_payloads_are_not_compressed_and_every_nonce_is_fresh() -> None:
    codec = codec_of(ring(AES))
    one, two = codec.seal(plain("x")), codec.seal(plain("x"))
    assert one.metadata[COMPRESSION] == b"none"
    assert one.data[:12] != two.data[:12] and one.data != two.data
    assert codec.open(one) == codec.open(two) == plain("x")


def test_payloads_written_before_sealing_are_read_as_they_are() -> None:
    assert codec_of(ring(AES)).open(plain()) == plain()
    nothing = SealingCodec(lambda: keys.load(Settings(data_dir=Path("/nonexistent"))))
    assert nothing.open(plain()) == plain()  # no keys needed to read them


def test_a_rotated_out_key_fails_naming_its_id() -> None:
    old, new = ("k-old", os.urandom(32)), ("k-new", os.urandom(32))
    sealed = codec_of(ring(old)).seal(plain())
    assert codec_of(ring(new, old)).open(sealed) == plain()  # still listed: readable
    with pytest.raises(CodecError, match="k-old") as refused:
        codec_of(ring(new)).open(sealed)
    assert "not among the payload keys" in str(refused.value)


def test_a_key_of_the_same_id_but_other_bytes_fails_authentication() -> None:
    sealed = codec_of(ring(("k1", os.urandom(32)))).seal(plain())
    with pytest.raises(CodecError, match="k1 failed authentication"):
        codec_of(ring(("k1", os.urandom(32)))).open(sealed)


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
def test_a_tampered_payload_fails_authentication(cipher: keys.Cipher) -> None:
    key = AES if cipher == "aes-256-gcm" else SM4
    codec = codec_of(ring(key, cipher=cipher))
    sealed = codec.seal(plain())
    for at in (0, 12, len(sealed.data) // 2, len(sealed.data) - 1):  # nonce, body, tag
        tampered = Payload()
        tampered.CopyFrom(sealed)
        data = bytearray(sealed.data)
        data[at] ^= 0x01
        tampered.data = bytes(data)
        with pytest.raises(CodecError, match=f"{key[0]} failed authentication"):
            codec.open(tampered)
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata[COMPRESSION] = b"none"  # the metadata is bound too
    with pytest.raises(CodecError, match="failed authentication"):
        codec.open(relabelled)
    assert codec.open(sealed) == plain()


def test_a_key_the_cipher_cannot_take_is_refused_before_sealing() -> None:
    with pytest.raises(CodecKeyError, match=r"a1.*sm4-gcm takes 16.*duban codec rotate"):
        codec_of(ring(AES, cipher="sm4-gcm")).seal(plain())


def test_key_lists_are_checked_and_never_echo_key_material() -> None:
    secret = base64.b64encode(os.urandom(32)).decode()
    good = keys.parse(f"k2:{secret}, k1:{base64.b64encode(os.urandom(16)).decode()}", "env")
    assert list(good.keys) == ["k2", "k1"] and good.current == "k2"
    for text, said in [
        (f"k1 {secret}", "key 1 is not kid:base64"),
        (f"k/1:{secret}", "key 1 is not kid:base64"),
        ("k1:%%%notbase64", "key k1 is not valid base64"),
        (f"k1:{base64.b64encode(os.urandom(24)).decode()}", "key k1 is 24 bytes"),
        (f"k1:{secret},k1:{secret}", "key k1 is listed twice"),
        ("# only a comment", "no key in it"),
    ]:
        with pytest.raises(CodecKeyError, match=said) as refused:
            keys.parse(text, "env")
        assert secret not in str(refused.value) and "%%%" not in str(refused.value)


def test_rotate_adds_a_current_key_and_keeps_the_old(tmp_path: Path) -> None:
    path = tmp_path / keys.FILE
    assert keys.ensure(path, "aes-256-gcm") is True
    assert keys.ensure(path, "aes-256-gcm") is False  # kept, not made again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = keys.read_file(path)
    sealed = codec_of(first).seal(plain())
    new = keys.rotate(path, "sm4-gcm")
    after = keys.read_file(path, "sm4-gcm")
    assert after.current == new and list(after.keys)[1:] == list(first.keys)
    assert len(after.keys[new]) == 16 and stat.S_IMODE(path.stat().st_mode) == 0o600
    codec = codec_of(after)
    assert codec.open(sealed) == plain()  # sealed with the old key: still readable
    assert codec.seal(plain()).metadata[KEY_ID] == new.encode()


def test_a_running_process_reads_a_rotated_key_file_when_it_meets_a_new_key(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, codec_keys=None)
    keys.ensure(tmp_path / keys.FILE, "aes-256-gcm")
    running = SealingCodec(lambda: keys.load(settings))
    running.seal(plain())  # it has read its keys
    keys.rotate(tmp_path / keys.FILE, "aes-256-gcm")
    newcomer = SealingCodec(lambda: keys.load(settings))
    assert running.open(newcomer.seal(plain())) == plain()


def test_where_keys_come_from(tmp_path: Path) -> None:
    with pytest.raises(CodecKeyError, match=f"no payload keys.*{tmp_path}/codec.keys"):
        keys.load(Settings(data_dir=tmp_path, codec_keys=None))
    keys.ensure(tmp_path / keys.FILE, "aes-256-gcm")
    from_dir = keys.load(Settings(data_dir=tmp_path, codec_keys=None))
    assert from_dir.source == str(tmp_path / keys.FILE)
    other = tmp_path / "elsewhere.keys"
    keys.ensure(other, "aes-256-gcm")
    named = keys.load(Settings(data_dir=tmp_path, codec_keys=None, codec_key_file=other))
    assert named.source == str(other) and named.keys != from_dir.keys
    given = f"e1:{base64.b64encode(AES[1]).decode()}"
    env = keys.load(Settings(data_dir=tmp_path, codec_keys=given))  # type: ignore[arg-type]
    assert env.current == "e1" and env.source == "DUBAN_CODEC_KEYS"
    with pytest.raises(CodecKeyError, match=r"missing\.keys"):
        keys.load(Settings(codec_keys=None, codec_key_file=tmp_path / "missing.keys"))


async def test_the_shared_converter_seals_models_and_reads_them_back() -> None:
    conv = DATA_CONVERTER
    spec = make_spec(id="T-codec")
    [payload] = await conv.encode([spec])
    assert payload.metadata["encoding"] == ENCODING and TITLE.encode() not in payload.data
    [back] = await conv.decode([payload], [TaskSpec])
    assert back == spec
    [old] = await pydantic_data_converter.encode([spec])  # as written before sealing
    assert (await conv.decode([old], [TaskSpec]))[0] == spec


def test_duban_codec_rotate_and_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_CODEC")}

    def duban(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DUBAN, "codec", *args, "--data-dir", str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    first = duban("rotate")
    assert first.returncode == 0, first.stderr
    kid = first.stdout.strip()
    second = duban("rotate", "--cipher", "sm4-gcm")
    assert second.returncode == 0 and "1 older key(s) kept" in second.stderr
    listed = duban("keys").stdout.splitlines()
    assert listed[1] == f"{second.stdout.strip()}  sm4-gcm  (current: seals)"
    assert listed[2] == f"{kid}  aes-256-gcm"
    refused = subprocess.run(
        [DUBAN, "codec", "rotate", "--data-dir", str(tmp_path)],
        env={**env, "DUBAN_CODEC_KEYS": f"e1:{base64.b64encode(AES[1]).decode()}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "DUBAN_CODEC_KEYS is set" in refused.stderr


def test_a_worker_without_keys_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_CODEC")}
    env |= {"DUBAN_DATA_DIR": str(tmp_path), "TEMPORAL_ADDRESS": "127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "-m", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "duban worker: no payload keys: set DUBAN_CODEC_KEYS or DUBAN_CODEC_KEY_FILE, "
        f"or start `duban up` once to make {tmp_path}/codec.keys"
    )
