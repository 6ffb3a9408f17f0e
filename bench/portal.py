"""Request Center figures on the embedded default (SQLite file): sign-in cost (argon2id with the
production parameters), submitting requests, the 4pm processing of a day's requests, and the
REST API's latency for the Drop Copy Sessions list (in-process ASGI, no network).

    .venv/bin/python bench/portal.py [--requests 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import httpx  # noqa: E402

from dropcopy.aio.mail import MemoryMailer  # noqa: E402
from dropcopy.portal import Portal  # noqa: E402
from dropcopy.portal.app import PortalContext, create_app  # noqa: E402
from dropcopy.store import Role, open_store, repo  # noqa: E402

PASSWORD = "a long benchmark password"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(None, data_dir=Path(tmp))
        now = [time.time_ns()]
        portal = Portal(store, lambda: now[0])
        with store.session() as db:
            acme = repo.create_company(db, "Acme", now=now[0])
            repo.add_globex_firm_id(db, acme, "007", "CERT", now=now[0])
            sources = [
                repo.create_ilink3_session(db, acme, "CERT", f"S{i:02d}", "007", now=now[0]).id
                for i in range(20)
            ]
            user = repo.create_user(db, "ops@acme.example", "Ops", PASSWORD, now=now[0])
            repo.add_membership(db, user, acme, Role.ADMINISTRATOR, now=now[0])

        t = time.perf_counter()
        signed = portal.sign_in("ops@acme.example", PASSWORD, "api")
        assert signed.code is not None
        portal.verify_sign_in(signed.token, signed.code.code)
        print(f"sign-in (password + code): {(time.perf_counter() - t) * 1000:.0f} ms")
        actor = portal.actor(signed.token)

        t = time.perf_counter()
        for i in range(args.requests):
            portal.submit_create(
                actor,
                environment="CERT",
                session_type="CGW" if i % 2 else "MSGW",
                number_of_sessions=1 + i % 2,
                business_rationale=f"desk {i}",
                source_ids=sources[i % 20 : i % 20 + 3],
            )
        took = time.perf_counter() - t
        print(f"submit: {args.requests} requests in {took:.2f} s ({args.requests / took:.0f}/s)")

        now[0] += 10**9
        t = time.perf_counter()
        report = portal.run_batch(now[0])
        took = time.perf_counter() - t
        done = len(report["completed"])
        print(f"4pm processing: {done} requests in {took:.2f} s ({done / took:.0f}/s)")

        async def api_latency() -> list[float]:
            app = create_app(PortalContext(portal, MemoryMailer(), cookie_secure=False))
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {signed.token}"}
            out = []
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                for _ in range(50):
                    t = time.perf_counter()
                    r = await client.get(
                        f"/api/v1/companies/{actor.company_id}/sessions", headers=headers
                    )
                    out.append(time.perf_counter() - t)
                    assert r.status_code == 200
            return out

        lat = sorted(asyncio.run(api_latency()))
        sessions = len(portal.list_sessions(actor))
        print(
            f"GET sessions ({sessions} sessions): p50 {statistics.median(lat) * 1000:.0f} ms, "
            f"max {lat[-1] * 1000:.0f} ms"
        )
        store.close()


if __name__ == "__main__":
    main()
