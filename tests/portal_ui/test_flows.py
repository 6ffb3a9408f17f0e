"""The Request Center page's flows (seed 000), end to end in headless Chromium: one test per
flow, named after the P- rules it walks. The world is ``tests/portal/conftest.py``'s (Acme
Trading with ABC/007 and ABD/007 in CERT, ABC/007 in NEWRELEASE; Other Clearing with XYZ/900;
multi@acme.example in both)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dropcopy import keyfile
from dropcopy.portal import OwnerRef
from dropcopy.store import Company, ILink3Session, repo
from tests.portal.conftest import sign_in as api_sign_in
from tests.portal_ui.conftest import PASSWORD, TIMEOUT_MS, Server, last_code, require_browser
from tests.portal_ui.conftest import sign_in as ui_sign_in
from tests.store.conftest import ct

require_browser()

from playwright.sync_api import expect  # noqa: E402  (after the skip above)

expect.set_options(timeout=TIMEOUT_MS)

SESSIONS_TITLE = "Futures & Options - Drop Copy Sessions"
#: The daily processing of the tests' day (NOW is Tuesday 24 November 2026, 10:00 CT).
FOUR_PM = ct(2026, 11, 24, 16)


def add_dc_session(
    server: Server,
    session_id: str,
    environment: str,
    session_type: str,
    sources: list[str],
    rationale: str = "",
    company: str = "acme",
) -> int:
    """A Drop Copy session straight in the store (as if an earlier request was processed)."""
    with server.store.session() as db:
        owner = db.get(Company, server.world[company])
        assert owner is not None
        rows = [db.get(ILink3Session, server.world[name]) for name in sources]
        row = repo.create_dc_session(
            db,
            owner,
            environment,
            session_type,
            now=server.clock(),
            session_id=session_id,
            business_rationale=rationale,
            sources=[r for r in rows if r is not None],
        )
        db.flush()
        return row.id


def run_daily_processing(server: Server) -> dict[str, Any]:
    """The clock passes 4pm CT and the day's processing runs (P-019, AP-03)."""
    server.clock.now = FOUR_PM + 60 * 1_000_000_000
    return server.portal.run_batch(FOUR_PM)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def banner(page: Any) -> Any:
    return page.locator("main > .banner").first


def csrf_token(page: Any) -> str:
    value = page.locator("form.sign-out input[name=csrf_token]").get_attribute("value")
    assert value
    return str(value)


def session_ids_in_list(page: Any) -> list[str]:
    links = page.locator(
        "table[aria-label='Drop Copy sessions'] tbody tr a[href^='/sessions/']:not([data-view-ips])"
    )
    return [str(t) for t in links.all_inner_texts()]


def request_number(page: Any) -> int:
    """The request number in the banner ("Request #N submitted ...")."""
    found = re.search(r"Request #(\d+) submitted", page.get_by_role("status").inner_text())
    assert found, "no request number in the banner"
    return int(found.group(1))


def keys_of(page: Any, ref: str) -> list[str]:
    return [str(t) for t in page.locator(f"tr[data-owner='{ref}'] code").all_inner_texts()]


# -- 1. signing in -------------------------------------------------------------------------------


