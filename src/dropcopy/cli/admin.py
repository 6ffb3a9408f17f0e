"""``dropcopy admin``: operator commands on the store, with ``--json`` output.

Companies, Globex Firm IDs, users and their roles, iLink 3 sessions, and the Request Center
processing "run now" (P-019, AP-03). Secrets are printed once, never logged.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from dropcopy.store import Environment, Role, Store, TwoFactorMethod, open_store, repo

app = typer.Typer(help="Operator commands: firms, users, iLink 3 sessions, request processing.")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory (default $DROPCOPY_DATA_DIR)")
]
Url = Annotated[str | None, typer.Option("--db", help="database URL (default: SQLite in data dir)")]
Json = Annotated[bool, typer.Option("--json", help="print JSON")]


def _store(data_dir: Path | None, url: str | None) -> Store:
    return open_store(url, data_dir=data_dir)


def _out(as_json: bool, value: dict[str, Any]) -> None:
    if as_json:
        typer.echo(json.dumps(value, sort_keys=True))
    else:
        for k, v in value.items():
            typer.echo(f"{k}: {v}")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _company(s: Any, name: str) -> Any:
    c = repo.find_company(s, name)
    if c is None:
        _fail(f"no company {name!r}")
    return c


def _run(data_dir: Path | None, url: str | None, fn: Any) -> Any:
    from dropcopy.store import StoreError

    store = _store(data_dir, url)
    try:
        with store.session() as db:
            return fn(db, time.time_ns())
    except StoreError as e:
        _fail(str(e))
    finally:
        store.close()


@app.command("company")
def company(name: str, data_dir: DataDir = None, db: Url = None, as_json: Json = False) -> None:
    """Create a company."""
    row = _run(data_dir, db, lambda s, now: repo.create_company(s, name, now=now))
    _out(as_json, {"company_id": row.id, "name": row.name})


@app.command("firm-id")
def firm_id(
    company_name: str,
    firm: str,
    environment: Environment = Environment.CERT,
    data_dir: DataDir = None,
    db: Url = None,
    as_json: Json = False,
) -> None:
    """Give a company a Globex Firm ID in an environment (P-007)."""

    def go(s: Any, now: int) -> Any:
        c = _company(s, company_name)
        return repo.add_globex_firm_id(s, c, firm, environment, now=now)

    row = _run(data_dir, db, go)
    _out(as_json, {"firm_id": row.firm_id, "environment": str(row.environment)})


@app.command("user")
def user(
    email: str,
    name: str,
    company_name: Annotated[str, typer.Option("--company")],
    role: Annotated[Role, typer.Option("--role")] = Role.ADMINISTRATOR,
    two_factor: Annotated[TwoFactorMethod, typer.Option("--2fa")] = TwoFactorMethod.EMAIL,
    operator: Annotated[bool, typer.Option("--operator")] = False,
    data_dir: DataDir = None,
    db: Url = None,
    as_json: Json = False,
) -> None:
    """Create a user (password from $DROPCOPY_PASSWORD or a prompt) with a role in a company;
    an existing user gets the role added."""
    password = os.environ.get("DROPCOPY_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )

    def go(s: Any, now: int) -> Any:
        c = _company(s, company_name)
        u = repo.find_user(s, email)
        if u is None:
            u = repo.create_user(
                s, email, name, password, now=now, operator=operator, two_factor_method=two_factor
            )
        repo.add_membership(s, u, c, role, now=now)
        return u

    row = _run(data_dir, db, go)
    _out(as_json, {"user_id": row.id, "email": row.email, "role": str(role)})


@app.command("ilink3")
def ilink3(
    company_name: str,
    session: str,
    firm: str,
    environment: Environment = Environment.CERT,
    data_dir: DataDir = None,
    db: Url = None,
    as_json: Json = False,
) -> None:
    """Create an iLink 3 session (a source SenderComp, AX-05)."""

    def go(s: Any, now: int) -> Any:
        c = _company(s, company_name)
        return repo.create_ilink3_session(s, c, environment, session, firm, now=now)

    row = _run(data_dir, db, go)
    _out(as_json, {"ilink3_session_id": row.id, "session": row.label})


@app.command("run-batch")
def run_batch(data_dir: DataDir = None, db: Url = None, as_json: Json = False) -> None:
    """Process every In-Progress request now (the daily 4pm processing, run at once)."""
    from dropcopy.portal.batch import process_requests

    report = _run(data_dir, db, lambda s, now: process_requests(s, now, now))
    _out(as_json, report.as_dict())
