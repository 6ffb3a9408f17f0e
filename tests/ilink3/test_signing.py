"""HMAC signing of Negotiate and Establish (seed 004 "Session Security", I-030..I-046, AI-22).

The expected signatures were computed independently with
``printf '<canonical>' | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1f``.
"""

from __future__ import annotations

import base64

import pytest

from dropcopy.ilink3 import messages, signing
from dropcopy.ilink3.codec import encode

KEY_BYTES = bytes(range(32))
SECRET = base64.urlsafe_b64encode(KEY_BYTES).rstrip(b"=").decode()  # as Request Center delivers it
# the seed's sample values (AI-22: verbatim, integers as decimal text)
TS, UUID, SESSION, FIRM = 1563720650008, 1563720660068, "ABC", "007"


def test_secret_is_43_chars_base64url_and_decodes_to_32_bytes() -> None:  # I-041, I-042
    assert len(SECRET) == 43 and "=" not in SECRET
    assert signing.decode_secret_key(SECRET) == KEY_BYTES
    assert signing.decode_secret_key(SECRET + "=") == KEY_BYTES


@pytest.mark.parametrize("bad", ["", "not base64!", "abc+def/"])
def test_secret_that_is_not_base64url_is_refused(bad: str) -> None:
    with pytest.raises(signing.InvalidSecretKey):
        signing.decode_secret_key(bad)


def test_I036_negotiate_canonical_message() -> None:  # I-034, I-035, I-036
    assert (
        signing.negotiate_canonical(TS, UUID, SESSION, FIRM)
        == "1563720650008\n1563720660068\nABC\n007"
    )


def test_I038_establish_canonical_message() -> None:
    c = signing.establish_canonical(TS, UUID, SESSION, FIRM, " ", " ", " ", 1, 30)
    assert c == "1563720650008\n1563720660068\nABC\n007\n \n \n \n1\n30"
    assert not c.endswith("\n")


def test_I040_negotiate_known_answer() -> None:
    sig = signing.signature(SECRET, signing.negotiate_canonical(TS, UUID, SESSION, FIRM))
    assert sig.hex() == "efe978311c20d85e2233dd40f21b0086f06f0125141e20a43dbdc60514de0736"
    assert len(sig) == signing.SIGNATURE_SIZE == 32  # I-043


def test_I040_establish_known_answer() -> None:
    c = signing.establish_canonical(TS, UUID, SESSION, FIRM, " ", " ", " ", 1, 30)
    assert (
        signing.signature(SECRET, c).hex()
        == "b565151a6b557b9474f0880c12f2e064b931a77eb97d99a994a07e1ce9a7a7fe"
    )


def test_signed_messages_survive_the_wire_and_verify() -> None:  # I-030, I-033, I-045, I-046
    neg = signing.sign_negotiate(
        SECRET, access_key_id="A" * 20, uuid=UUID, request_timestamp=TS, session=SESSION, firm=FIRM
    )
    est = signing.sign_establish(
        SECRET, access_key_id="A" * 20, uuid=UUID, request_timestamp=TS, session=SESSION, firm=FIRM,
        trading_system_name="dropcopy", trading_system_version="0.1", trading_system_vendor="open",
        next_seq_no=1, keep_alive_interval=30000,
    )  # fmt: skip
    for msg in (neg, est):
        back = messages.decode(encode(msg)[4:])
        assert isinstance(back, messages.Negotiate500 | messages.Establish503)
        assert signing.verify(SECRET, back)
        assert back.AccessKeyID == "A" * 20


def test_one_bit_wrong_fails_verification() -> None:  # I-030
    neg = signing.sign_negotiate(
        SECRET, access_key_id="A" * 20, uuid=UUID, request_timestamp=TS, session=SESSION, firm=FIRM
    )
    sig = bytearray(neg.HMACSignature)
    sig[31] ^= 1
    tampered = messages.Negotiate500(
        HMACSignature=bytes(sig),
        AccessKeyID=neg.AccessKeyID,
        UUID=UUID,
        RequestTimestamp=TS,
        Session=SESSION,
        Firm=FIRM,
    )
    assert not signing.verify(SECRET, tampered)
    other = messages.Negotiate500(
        HMACSignature=neg.HMACSignature,
        AccessKeyID=neg.AccessKeyID,
        UUID=UUID + 1,
        RequestTimestamp=TS,
        Session=SESSION,
        Firm=FIRM,
    )
    assert not signing.verify(SECRET, other)
    wrong_key = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    assert not signing.verify(wrong_key, neg)


def test_signature_with_nul_bytes_survives_decoding() -> None:
    # HMACSignature is raw binary and may contain 0x00 (AI-12): it must not be cut at a NUL
    sig = b"\x00" * 5 + b"\x01" * 27
    neg = messages.Negotiate500(
        HMACSignature=sig, AccessKeyID="A" * 20, UUID=1, RequestTimestamp=2, Session="ABC", Firm="7"
    )
    assert messages.decode(neg.encode()).HMACSignature == sig
