"""Tokens encrypted at rest: Fernet (AES-128-CBC with an HMAC-SHA256, from `cryptography`) with
the keys of PARTNERBOT_ENCRYPTION_KEYS, comma-separated: the first encrypts, every one decrypts,
so a key is rotated by putting a new one first, re-encrypting (`partnerbot rotate-keys`), then
dropping the old one (docs/OPERATIONS.md)."""

from __future__ import annotations

import binascii
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

# `cryptography` is imported where a key is used, not with this module: loading it costs an idle
# single-workspace bot, which never encrypts anything, about 8 MB.

SETTING = "PARTNERBOT_ENCRYPTION_KEYS"
MAKE_A_KEY = (
    'make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class KeyProblem(ValueError):
    """The keys are missing or malformed; the message is one line for the operator."""


class UnreadableToken(Exception):
    """A stored token none of the keys decrypts (its key was dropped too early)."""


def parse_keys(value: str | None) -> list[Fernet]:
    """The keys of the setting, first (the one that encrypts) first."""
    from cryptography.fernet import Fernet

    parts = [part.strip() for part in (value or "").split(",") if part.strip()]
    if not parts:
        raise KeyProblem(f"{SETTING} is not set; {MAKE_A_KEY}")
    keys = []
    for number, part in enumerate(parts, start=1):
        try:
            keys.append(Fernet(part.encode("ascii")))
        except (ValueError, binascii.Error, UnicodeEncodeError):
            raise KeyProblem(
                f"key {number} of {SETTING} is not a Fernet key (32 bytes, url-safe base64, "
                f"44 characters); {MAKE_A_KEY}"
            ) from None
    return keys


class TokenCipher:
    """Encrypts with the first key, decrypts with any."""

    def __init__(self, keys: str | None) -> None:
        from cryptography.fernet import InvalidToken, MultiFernet

        self._fernet = MultiFernet(parse_keys(keys))
        self._invalid = InvalidToken

    def encrypt(self, plain: str | None) -> str | None:
        if plain is None:
            return None
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str | None) -> str | None:
        if stored is None:
            return None
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except self._invalid:
            raise UnreadableToken(
                f"a stored token is encrypted with a key that is no longer in {SETTING}"
            ) from None

    def rotate(self, stored: str | None) -> str | None:
        """The same token encrypted with the first key (whichever key it was encrypted with)."""
        if stored is None:
            return None
        try:
            return self._fernet.rotate(stored.encode("ascii")).decode("ascii")
        except self._invalid:
            raise UnreadableToken(
                f"a stored token is encrypted with a key that is no longer in {SETTING}: put "
                "the old key back after the new one and run rotate-keys again"
            ) from None
