"""The keyring: keys of connections added in Slack, encrypted with SEGMETRICS_BOT_SECRET_KEY, and rotated."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.keyring import Keyring, KeyringError, check_secret_key

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
API_KEY = "sk-live-PAYMENTS-9f8e7d6c"


def test_a_round_trip_hides_the_text() -> None:
    keyring = Keyring(OLD)
    token = keyring.encrypt(API_KEY)
    assert API_KEY not in token and token != keyring.encrypt(API_KEY)  # a fresh IV each time
    assert keyring.decrypt(token) == API_KEY
    assert Keyring(f" {OLD} ").decrypt(token) == API_KEY


def test_rotation_the_first_key_encrypts_every_key_decrypts() -> None:
    old_token = Keyring(OLD).encrypt(API_KEY)
    rotated = Keyring(f"{NEW}, {OLD}")
    assert rotated.decrypt(old_token) == API_KEY
    new_token = rotated.encrypt(API_KEY)
    assert Keyring(NEW).decrypt(new_token) == API_KEY
    with pytest.raises(KeyringError):
        Keyring(OLD).decrypt(new_token)
    # A stored token written again with the new key: the old key can then be dropped.
    assert Keyring(NEW).decrypt(rotated.rotate(old_token)) == API_KEY


@pytest.mark.parametrize("token", ["", "not a token", "gAAAAAB" + "x" * 80, "é"])
def test_a_token_of_another_key_or_damaged_is_a_clear_error(token: str) -> None:
    made_elsewhere = Keyring(NEW).encrypt(API_KEY)
    keyring = Keyring(OLD)
    for wrong in (made_elsewhere, token):
        with pytest.raises(KeyringError, match="encrypted with another SEGMETRICS_BOT_SECRET_KEY") as caught:
            keyring.decrypt(wrong)
        assert API_KEY not in str(caught.value) and OLD not in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(KeyringError):
        keyring.rotate(made_elsewhere)


@pytest.mark.parametrize("secret", ["", " , ", "hunter2-not-a-fernet-key", f"{OLD},{OLD[:-4]}"])
def test_a_bad_secret_is_refused_with_how_to_make_one(secret: str) -> None:
    with pytest.raises(ValueError) as caught:
        Keyring(secret)
    message = str(caught.value)
    assert 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"' in message
    for part in filter(None, (part.strip() for part in secret.split(","))):
        assert part not in message
    if "," in secret.strip(" ,"):
        assert "key 2 of 2" in message


def test_check_secret_key_gives_the_keys_clean() -> None:
    assert check_secret_key(f" {NEW} ,{OLD}, ") == f"{NEW},{OLD}"


def test_repr_never_shows_a_key() -> None:
    keyring = Keyring(f"{NEW},{OLD}")
    assert repr(keyring) == "Keyring(2 keys)" and repr(Keyring(OLD)) == "Keyring(1 key)"
    for text in (repr(keyring), str(keyring), repr(vars(keyring))):
        assert NEW not in text and OLD not in text
