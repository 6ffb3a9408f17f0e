"""Wire samples shared by the FIX tests."""

from __future__ import annotations

from dropcopy.fix import FieldValue, encode


def wire(text: str) -> bytes:
    """``|``-separated text -> SOH-separated bytes."""
    return text.replace("|", "\x01").encode("ascii")


# reference/dropcopy-wire-notes.md §2.2 (QuickFIX/n ReadXmlDataTest), verified byte for byte.
GOLDEN_35N = wire(
    "8=FIX.4.2|9=495|35=n|34=31420|369=1003|52=20200701-20:34:33.978|49=CME|50=84|56=DUMMY11|"
    "57=SID1|143=US,IL|212=392|"
    "213=<RTRF>8=FIX.4.2|9=356|35=8|34=36027|369=18623|52=20200701-20:34:33.977|49=CME|50=84|"
    "56=M2L000N|57=DUMMY|143=US,IL|"
    "1=00331|6=0|11=ACP1593635673935|14=0|17=84618:1342652|20=0|37=84778833500|38=10|39=0|40=2|"
    "41=0|44=139.203125|48=204527|"
    "54=1|55=ZN|59=0|60=20200701-20:34:33.976|107=ZNH1|150=0|151=10|167=FUT|432=20200701|1028=Y|"
    "1031=Y|"
    "5979=1593635673976364291|9717=ACP1593635673935|10=124|</RTRF>|10=028|"
)
GOLDEN_INNER = GOLDEN_35N[GOLDEN_35N.index(b"<RTRF>") + 6 : GOLDEN_35N.index(b"</RTRF>")]
GOLDEN_OUTER_HEADER: list[tuple[int, FieldValue]] = [
    (34, 31420),
    (369, 1003),
    (52, "20200701-20:34:33.978"),
    (49, "CME"),
    (50, "84"),
    (56, "DUMMY11"),
    (57, "SID1"),
    (143, "US,IL"),
]
GOLDEN_INNER_FIELDS: list[tuple[int, FieldValue]] = [
    (34, 36027),
    (369, 18623),
    (52, "20200701-20:34:33.977"),
    (49, "CME"),
    (50, "84"),
    (56, "M2L000N"),
    (57, "DUMMY"),
    (143, "US,IL"),
    (1, "00331"),
    (6, "0"),
    (11, "ACP1593635673935"),
    (14, 0),
    (17, "84618:1342652"),
    (20, 0),
    (37, "84778833500"),
    (38, 10),
    (39, "0"),
    (40, "2"),
    (41, "0"),
    (44, "139.203125"),
    (48, "204527"),
    (54, "1"),
    (55, "ZN"),
    (59, "0"),
    (60, "20200701-20:34:33.976"),
    (107, "ZNH1"),
    (150, "0"),
    (151, 10),
    (167, "FUT"),
    (432, "20200701"),
    (1028, True),
    (1031, True),
    (5979, 1593635673976364291),
    (9717, "ACP1593635673935"),
]

# A ~260-byte CGW execution report (fill), ~30 fields: the benchmark message.
EXEC_REPORT_FIELDS: list[tuple[int, FieldValue]] = [
    (34, 1203),
    (369, 1155),
    (52, "20240312-14:03:07.123"),
    (49, "CME"),
    (50, "G"),
    (56, "ABC123N"),
    (57, "TRD"),
    (1, "ACC1"),
    (6, "0"),
    (11, "ORD1"),
    (14, 5),
    (17, "8461:13426"),
    (20, 0),
    (37, "847788"),
    (38, 10),
    (39, 1),
    (40, 2),
    (44, "4512.25"),
    (54, 1),
    (55, "ES"),
    (59, 0),
    (60, "20240312-14:03:07.120"),
    (107, "ESH4"),
    (150, 1),
    (151, 5),
    (31, "4512.25"),
    (32, 5),
]
EXEC_REPORT = encode("8", EXEC_REPORT_FIELDS)

# Secure logon known-answer vector 1 (wire notes §1.3; EPAM test data, re-verified).
KAT_SECRET = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4"
KAT_ACCESS_KEY_ID = "oNDxM33uE81ohWuVRtWT"
KAT_VALUES = [
    "1",
    "B08004N",
    "MSG",
    "20170623-14:48:42.855",
    "92",
    "60",
    "US,NY",
    "0",
    "BRIO",
    "8.0",
    "ABC",
]
KAT_SIGNATURE = "oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s"
