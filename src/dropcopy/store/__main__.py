"""Schema maintenance: ``python -m dropcopy.store {upgrade,current,check,revision} [--url URL]``.

``revision -m "what changed"`` autogenerates the next migration (``r<NNNN>_<slug>.py``) by
comparing the models with a database brought to the current head (by default a scratch SQLite
file): review it, then commit it with the model change. ``check`` fails when the models and the
migrations disagree.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from .database import alembic_config, create_store_engine, current_revision, default_url, upgrade


def _next_rev_id() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    numbers = [int(r.revision) for r in script.walk_revisions() if r.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dropcopy.store", description=__doc__)
    parser.add_argument("command", choices=["upgrade", "current", "check", "revision"])
    parser.add_argument("--url", help="database URL (default: the data directory's SQLite file)")
    parser.add_argument("-m", "--message", help="revision: what the migration changes")
    args = parser.parse_args(argv)

    if args.command in ("check", "revision") and args.url is None:
        with tempfile.TemporaryDirectory() as tmp:
            return _compare(args.command, f"sqlite:///{Path(tmp) / 'scratch.db'}", args.message)
    url = args.url or default_url()
    if args.command == "upgrade":
        upgrade(url)
        return 0
    if args.command == "current":
        engine = create_store_engine(url)
        try:
            print(current_revision(engine) or "(empty)")
        finally:
            engine.dispose()
        return 0
    return _compare(args.command, url, args.message)


def _compare(what: str, url: str, message: str | None) -> int:
    upgrade(url)
    cfg = alembic_config(url=url)
    if what == "check":
        command.check(cfg)  # raises when autogenerate would produce operations
        print("the migrations match the models")
        return 0
    if not message:
        print("revision needs -m MESSAGE", file=sys.stderr)
        return 2
    command.revision(cfg, message=message, autogenerate=True, rev_id=_next_rev_id())
    return 0


if __name__ == "__main__":
    sys.exit(main())