def test_I031_sign_in_with_the_emailed_code_wrong_code_refused(page: Any, server: Server) -> None:
    """Password, then the security code mailed to the user (I-031, AP-06); a wrong code and a
    revoked code are refused; Resend Code; the cookie's flags; CSRF; sign out."""
    page.goto("/sessions")
    expect(page).to_have_url(re.compile(r"/sign-in$"))

    page.get_by_label("Email").fill("admin@acme.example")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password.")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Security Code")).to_be_visible()
    expect(page.get_by_text("sent to your device (a***@acme.example)")).to_be_visible()
    first = last_code(server.mailer, "admin@acme.example")

    page.get_by_label("Security code").fill(other_code(first))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_have_text("The security code is not correct.")
    page.goto("/sessions")  # not signed in yet
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.goto("/sign-in/code")

    sent = len(server.mailer.sent)
    page.get_by_role("button", name="Resend Code").click()
    expect(page.get_by_role("status")).to_contain_text("A new security code was sent")
    assert len(server.mailer.sent) == sent + 1
    second = last_code(server.mailer, "admin@acme.example")
    if second != first:  # the first code was revoked by Resend Code
        page.get_by_label("Security code").fill(first)
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("alert")).to_be_visible()

    page.get_by_label("Security code").fill(second)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=SESSIONS_TITLE)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    [cookie] = [c for c in page.context.cookies() if c["name"] == "dropcopy_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    # The code is never shown on a page.
    assert second not in page.content()

    # A form without the session's CSRF token is refused with a 403 page.
    r = page.request.post(
        "/sessions/new",
        form={"csrf_token": "forged", "environment": "CERT", "session_type": "CGW"},
    )
    assert r.status == 403 and "did not come from this site" in r.text()
    assert "script-src 'self'" in r.headers["content-security-policy"]

    page.get_by_role("button", name="Sign Out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto("/requests")
    expect(page).to_have_url(re.compile(r"/sign-in$"))


# -- 2. create a session -----------------------------------------------------------------------


def test_P006_P008_P010_P013_P014_P016_P018_P022_create_session(page: Any, server: Server) -> None:
    """A multi-company user picks the company (P-008), creates a session (P-006) with the
    seed's drop-downs, notes (P-010) and rationale (P-013) and the company's own sources only
    (P-014); the banner (P-016); In-Progress on My Requests (P-018); after the 4pm processing
    Completed and the sessions listed under that company only (P-022, AP-08: 2 sessions)."""
    ui_sign_in(page, server, "multi@acme.example")
    company = page.get_by_label("Company")
    expect(company.locator("option")).to_have_text(["Acme Trading", "Other Clearing"])
    with page.expect_navigation():
        company.select_option(label="Other Clearing")
    expect(page.get_by_label("Company")).to_have_value(str(server.world["other"]))

    page.get_by_role("link", name="Create New Session").click()
    expect(page.get_by_role("heading", name="Create New Session")).to_be_visible()
    expect(page.get_by_text("Globex Firm IDs must be created before requesting")).to_be_visible()
    expect(
        page.get_by_text(
            "If you are unsure which environment to select, contact Global Account "
            "Management (GAM)."
        )
    ).to_be_visible()
    expect(page.get_by_label("Environment").locator("option")).to_have_text(["CERT", "NEWRELEASE"])
    expect(page.get_by_label("Session Type").locator("option")).to_have_text(
        ["Convenience Gateway", "Market Segment Gateway (iLink 3)"]
    )
    expect(page.get_by_label("Number of Sessions").locator("option")).to_have_text(["1", "2"])
    expect(page.locator("#fee-notice")).to_contain_text("first Drop Copy group is free")

    page.get_by_label("Environment").select_option("CERT")
    page.get_by_label("Session Type").select_option(label="Market Segment Gateway (iLink 3)")
    page.get_by_label("Number of Sessions").select_option("2")
    page.get_by_label("Business Rationale/Background").fill("Copy to our risk system")

    # Submit without a source: refused in a banner, the form kept (AP-12).
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_contain_text("Add at least one source SenderComp")
    expect(page.get_by_label("Business Rationale/Background")).to_have_value(
        "Copy to our risk system"
    )
    expect(page.get_by_label("Number of Sessions")).to_have_value("2")
    expect(page.get_by_label("Session Type")).to_have_value("MSGW")

    page.get_by_role("button", name="Add Source SenderComps").click()
    dialog = page.get_by_role("dialog", name="Add Source SenderComps")
    expect(dialog.get_by_label("XYZ/900")).to_be_visible()
    # Only Other Clearing's SenderComps: never Acme's ABC/007 or ABD/007 (P-014).
    expect(dialog.locator("[data-choice]")).to_have_count(1)
    dialog.get_by_label("XYZ/900").check()
    dialog.get_by_role("button", name="Add").click()
    selected = page.get_by_role("table", name="Selected source SenderComps")
    expect(selected.get_by_role("row")).to_have_count(2)
    expect(selected).to_contain_text("XYZ/900")
    # (x) removes it from the list; add it again.
    selected.get_by_role("button", name="Remove XYZ/900").click()
    expect(selected).not_to_contain_text("XYZ/900")
    page.get_by_role("button", name="Add Source SenderComps").click()
    dialog.get_by_label("XYZ/900").check()
    dialog.get_by_role("button", name="Add").click()
    expect(selected).to_contain_text("XYZ/900")

    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name=SESSIONS_TITLE)).to_be_visible()
    status = page.get_by_role("status")
    expect(status).to_contain_text(re.compile(r"Request #\d+ submitted"))
    expect(status).to_contain_text("In-Progress")
    request_id = request_number(page)
    # Not listed before the processing (P-022).
    expect(page.get_by_text("No Drop Copy sessions yet")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My Requests").click()
    row = page.locator(f"#request-{request_id}")
    expect(row.locator("[data-status]")).to_have_text("In-Progress")
    expect(row).to_contain_text("New Drop Copy session")
    expect(row).to_contain_text("CERT")

    report = run_daily_processing(server)
    assert report["completed"] == [request_id]
    page.reload()
    expect(row.locator("[data-status]")).to_have_text("Completed")
    row.get_by_text(f"Details of request #{request_id}").click()
    expect(row).to_contain_text("Session ID(s)")

    page.get_by_role("link", name="Drop Copy Sessions").first.click()
    expect(page.get_by_role("table", name="Drop Copy sessions").locator("tbody tr")).to_have_count(
        2
    )
    expect(page.get_by_role("table", name="Drop Copy sessions")).to_contain_text(
        "Market Segment Gateway (iLink 3)"
    )
    # The sessions belong to Other Clearing only (P-008, P-025).
    with page.expect_navigation():
        page.get_by_label("Company").select_option(label="Acme Trading")
    expect(page.get_by_text("No Drop Copy sessions yet")).to_be_visible()


# -- 3. details and editing ---------------------------------------------------------------------


def test_P027_P029_P036_P021_P039_details_edit_sources_and_failure_reason(
    page: Any, server: Server
) -> None:
    """Session ID -> Details (P-027) with Session ID, Environment, Session Type, Business
    Rationale (P-029..P-032); Manage Source SenderComps: Add and (x) Remove (P-033..P-035),
    Submit -> banner (P-036); a conflicting request Fails and My Requests shows why (P-021,
    P-039, AP-04); removing every source warns (AP-12)."""
    pk = add_dc_session(server, "DCABC1", "CERT", "CGW", ["abc"], "Risk desk copy")
    ui_sign_in(page, server, "sessions@acme.example")
    page.get_by_role("link", name="DCABC1").click()
    expect(page.get_by_role("heading", name="Session Details: DCABC1")).to_be_visible()
    expect(page.locator("[data-field=session-id]")).to_have_text("DCABC1")
    expect(page.locator("[data-field=environment]")).to_have_text("CERT")
    expect(page.locator("[data-field=session-type]")).to_have_text("Convenience Gateway")
    expect(page.locator("[data-field=business-rationale]")).to_have_text("Risk desk copy")

    sources = page.get_by_role("table", name="Source SenderComps")
    expect(sources).to_contain_text("ABC/007")
    page.get_by_role("button", name="Add Source SenderComps").click()
    dialog = page.get_by_role("dialog", name="Add Source SenderComps")
    # Attached, other environments' and other companies' SenderComps are not offered.
    expect(dialog.locator("[data-choice]:visible")).to_have_count(1)
    dialog.get_by_label("ABD/007").check()
    dialog.get_by_role("button", name="Add").click()
    expect(sources.get_by_role("row", name="ABD/007")).to_contain_text("To be added")

    # (x) on an attached source marks it for removal; Undo takes that back.
    sources.get_by_role("button", name="Remove ABC/007").click()
    expect(sources.get_by_role("row", name="ABC/007")).to_contain_text("To be removed")
    sources.get_by_role("button", name="Undo removal of ABC/007").click()
    expect(sources.get_by_role("row", name="ABC/007")).to_contain_text("Attached")

    page.get_by_role("button", name="Submit").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text(re.compile(r"Request #\d+ submitted"))
    first = request_number(page)
    expect(page.get_by_role("note")).to_contain_text(f"#{first}")

    # A second request adding the same source conflicts with the first one at 4pm.
    page.get_by_role("button", name="Add Source SenderComps").click()
    dialog.get_by_label("ABD/007").check()
    dialog.get_by_role("button", name="Add").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("status")).to_contain_text("submitted")
    second = request_number(page)

    report = run_daily_processing(server)
    assert report["completed"] == [first] and list(report["failed"]) == [str(second)]

    page.get_by_role("link", name="My Requests").click()
    expect(page.locator(f"#request-{first} [data-status]")).to_have_text("Completed")
    failed = page.locator(f"#request-{second}")
    expect(failed.locator("[data-status]")).to_have_text("Failed")
    failed.get_by_text(f"Details of request #{second}").click()
    expect(failed.locator("[data-reason]")).to_be_visible()
    expect(failed.locator("[data-reason]")).to_contain_text("Conflicts with an earlier request")
    page.get_by_label("Status").select_option("Failed")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("tr[data-request]")).to_have_count(1)

    page.goto(f"/sessions/{pk}")
    expect(sources).to_contain_text("ABD/007")
    expect(sources.get_by_role("row")).to_have_count(3)
    warning = page.get_by_text("After this change the session has no source SenderComp")
    sources.get_by_role("button", name="Remove ABC/007").click()
    expect(warning).to_be_hidden()
    sources.get_by_role("button", name="Remove ABD/007").click()
    expect(warning).to_be_visible()


