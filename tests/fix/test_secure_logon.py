"""Drop Copy FIX secure logon (AX-01, wire notes §1.3): canonical string, HMAC-SHA256."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import pickle
import secrets

import pytest

from dropcopy.fix import Message, SecretKey, canonical_string, check_credentials, decode, encode
from dropcopy.fix.errors import FixEncodeError, Outcome
from dropcopy.fix.secure_logon import (
    CANONICAL_TAGS,
    HMAC_VERSION,
    logon_credentials,
    sign,
    sign_logon,
    verify_logon,
)

from .samples import KAT_ACCESS_KEY_ID, KAT_SECRET, KAT_SIGNATURE, KAT_VALUES

KAT_FIELDS = list(zip(CANONICAL_TAGS, KAT_VALUES, strict=True))


def signed_logon(secret: str = KAT_SECRET) -> Message:
    return Message.build("A", sign_logon(KAT_FIELDS, KAT_ACCESS_KEY_ID, secret))


def test_AX01_canonical_string_is_11_values_joined_by_newline() -> None:
    canonical = canonical_string(dict(KAT_FIELDS))
    assert canonical == b"1\nB08004N\nMSG\n20170623-14:48:42.855\n92\n60\nUS,NY\n0\nBRIO\n8.0\nABC"
    assert not canonical.endswith(b"\n")
    assert CANONICAL_TAGS == (34, 49, 50, 52, 57, 108, 142, 369, 1603, 1604, 1605)


def test_AX01_known_answer_vector() -> None:
    # wire notes §1.3 vector 1
    assert sign(canonical_string(KAT_FIELDS), KAT_SECRET) == KAT_SIGNATURE


def test_AX01_known_answer_vector_independently() -> None:
    key = base64.urlsafe_b64decode(KAT_SECRET + "=")
    assert len(key) == 32
    digest = hmac.new(key, "\n".join(KAT_VALUES).encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == KAT_SIGNATURE


def test_AX01_signed_logon_carries_the_credential_fields() -> None:
    msg = signed_logon()
    assert msg[1400] == b"CME-1-SHA-256" == HMAC_VERSION.encode()
    assert msg[1401] == b"43"
    assert msg[1402] == KAT_SIGNATURE.encode()
    assert msg[354] == b"20"
    assert msg[355] == KAT_ACCESS_KEY_ID.encode()
    assert len(msg[1402]) == 43 and b"=" not in msg[1402]
    assert check_credentials(msg) is None


def test_AX01_verify_accepts_the_right_key() -> None:
    msg = signed_logon()
    assert verify_logon(msg, KAT_SECRET)
    assert verify_logon(msg, SecretKey(KAT_SECRET))
    assert verify_logon(decode(msg.raw), KAT_SECRET)


def test_AX01_verify_rejects_another_key() -> None:
    other = SecretKey.from_bytes(secrets.token_bytes(32))
    assert not verify_logon(signed_logon(), other)


@pytest.mark.parametrize("tag", CANONICAL_TAGS)
def test_AX01_verify_rejects_any_changed_canonical_value(tag: int) -> None:
    fields = [(t, (v + "0") if t == tag else v) for t, v in KAT_FIELDS]
    creds = logon_credentials(KAT_ACCESS_KEY_ID, KAT_SIGNATURE)  # signature of the original
    assert not verify_logon(Message.build("A", fields + creds), KAT_SECRET)


def test_AX01_verify_rejects_missing_pieces() -> None:
    msg = signed_logon()
    without_50 = Message.build("A", [(t, v) for t, v in msg.body_fields[1:] if t != 50])
    assert not verify_logon(without_50, KAT_SECRET)
    without_sig = Message.build(
        "A", [(t, v) for t, v in msg.body_fields[1:] if t not in (1401, 1402)]
    )
    assert not verify_logon(without_sig, KAT_SECRET)
    assert check_credentials(without_sig) is not None
    wrong_method = Message.build(
        "A", [(t, b"CME-2" if t == 1400 else v) for t, v in msg.body_fields[1:]]
    )
    assert not verify_logon(wrong_method, KAT_SECRET)


def test_AX01_verify_uses_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify_logon(signed_logon(), KAT_SECRET)
    assert calls == [(KAT_SIGNATURE.encode(), KAT_SIGNATURE.encode())]


@pytest.mark.parametrize(
    "changes",
    [
        {1400: "CME-1-SHA-512"},
        {1401: "44", 1402: KAT_SIGNATURE + "A"},
        {1401: "5", 1402: "short"},
        {1401: "43", 1402: KAT_SIGNATURE[:-1] + "="},
        {354: "19", 355: KAT_ACCESS_KEY_ID[:19]},
        {354: "8", 355: "tooshort"},
    ],
)
def test_AX01_malformed_credentials_are_an_invalid_logon(changes: dict[int, str]) -> None:
    fields = [
        (t, changes.get(t, v)) for t, v in sign_logon(KAT_FIELDS, KAT_ACCESS_KEY_ID, KAT_SECRET)
    ]
    error = check_credentials(Message.build("A", fields))
    assert error is not None
    assert error.outcome is Outcome.LOGOUT
    assert error.text == "Invalid logon. Logout forced."
    assert error.rule == "AX-01"


def test_secret_key_is_43_base64url_chars_and_32_bytes() -> None:
    key = SecretKey(KAT_SECRET)
    assert key.encoded() == KAT_SECRET
    assert SecretKey.from_bytes(base64.urlsafe_b64decode(KAT_SECRET + "=")) == key
    for bad in ["", KAT_SECRET + "=", KAT_SECRET[:-1], KAT_SECRET[:-1] + "+", "A" * 44]:
        with pytest.raises(ValueError) as exc:
            SecretKey(bad)
        assert KAT_SECRET not in str(exc.value)
    with pytest.raises(ValueError):
        SecretKey.from_bytes(b"x" * 31)


def test_secret_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    key = SecretKey(KAT_SECRET)
    assert KAT_SECRET not in repr(key)
    assert KAT_SECRET not in str(key)
    assert KAT_SECRET not in f"{key}"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("key %s %r", key, key)
        verify_logon(signed_logon(), key)
    assert KAT_SECRET not in caplog.text
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(ValueError) as exc:
        SecretKey(KAT_SECRET[:-1] + "!")
    assert KAT_SECRET[:-1] not in str(exc.value)


def test_sign_logon_needs_all_canonical_tags() -> None:
    with pytest.raises(FixEncodeError):
        sign_logon([(34, 1)], KAT_ACCESS_KEY_ID, KAT_SECRET)
    with pytest.raises(FixEncodeError):
        logon_credentials("short", KAT_SIGNATURE)


def test_signed_logon_encodes_with_data_fields_in_place() -> None:
    raw = encode("A", sign_logon(KAT_FIELDS, KAT_ACCESS_KEY_ID, KAT_SECRET))
    assert b"\x01354=20\x01355=" + KAT_ACCESS_KEY_ID.encode() + b"\x01" in raw
    assert b"\x011401=43\x011402=" + KAT_SIGNATURE.encode() + b"\x01" in raw
