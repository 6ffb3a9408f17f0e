"""The generated iLink 3 codec: every template round-trips; versions; the committed module is
exactly what the generator makes of CME's schema."""

from __future__ import annotations

import json
import re
import struct
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropcopy.ilink3 import messages
from dropcopy.ilink3.schema import GENERATED, generate
from dropcopy.sbe.errors import DecodeError
from dropcopy.sbe.runtime import jsonable

from .strategies import blocks

SCHEMA_XML = Path(__file__).resolve().parents[3] / "shared" / "reference" / "ilinkbinary.xml"
needs_schema = pytest.mark.skipif(
    not SCHEMA_XML.exists(),
    reason="CME's ilinkbinary.xml is not beside the checkout (../shared/reference)",
)


@needs_schema
def test_committed_module_is_what_the_schema_generates() -> None:
    assert GENERATED.read_text() == generate(SCHEMA_XML), (
        "messages.py is stale: run python -m dropcopy.ilink3.schema ../shared/reference/ilinkbinary.xml"
    )


def test_generated_header_names_schema_and_digest() -> None:
    head = GENERATED.read_text().splitlines()[:3]
    assert "DO NOT EDIT" in head[0]
    assert "schema id 8, version 9" in head[1]
    digest = re.search(r"sha256: ([0-9a-f]{64})", head[2])
    assert digest and digest.group(1) == messages.SCHEMA_SHA256
    if SCHEMA_XML.exists():
        import hashlib

        assert hashlib.sha256(SCHEMA_XML.read_bytes()).hexdigest() == messages.SCHEMA_SHA256


@needs_schema
def test_every_template_of_the_schema_is_generated() -> None:
    ids = [
        int(i) for i in re.findall(rb'<ns2:message name="\w+" id="(\d+)"', SCHEMA_XML.read_bytes())
    ]
    assert sorted(messages.TEMPLATES) == sorted(ids)
    assert len(ids) == 56  # 12 session-layer templates (500-510, 513) and 44 business templates
    assert [t for t in messages.TEMPLATES if t <= 513] == [
        500,
        501,
        502,
        503,
        504,
        505,
        506,
        507,
        508,
        509,
        510,
        513,
    ]


def test_session_layer_frame_sizes_match_cme() -> None:
    # ilink3-schema-notes: total frame size = SOFH 4 + header 8 + blockLength (+2 empty Credentials)
    sizes = {
        500: 90,
        501: 47,
        502: 81,
        503: 146,
        504: 51,
        505: 85,
        506: 26,
        507: 79,
        508: 42,
        509: 43,
        510: 87,
        513: 29,
    }
    for tid, size in sizes.items():
        cls = messages.TEMPLATES[tid]
        assert 4 + 8 + cls.BLOCK_LENGTH + 2 * len(cls.SBE_DATA) == size, cls.NAME


@pytest.mark.parametrize("template_id", sorted(messages.TEMPLATES))
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_template_round_trips(template_id: int, data: st.DataObject) -> None:
    cls = messages.TEMPLATES[template_id]
    msg = data.draw(blocks(cls))
    wire = msg.encode()
    bl, tid, sid, ver = struct.unpack_from("<HHHH", wire)
    assert (bl, tid, sid, ver) == (cls.BLOCK_LENGTH, template_id, 8, 9)
    back = messages.decode(wire)
    assert type(back) is cls
    assert back == msg
    assert back.encode() == wire
    # every field reads without error and the whole message renders as JSON
    json.dumps(jsonable(back.to_dict()))


def v8(msg: messages._rt.MessageBase, block_length: int) -> bytes:
    wire = msg.encode()
    return (
        struct.pack("<HHHH", block_length, msg.TEMPLATE_ID, 8, 8)
        + wire[8 : 8 + block_length]
        + wire[8 + msg.BLOCK_LENGTH :]
    )


def test_v8_negotiation_response_decodes() -> None:
    # v8 -> v9 appended EnvironmentIndicator (sinceVersion 9): a v8 peer's block is 32, not 33
    msg = messages.NegotiationResponse501(
        UUID=7, RequestTimestamp=8, SecretKeySecureIDExpiration=30, FaultToleranceIndicator=messages.FTI.Primary,
        PreviousSeqNo=4, PreviousUUID=3, EnvironmentIndicator=2,
    )  # fmt: skip
    back = messages.decode(v8(msg, 32))
    assert isinstance(back, messages.NegotiationResponse501)
    assert (back.UUID, back.RequestTimestamp, back.PreviousSeqNo, back.PreviousUUID) == (7, 8, 4, 3)
    assert back.FaultToleranceIndicator is messages.FTI.Primary
    assert back.EnvironmentIndicator is None
    assert back.Credentials == b""


