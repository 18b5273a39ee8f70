"""The keys of connections admins add in Slack, kept encrypted in the bot's database.

`SEGMETRICS_BOT_SECRET_KEY` is one or more Fernet keys, comma-separated (`cryptography`'s Fernet: AES-128-CBC
with an HMAC-SHA256, authenticated). The first encrypts; every one decrypts, so a key is rotated by putting
the new one first and keeping the old one after it until every stored key was written again.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

HOW_TO_MAKE = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class KeyringError(Exception):
    """A stored key cannot be read back; the message says why (never a key)."""


def _keys(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def check_secret_key(value: str) -> str:
    """`value` as `Keyring` takes it (its Fernet keys, comma-separated); `ValueError` saying how to make one.
    The message never shows the value."""
    keys = _keys(value)
    if not keys:
        raise ValueError(f"is empty; make a key with {HOW_TO_MAKE}")
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            which = f"key {number} of {len(keys)} " if len(keys) > 1 else ""
            raise ValueError(
                f"{which}is not a Fernet key (32 bytes in URL-safe base64: 44 characters); make one with "
                f"{HOW_TO_MAKE}; to rotate, give the new key first and the old one after it, comma-separated"
            ) from None
    return ",".join(keys)


class Keyring:
    """Encrypts and decrypts text with `SEGMETRICS_BOT_SECRET_KEY`. Keeps no key where `repr` would show it."""

    def __init__(self, secret: str) -> None:
        keys = check_secret_key(secret).split(",")
        self._count = len(keys)
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def __repr__(self) -> str:
        return f"Keyring({self._count} key{'s' if self._count != 1 else ''})"

    def encrypt(self, text: str) -> str:
        """A token of `text`, made with the first key."""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text of a token made with any of the keys; `KeyringError` when none of them made it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise KeyringError(
                "a stored key cannot be decrypted: it was encrypted with another SEGMETRICS_BOT_SECRET_KEY, or "
                "it is damaged. If the secret key was changed, give the old key too, after the new one, "
                "comma-separated; otherwise add the connection again in Slack"
            ) from None

    def rotate(self, token: str) -> str:
        """The token made again with the first key (after a rotation); `KeyringError` as `decrypt`."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            self.decrypt(token)  # raises the explanation
            raise