# -- 4. generate and download keys ------------------------------------------------------------


def test_P041_P047_P042_P049_P052_P050_generate_and_download_keys(
    page: Any, server: Server, tmp_path: Any
) -> None:
    """Select two sessions -> Manage Keys -> Generate Keys (P-041); the window lists the
    existing Key IDs "to be expired in 4 weeks" (P-043, P-044); with two keys the user must
    pick one "to be deleted Immediately" (P-042, AP-01); banner and Download Keys window
    (P-047); Download All Key(s) needs the mailed security code (P-049), Resend Code (P-050),
    the file downloads (P-051) and parses with the key pairs (P-052, AP-07)."""
    one = add_dc_session(server, "DCKEY1", "CERT", "CGW", ["abc"])
    two = add_dc_session(server, "DCKEY2", "CERT", "MSGW", ["abd"])
    refs = [f"dropcopy:{one}", f"dropcopy:{two}"]
    ui_sign_in(page, server, "keys@acme.example")
    expect(page.get_by_role("link", name="Create New Session")).to_have_count(0)
    page.get_by_role("button", name="Manage Keys for Selected Session(s)").click()
    expect(page.get_by_role("alert")).to_have_text("Select at least one session.")
    page.get_by_label("Select DCKEY1").check()
    page.get_by_label("Select DCKEY2").check()
    page.get_by_role("button", name="Manage Keys for Selected Session(s)").click()
    expect(page.get_by_role("heading", name="Manage Keys for Selected Session(s)")).to_be_visible()
    expect(page.locator("tr[data-owner]")).to_have_count(2)

    generate = page.get_by_role("dialog", name="Generate New Keys")
    download = page.get_by_role("dialog", name="Download Keys")

    # First keys: nothing to expire.
    page.get_by_role("button", name="Generate Keys", exact=True).click()
    expect(generate.get_by_text("No existing key ID.")).to_have_count(2)
    generate.get_by_role("button", name="Generate Key(s)").click()
    expect(banner(page)).to_contain_text("Key(s) generated")
    expect(download).to_be_visible()
    download.get_by_role("button", name="Cancel").click()
    first = {ref: keys_of(page, ref) for ref in refs}
    assert all(len(v) == 1 for v in first.values())

    # Second keys: the existing one is to be expired in 4 weeks.
    page.get_by_role("button", name="Generate Keys", exact=True).click()
    for ref in refs:
        expect(generate.locator(f"li[data-key='{first[ref][0]}']")).to_contain_text(
            "Existing Key ID to be expired in 4 weeks"
        )
    generate.get_by_role("button", name="Generate Key(s)").click()
    expect(banner(page)).to_contain_text("to be expired in 4 weeks")
    download.get_by_role("button", name="Cancel").click()
    second = {ref: keys_of(page, ref) for ref in refs}
    assert all(len(v) == 2 for v in second.values())

    # Third: two keys each, so the user is prompted for the key to delete immediately.
    page.get_by_role("button", name="Generate Keys", exact=True).click()
    proceed = generate.get_by_role("button", name="Delete Selected Key(s) and Proceed")
    proceed.click()
    expect(generate.get_by_role("alert")).to_contain_text("Select a key to be deleted")
    for ref in refs:
        generate.get_by_role("radio", name=first[ref][0]).check()
    proceed.click()
    for ref in refs:
        old, newer = first[ref][0], next(k for k in second[ref] if k != first[ref][0])
        expect(generate.locator(f"li[data-key='{old}']")).to_contain_text(
            "Existing Key ID to be deleted Immediately"
        )
        expect(generate.locator(f"li[data-key='{newer}']")).to_contain_text(
            "Existing Key ID to be expired in 4 weeks"
        )
    generate.get_by_role("button", name="Generate Key(s)").click()
    expect(banner(page)).to_contain_text("deleted immediately")
    expect(download).to_be_visible()
    now = {ref: keys_of(page, ref) for ref in refs}
    for ref in refs:
        assert first[ref][0] not in now[ref] and len(now[ref]) == 2

    # Download All Key(s): a security code is sent to the device first (P-049).
    sent = len(server.mailer.sent)
    download.get_by_role("button", name="Download All Key(s)").click()
    expect(download.get_by_label("Security code")).to_be_visible()
    assert len(server.mailer.sent) == sent + 1
    code = last_code(server.mailer, "keys@acme.example")
    download.get_by_label("Security code").fill(other_code(code))
    download.get_by_role("button", name="Download All Key(s)").click()
    expect(download.get_by_role("alert")).to_have_text("The security code is not correct.")

    # Resend Code: a new code; the previous one no longer works (P-050).
    download.get_by_role("button", name="Resend Code").click()
    expect(download.get_by_label("Security code")).to_be_visible()
    assert len(server.mailer.sent) == sent + 2
    new_code = last_code(server.mailer, "keys@acme.example")
    if new_code != code:
        download.get_by_label("Security code").fill(code)
        download.get_by_role("button", name="Download All Key(s)").click()
        expect(download.get_by_role("alert")).to_be_visible()

    download.get_by_label("Security code").fill(new_code)
    with page.expect_download() as info:
        download.get_by_role("button", name="Download All Key(s)").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name.startswith("keys-") and saved.suffix == ".txt"
    entries = keyfile.parse(saved.read_text())
    assert {(e.session_id, e.access_key_id) for e in entries} == {
        (sid, k) for sid, ref in zip(("DCKEY1", "DCKEY2"), refs, strict=True) for k in now[ref]
    }
    assert all(len(e.secret_key) == 43 for e in entries)
    assert all(new_code not in m.body for m in server.mailer.sent if "downloaded" in m.subject)