def test_v8_establishment_ack_decodes() -> None:
    msg = messages.EstablishmentAck504(
        UUID=11, RequestTimestamp=12, NextSeqNo=13, PreviousSeqNo=14, PreviousUUID=15, KeepAliveInterval=30000,
        SecretKeySecureIDExpiration=None, FaultToleranceIndicator=None, EnvironmentIndicator=1,
    )  # fmt: skip
    back = messages.decode(v8(msg, 38))
    assert isinstance(back, messages.EstablishmentAck504)
    assert (back.NextSeqNo, back.PreviousSeqNo, back.PreviousUUID, back.KeepAliveInterval) == (
        13,
        14,
        15,
        30000,
    )
    assert back.EnvironmentIndicator is None and back.SecretKeySecureIDExpiration is None


def test_longer_block_of_a_future_version_decodes() -> None:
    msg = messages.Sequence506(
        UUID=1, NextSeqNo=2, FaultToleranceIndicator=1, KeepAliveIntervalLapsed=0
    )
    wire = msg.encode()
    future = struct.pack("<HHHH", 20, 506, 8, 10) + wire[8:] + b"\x01\x02\x03\x04\x05\x06"
    assert messages.decode(future) == msg


def test_v8_block_too_short_for_v8_is_refused() -> None:
    msg = messages.EstablishmentAck504(
        UUID=1,
        RequestTimestamp=1,
        NextSeqNo=1,
        PreviousSeqNo=0,
        PreviousUUID=0,
        KeepAliveInterval=30000,
    )
    with pytest.raises(DecodeError, match="shorter than"):
        messages.decode(v8(msg, 37))


def test_constant_fields_take_no_wire_space() -> None:
    n = messages.Negotiate500(
        HMACSignature=bytes(32),
        AccessKeyID="K" * 20,
        UUID=1,
        RequestTimestamp=2,
        Session="ABC",
        Firm="007",
    )
    assert n.CustomerFlow == "IDEMPOTENT" and n.HMACVersion == "CME-1-SHA-256"  # I-091
    assert len(n.encode()) == 8 + 76 + 2


def test_prices_are_exact_decimals() -> None:
    msg = messages.NewOrderSingle514(
        Price=Decimal("4512.25"), OrderQty=3, SecurityID=42, Side=messages.SideReq.Buy, SeqNum=9, SenderID="TRADER",
        ClOrdID="C1", PartyDetailsListReqID=5, OrderRequestID=6, SendingTimeEpoch=7, Location="US,IL",
        OrdType=messages.OrderTypeReq.Limit, ManualOrderIndicator=messages.ManualOrdIndReq.Automated,
    )  # fmt: skip
    wire = msg.encode()
    (mantissa,) = struct.unpack_from("<q", wire, 8 + 0)
    assert mantissa == 4512250000000  # PRICE9: exponent -9
    back = messages.decode(wire)
    assert back.Price == Decimal("4512.25") and back.StopPx is None
    assert back.TimeInForce is None  # optional enum left null


def test_party_details_definition_request_matches_real_capture_header() -> None:
    # ilink3-schema-notes "Framing": a real PartyDetailsDefinitionRequest518 starts
    # e7 00 fe ca 93 00 06 02 08 00 08 00: size 231, 0xCAFE, blockLength 147, template 518,
    # schema 8, version 8; 231 = 4 + 8 + 147 + (3 + 3x22) + (3 + 0).
    from dropcopy.ilink3.codec import encode

    cls = messages.PartyDetailsDefinitionRequest518
    entry = messages.PartyDetailsDefinitionRequest518_NoPartyDetails
    msg = cls(
        PartyDetailsListReqID=1, SendingTimeEpoch=2, ListUpdateAction=messages.ListUpdAct.Add, SeqNum=3,
        NoPartyDetails=[
            entry(PartyDetailID="TRADER", PartyDetailRole=messages.PartyDetailRole.Operator),
            entry(PartyDetailID="ACCT1", PartyDetailRole=messages.PartyDetailRole.CustomerAccount),
            entry(PartyDetailID="FIRM", PartyDetailRole=messages.PartyDetailRole.ExecutingFirm),
        ],
    )  # fmt: skip
    frame = encode(msg)
    assert len(frame) == 231
    assert frame[:10] == bytes.fromhex("e700feca930006020800")
    captured = bytearray(frame)
    captured[10:12] = b"\x08\x00"  # the capture's sender spoke version 8
    back = messages.decode(bytes(captured[4:]))
    assert back == msg
    assert [p.PartyDetailID for p in back.NoPartyDetails] == ["TRADER", "ACCT1", "FIRM"]
