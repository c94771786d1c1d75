"""Tampering with a token, a link or a signed cookie, the same way in every test.

One character is replaced by another base64url character, so the text always differs.
Where the signature is base64, change a character whose every bit counts (its first):
the last character of an unpadded base64 value carries padding bits, and a swap there
can decode to the same bytes (one cookie in about 750 kept a valid MAC after "xx")."""

from __future__ import annotations


def changed(text: str, at: int = -1) -> str:
    """`text` with the character at `at` (the last by default) replaced by another."""
    i = at % len(text)
    return text[:i] + ("B" if text[i] == "A" else "A") + text[i + 1 :]