# -- 5. delete keys ----------------------------------------------------------------------------


def test_P054_P055_P056_P057_delete_keys_with_confirmation(page: Any, server: Server) -> None:
    """Manage Keys -> Delete Keys (P-054): with two keys the user picks (P-055); Delete Key(s)
    then Delete Key(s) again in the confirmation window, where Cancel keeps the key (P-056);
    the banner (P-057)."""
    pk = add_dc_session(server, "DCDEL1", "CERT", "CGW", ["abc"])
    ref = OwnerRef("dropcopy", pk)
    actor = server.portal.actor(api_sign_in(server.portal, "admin@acme.example"))
    older = server.portal.generate_keys(actor, [ref])[0].access_key_id
    newer = server.portal.generate_keys(actor, [ref])[0].access_key_id

    ui_sign_in(page, server, "admin@acme.example")
    page.get_by_label("Select DCDEL1").check()
    page.get_by_role("button", name="Manage Keys for Selected Session(s)").click()
    assert sorted(keys_of(page, str(ref))) == sorted([older, newer])

    delete = page.get_by_role("dialog", name="Delete Keys")
    confirm = page.get_by_role("dialog", name="Confirm: Delete Key(s)")
    page.get_by_role("button", name="Delete Keys", exact=True).click()
    # Two keys: none is preselected, the user must pick.
    expect(delete.get_by_label(older)).not_to_be_checked()
    expect(delete.get_by_label(newer)).not_to_be_checked()
    delete.get_by_role("button", name="Delete Key(s)").click()
    expect(delete.get_by_role("alert")).to_have_text("Select the key(s) to delete.")
    delete.get_by_label(older).check()
    delete.get_by_role("button", name="Delete Key(s)").click()
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(older)
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    page.reload()
    assert sorted(keys_of(page, str(ref))) == sorted([older, newer])
    assert len(server.portal.key_overview(actor, [ref])[0].keys) == 2

    page.get_by_role("button", name="Delete Keys", exact=True).click()
    delete.get_by_label(older).check()
    delete.get_by_role("button", name="Delete Key(s)").click()
    confirm.get_by_role("button", name="Delete Key(s)").click()
    expect(page.get_by_role("status")).to_contain_text(f"Key(s) deleted: {older}")
    assert keys_of(page, str(ref)) == [newer]
    assert [k.access_key_id for k in server.portal.key_overview(actor, [ref])[0].keys] == [newer]

    # One key left: it is preselected.
    page.get_by_role("button", name="Delete Keys", exact=True).click()
    expect(delete.get_by_label(newer)).to_be_checked()


