"""Writes samples/capture.hex: a small mixed capture for ``dropcopy decode``.

An iLink 3 conversation (signed Negotiate and Establish, their acknowledgments, an order, its
acknowledgment and a fill), a few bytes of line noise, then Drop Copy FIX traffic: a Heartbeat
and CME's published 35=n sample (dropcopy-wire-notes §2.2). Run from the repository root:
``.venv/bin/python samples/make_capture.py``.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path

from dropcopy.fix import codec as fix
from dropcopy.ilink3 import codec, messages, signing

m = messages
SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
KEY = "DEMOACCESSKEY0000001"
UUID = 1_763_800_000_000_000
T0 = 1_763_800_000_000_000_000

frames = [
    signing.sign_negotiate(
        SECRET, access_key_id=KEY, uuid=UUID, request_timestamp=T0, session="ABC", firm="007"
    ),
    m.NegotiationResponse501(
        UUID=UUID,
        RequestTimestamp=T0,
        SecretKeySecureIDExpiration=27,
        FaultToleranceIndicator=m.FTI.Primary,
        PreviousSeqNo=0,
        PreviousUUID=0,
        EnvironmentIndicator=1,
    ),
    signing.sign_establish(
        SECRET,
        access_key_id=KEY,
        uuid=UUID,
        request_timestamp=T0 + 1_000_000,
        session="ABC",
        firm="007",
        trading_system_name="dropcopy",
        trading_system_version="0.1",
        trading_system_vendor="open",
        next_seq_no=1,
        keep_alive_interval=30000,
    ),
    m.EstablishmentAck504(
        UUID=UUID,
        RequestTimestamp=T0 + 1_000_000,
        NextSeqNo=1,
        PreviousSeqNo=0,
        PreviousUUID=0,
        KeepAliveInterval=30000,
        SecretKeySecureIDExpiration=27,
        FaultToleranceIndicator=m.FTI.Primary,
        EnvironmentIndicator=1,
    ),
    m.NewOrderSingle514(
        Price=Decimal("139.203125"),
        OrderQty=10,
        SecurityID=204527,
        Side=m.SideReq.Buy,
        SeqNum=1,
        SenderID="TRADER1",
        ClOrdID="ORD1",
        PartyDetailsListReqID=700001,
        OrderRequestID=1,
        SendingTimeEpoch=T0 + 2_000_000,
        Location="US,IL",
        OrdType=m.OrderTypeReq.Limit,
        ManualOrderIndicator=m.ManualOrdIndReq.Automated,
        TimeInForce=m.TimeInForce.Day,
    ),
    m.ExecutionReportNew522(
        SeqNum=1,
        UUID=UUID,
        ExecID="84618:1342652",
        SenderID="TRADER1",
        ClOrdID="ORD1",
        PartyDetailsListReqID=700001,
        OrderID=84778833500,
        Price=Decimal("139.203125"),
        TransactTime=T0 + 2_100_000,
        SendingTimeEpoch=T0 + 2_100_000,
        OrderRequestID=1,
        Location="US,IL",
        SecurityID=204527,
        OrderQty=10,
        OrdType=m.OrderTypeReq.Limit,
        Side=m.SideReq.Buy,
        TimeInForce=m.TimeInForce.Day,
        ManualOrderIndicator=m.ManualOrdIndReq.Automated,
        PossRetransFlag=m.BooleanFlag.False_,
    ),
    m.Sequence506(
        UUID=UUID,
        NextSeqNo=2,
        FaultToleranceIndicator=m.FTI.Primary,
        KeepAliveIntervalLapsed=m.KeepAliveLapsed.NotLapsed,
    ),
]

lines = [codec.encode(f).hex() for f in frames]
lines.append(b"line noise\x00\xff".hex())
lines.append(
    fix.encode(
        "0",
        [
            (34, 7),
            (49, "CME"),
            (50, "G"),
            (52, "20200701-20:34:33.978"),
            (56, "DUMMY11"),
            (57, "SID1"),
            (369, 3),
        ],
    ).hex()
)
golden = (
    "8=FIX.4.2|9=495|35=n|34=31420|369=1003|52=20200701-20:34:33.978|49=CME|50=84|56=DUMMY11|57=SID1|143=US,IL|212=392|"
    "213=<RTRF>8=FIX.4.2|9=356|35=8|34=36027|369=18623|52=20200701-20:34:33.977|49=CME|50=84|56=M2L000N|57=DUMMY|143=US,IL|"
    "1=00331|6=0|11=ACP1593635673935|14=0|17=84618:1342652|20=0|37=84778833500|38=10|39=0|40=2|41=0|44=139.203125|48=204527|"
    "54=1|55=ZN|59=0|60=20200701-20:34:33.976|107=ZNH1|150=0|151=10|167=FUT|432=20200701|1028=Y|1031=Y|"
    "5979=1593635673976364291|9717=ACP1593635673935|10=124|</RTRF>|10=028|"
).replace("|", "\x01")
lines.append(golden.encode().hex())
Path(__file__).with_name("capture.hex").write_text("\n".join(lines) + "\n")
print(f"wrote {len(lines)} lines")
