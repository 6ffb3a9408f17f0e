"""``dropcopy admin`` and ``dropcopy portal serve`` as an operator runs them: real processes, a
SQLite data directory, JSON output; the portal answers over HTTP and SFTP and stops on SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from dropcopy.portal import Portal
from dropcopy.store import open_store

EXE = [sys.executable, "-m", "dropcopy.cli.main"]


def admin(data_dir: Path, *args: str, password: str | None = None) -> dict[str, object]:
    env = dict(os.environ)
    if password is not None:
        env["DROPCOPY_PASSWORD"] = password
    done = subprocess.run(
        [*EXE, "admin", *args, "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_admin_provisions_a_company_and_runs_the_processing_now(tmp_path: Path) -> None:
    assert admin(tmp_path, "company", "Acme Trading")["name"] == "Acme Trading"
    assert admin(tmp_path, "firm-id", "Acme Trading", "007")["environment"] == "CERT"
    made = admin(
        tmp_path,
        "user",
        "ops@acme.example",
        "Ops",
        "--company",
        "Acme Trading",
        password="a long password",
    )
    assert made["email"] == "ops@acme.example" and made["role"] == "administrator"
    assert admin(tmp_path, "ilink3", "Acme Trading", "ABC", "007")["session"] == "ABC/007"
    # a request submitted through the portal, processed by "run now" (P-019, AP-03)
    store = open_store(None, data_dir=tmp_path)
    try:
        portal = Portal(store, time.time_ns)
        signed = portal.sign_in("ops@acme.example", "a long password")
        assert signed.code is not None
        actor = portal.verify_sign_in(signed.token, signed.code.code)
        (source,) = portal.source_choices(actor, "CERT")
        rid = portal.submit_create(
            actor,
            environment="CERT",
            session_type="CGW",
            number_of_sessions=1,
            business_rationale="ops",
            source_ids=[source.id],
        ).id
        report = admin(tmp_path, "run-batch")
        assert report["completed"] == [rid]
        assert portal.request(actor, rid).status == "Completed"
    finally:
        store.close()
    # a duplicate is a clear error with exit code 2
    done = subprocess.run(
        [*EXE, "admin", "company", "Acme Trading", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "already exists" in done.stderr


def test_portal_serve_answers_and_stops_on_sigint(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*EXE, "portal", "serve", "--data-dir", str(tmp_path), "--port", "0", "--sftp-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        where = json.loads(line)
        r = httpx.get(where["api"] + "/openapi.json", timeout=10)
        assert r.status_code == 200 and r.json()["info"]["title"] == "Request Center API"
        page = httpx.get(where["portal"], timeout=10, follow_redirects=True)
        assert page.status_code == 200 and "Sign In" in page.text
        assert where["sftp"].startswith("sftp://127.0.0.1:")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