# -- 6. lists, IPs, roles ---------------------------------------------------------------------


def test_P028_P026_P001_P005_sort_filter_view_ips_roles(new_page: Any, server: Server) -> None:
    """Sort and filter the list (P-028); View IPs shows every segment's primary and backup IP
    for MSGW sessions, the CGW pair in the columns otherwise (P-026, AP-11); a viewer has no
    Create / Manage Keys / edit buttons and its POSTs are refused (P-001, AP-10); an
    administrator reaches all five functions (P-005)."""
    add_dc_session(server, "DCA001", "CERT", "CGW", ["abc"], "alpha")
    add_dc_session(server, "DCB002", "NEWRELEASE", "MSGW", ["abc_nr"], "bravo")
    cert_msgw = add_dc_session(server, "DCC003", "CERT", "MSGW", ["abd"], "charlie")

    page = new_page()
    ui_sign_in(page, server, "viewer@acme.example")
    assert session_ids_in_list(page) == ["DCA001", "DCB002", "DCC003"]
    table = page.get_by_role("table", name="Drop Copy sessions")
    table.get_by_role("link", name="Session ID").click()
    expect(page.locator("th[aria-sort=descending]")).to_have_text("Session ID")
    assert session_ids_in_list(page) == ["DCC003", "DCB002", "DCA001"]
    table.get_by_role("link", name="Environment").click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_text("Environment")
    assert session_ids_in_list(page) == ["DCA001", "DCC003", "DCB002"]
    page.get_by_label("Filter").fill("dcb")
    page.get_by_role("button", name="Apply").click()
    assert session_ids_in_list(page) == ["DCB002"]
    page.get_by_label("Filter").fill("")
    page.get_by_label("Environment").select_option("CERT")
    page.get_by_role("button", name="Apply").click()
    assert session_ids_in_list(page) == ["DCA001", "DCC003"]
    page.get_by_role("link", name="Clear filter").click()
    assert len(session_ids_in_list(page)) == 3

    # CGW: the gateway pair in Primary IP / Secondary IP; MSGW: View IPs.
    row = table.get_by_role("row", name="DCA001")
    expect(row).to_contain_text("127.0.0.1:9301")
    expect(row).to_contain_text("127.0.0.1:9302")
    table.get_by_role("link", name="View IPs of DCC003").click()
    ips = page.get_by_role("dialog", name="Gateway IPs")
    expect(ips.get_by_role("row")).to_have_count(3)
    for segment, primary, backup in (("80", "9380", "9480"), ("84", "9384", "9484")):
        cells = ips.get_by_role("row", name=re.compile(f"^{segment} ")).get_by_role("cell")
        expect(cells).to_have_text(
            [segment, re.compile("."), f"127.0.0.1:{primary}", f"127.0.0.1:{backup}"]
        )
    ips.get_by_role("button", name="Close").click()
    page.goto(f"/sessions/{cert_msgw}/ips")
    expect(page.get_by_role("heading", name="View IPs: DCC003")).to_be_visible()

    # A viewer: no create, no key management, no editing -- and the POSTs are refused.
    page.goto("/sessions")
    expect(page.get_by_role("link", name="Create New Session")).to_have_count(0)
    expect(page.get_by_role("button", name="Manage Keys for Selected Session(s)")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    expect(page.get_by_label("Company")).to_have_count(0)  # one company: no drop-down
    page.get_by_role("link", name="DCC003", exact=True).click()
    expect(page.locator("[data-field=business-rationale]")).to_have_text("charlie")
    expect(page.get_by_role("button", name="Add Source SenderComps")).to_have_count(0)
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)
    token = csrf_token(page)
    assert page.goto("/sessions/new").status == 403
    expect(page.get_by_role("alert")).to_contain_text("does not allow")
    for path, form in (
        (
            "/sessions/new",
            {"environment": "CERT", "session_type": "CGW", "number_of_sessions": "1"},
        ),
        (f"/sessions/{cert_msgw}/sources", {"add": str(server.world["abc"])}),
        ("/keys/generate", {"s": f"dropcopy:{cert_msgw}"}),
        ("/keys/code", {"s": f"dropcopy:{cert_msgw}"}),
        ("/keys/delete", {"s": f"dropcopy:{cert_msgw}", "key": f"dropcopy:{cert_msgw}|X"}),
    ):
        r = page.request.post(path, form={"csrf_token": token, "business_rationale": "x", **form})
        assert r.status == 403, (path, r.status)
    assert page.goto(f"/keys?s=dropcopy:{cert_msgw}").status == 403

    # An administrator reaches all five functions (P-005).
    admin = new_page()
    ui_sign_in(admin, server, "admin@acme.example")
    admin.get_by_role("link", name="Create New Session").click()  # 1. create
    expect(admin.get_by_role("heading", name="Create New Session")).to_be_visible()
    admin.go_back()
    admin.get_by_role("link", name="DCA001", exact=True).click()  # 2. view / edit
    expect(admin.get_by_role("button", name="Add Source SenderComps")).to_be_visible()
    admin.go_back()
    admin.get_by_label("Select DCA001").check()
    admin.get_by_role("button", name="Manage Keys for Selected Session(s)").click()
    for opener, title in (
        ("Generate Keys", "Generate New Keys"),  # 3. generate
        ("Delete Keys", "Delete Keys"),  # 4. delete
        ("Download Keys", "Download Keys"),  # 5. download
    ):
        admin.get_by_role("button", name=opener, exact=True).click()
        window = admin.get_by_role("dialog", name=title)
        expect(window).to_be_visible()
        window.get_by_role("button", name="Cancel").click()
    # iLink 3 sessions' keys too (AX-02), and the MSGW configuration file.
    admin.get_by_role("link", name="iLink 3 Sessions").click()
    admin.get_by_label("Select ABC/007 CERT").check()
    admin.get_by_role("button", name="Manage Keys for Selected Session(s)").click()
    expect(admin.locator("tr[data-owner]")).to_contain_text("ABC/007")
    admin.get_by_role("link", name="MSGW Configuration").click()
    with admin.expect_download() as info:
        admin.get_by_role("link", name="Download the CERT MSGW configuration").click()
    assert info.value.suggested_filename == "DC_MSGW_Configuration_CERT.csv"


@pytest.mark.parametrize("path", ["/static/portal.css", "/static/portal.js"])
def test_static_files_are_served_from_the_package(server: Server, path: str) -> None:
    import httpx

    r = httpx.get(server.base_url + path)
    assert r.status_code == 200 and len(r.text) > 100
