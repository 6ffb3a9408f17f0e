"""Browser tests of the Request Center web UI: the real app served by uvicorn on 127.0.0.1 (an
ephemeral port, in a thread), driven by headless Chromium through Playwright's sync API.

The store is SQLite only (PostgreSQL is covered by the API tests), the clock is the tests'
:class:`FakeClock`, security codes land in a :class:`MemoryMailer`. Chromium is Debian's
``/usr/bin/chromium`` (Playwright cannot download its own browsers here; override with
``DROPCOPY_CHROMIUM``). Without it the tests skip, unless ``DROPCOPY_REQUIRE_SERVICES=1``.
"""

# ruff: noqa: F811  (fixtures imported from tests.portal.conftest are used as parameters)
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dropcopy.aio.mail import MemoryMailer
from dropcopy.portal import Portal
from dropcopy.portal.app import PortalContext, create_app
from dropcopy.store import Store
from tests.portal.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    FakeClock,
    clock,
    context,
    last_code,
    mailer,
    master_key,
    portal,
    store,
    url,
    world,
)

CHROMIUM = os.environ.get("DROPCOPY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


def _unavailable(reason: str) -> None:
    if os.environ.get("DROPCOPY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and DROPCOPY_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(
        f"{reason}; set DROPCOPY_REQUIRE_SERVICES=1 to make this a failure",
        allow_module_level=True,
    )


def require_browser() -> None:
    """Skip the calling test module (at import) when Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright==1.65.2)")


@pytest.fixture
def backend() -> str:
    """Browser tests use SQLite only."""
    return "sqlite"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module scope, not session: Playwright's sync API keeps an event loop running in the main
    thread until it stops, and every later asyncio test would find it there."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Server:
    base_url: str
    portal: Portal
    store: Store
    clock: FakeClock
    mailer: MemoryMailer
    world: dict[str, int]


@pytest.fixture
def server(
    context: PortalContext,
    portal: Portal,
    store: Store,
    clock: FakeClock,
    mailer: MemoryMailer,
    world: dict[str, int],
) -> Iterator[Server]:
    """The app (cookies not ``Secure``: plain HTTP) served by uvicorn in a thread."""
    import uvicorn

    app = create_app(context)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="portal-ui-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield Server(f"http://127.0.0.1:{port}", portal, store, clock, mailer, world)
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def new_page(browser: Any, server: Server) -> Iterator[Any]:
    """``new_page()``: a page in a fresh browser context (its own cookies), downloads on."""
    contexts: list[Any] = []

    def make() -> Any:
        ctx = browser.new_context(base_url=server.base_url, accept_downloads=True)
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page()


def sign_in(page: Any, server: Server, email: str) -> None:
    """Sign ``email`` in through the UI: password, then the mailed security code."""
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Security code").fill(last_code(server.mailer, email))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Futures & Options - Drop Copy Sessions").wait_for()
