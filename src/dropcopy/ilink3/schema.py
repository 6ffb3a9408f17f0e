"""Where the iLink 3 codec comes from: CME's official SBE schema and the generator options.

``python -m dropcopy.ilink3.schema PATH/ilinkbinary.xml`` regenerates ``messages.py``; a test
fails when regenerating from ``../shared/reference/ilinkbinary.xml`` would change it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dropcopy.sbe.codegen import generate_file

#: HMACSignature is 32 raw bytes of HMAC-SHA256 output (seed 004 "Session Security": String32Req
#: because a SHA-256 signature is always 32 bytes); it may contain NULs, so it is not text.
BINARY_FIELDS = frozenset({"HMACSignature"})

GENERATED = Path(__file__).with_name("messages.py")


def generate(schema_path: str | Path) -> str:
    return generate_file(schema_path, binary_fields=BINARY_FIELDS)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dropcopy.ilink3.schema PATH/ilinkbinary.xml", file=sys.stderr)
        return 2
    GENERATED.write_text(generate(args[0]))
    print(f"wrote {GENERATED.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
