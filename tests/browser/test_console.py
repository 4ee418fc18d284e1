"""The web console in a real headless Chromium against a running service: a teller's request
over gRPC reaches a seat's page live; the seat decides in the page; the teller sees it."""

from __future__ import annotations

import asyncio

import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg

from tests.browser.conftest import screenshot_path, seat_page, signed_in
from tests.integration.conftest import connect, enrol, running
from tests.integration.test_evidence import ID_FRONT, SLIP, picture, upload
from tests.integration.test_seats import quick_sla_rules

pytestmark = pytest.mark.browser
OFFER_MS = 2000  # the bound: the offer shows within 2 s, with no reload


def withdrawal(key: str, teller: str = "teller-1") -> pb.TellerRequest:
    return pb.TellerRequest(operator_id=teller, outlet_id="OUT-SH-001", terminal_id="T1",
                            transaction=pb.Transaction(code="CASH_WITHDRAWAL", amount="85000",
                                                       account="6222020012345678",
                                                       customer_id=f"cust-{key}",
                                                       idempotency_key=key))


async def offered(page, case_id: str, timeout: int = OFFER_MS) -> None:
    await page.wait_for_selector(f"#offer[data-case-id='{case_id}']:not([hidden])", timeout=timeout)


async def accepted(page, case_id: str) -> None:
    await offered(page, case_id, timeout=10_000)
    await page.click("#accept")
    await page.wait_for_selector(f"#case[data-case-id='{case_id}']:not([hidden])")


async def final_state(channel, case_id: str) -> pb.CaseUpdate:
    teller = pbg.TellerChannelStub(channel)
    last = None
    async for update in teller.WatchCase(pb.WatchCaseRequest(case_id=case_id)):
        last = update
        if update.final or update.state == pb.RETURNED:
            break
    assert last is not None
    return last


async def test_a_seat_gets_the_offer_live_ticks_every_point_and_approves(service, browser):
    page = await seat_page(browser, service, "auth-web")
    async with connect(service) as channel:
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("web-approve"))
        assert d.outcome == pb.REQUIRED
        await offered(page, d.case_id)  # pushed: the page is never reloaded
        assert int(await page.inner_text("#countdown")) > 0
        await page.click("#accept")
        await page.wait_for_selector(f"#case[data-case-id='{d.case_id}']:not([hidden])")
        assert await page.inner_text("dd[data-field=account]") == "************5678"
        assert "cust-web-approve" in await page.inner_text("#tx")
        await page.wait_for_selector("#history li")  # created, offered, review started
        assert "review-started" in await page.inner_text("#history")
        assert await page.is_visible("#no-images")  # no image storage yet (issue "Evidence")
        points = page.locator("#points input.point")
        count = await points.count()
        assert count == len(d.scene.review_points) == 3
        for i in range(count):
            assert await page.is_disabled("#approve")  # not before every point is ticked
            await points.nth(i).check()
        assert await page.is_enabled("#approve")
        await page.click("#approve")
        await page.wait_for_selector("#idle:not([hidden])")
        final = await final_state(channel, d.case_id)
        assert final.state == pb.APPROVED and final.seat_id == "web-auth-web"
        # the next offer comes to the same page without a reload
        nxt = await pbg.TellerChannelStub(channel).Authorize(withdrawal("web-approve-2"))
        await offered(page, nxt.case_id)
    await page.context.close()


async def test_a_case_with_images_is_offered_once_they_are_in_and_the_seat_sees_them(
        start_service, browser):
    async with running(start_service, evidence_gate=True) as (svc, channel):
        page = await seat_page(browser, svc, "auth-img")
        teller = pbg.TellerChannelStub(channel)
        d = await teller.Authorize(withdrawal("web-images"))
        front, slip = picture(11, size=(480, 300)), picture(12, "PNG", size=(480, 300))
        await upload(channel, d.case_id, ID_FRONT, front)
        assert not await page.is_visible("#offer")  # the gate: not offered while a slip lacks
        await upload(channel, d.case_id, SLIP, slip, content_type="image/png")
        await offered(page, d.case_id)
        await page.click("#accept")
        await page.wait_for_selector(f"#case[data-case-id='{d.case_id}']:not([hidden])")
        assert not await page.is_visible("#no-images")
        thumbs = page.locator("#thumbs .thumb")
        assert await thumbs.count() == 2
        await thumbs.nth(1).click()  # the slip, full size in the viewer
        await page.wait_for_function(
            "() => { const i = document.getElementById('image');"
            " return !i.hidden && i.naturalWidth === 480; }")
        # the bytes the page is served are the original's, byte for byte
        src = await page.get_attribute("#image", "src")
        served = await page.evaluate(
            "async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer()))", src)
        assert bytes(served) == slip
        points = page.locator("#points input.point")
        for i in range(await points.count()):
            await points.nth(i).check()
        await page.screenshot(path=str(screenshot_path("seat-case.png")))
        await page.click("#approve")
        await page.wait_for_selector("#idle:not([hidden])")
        assert (await final_state(channel, d.case_id)).state == pb.APPROVED
        await page.context.close()


async def test_keyboard_rejects_with_a_reason_code_from_the_rules(service, browser):
    page = await seat_page(browser, service, "auth-rej")
    async with connect(service) as channel:
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("web-reject"))
        await offered(page, d.case_id)
        await page.keyboard.press("Enter")  # accept
        await page.wait_for_selector(f"#case[data-case-id='{d.case_id}']:not([hidden])")
        codes = await page.locator("#reason option").evaluate_all("os => os.map(o => o.value)")
        assert codes[:3] == ["SIGNATURE", "ID_MISMATCH", "PURPOSE"]  # scenes.yaml
        await page.select_option("#reason", "SIGNATURE")
        await page.fill("#reason-text", "signature differs from the specimen card")
        await page.locator("body").click(position={"x": 5, "y": 760})  # focus out of the text
        await page.keyboard.press("Alt+r")
        await page.wait_for_selector("#idle:not([hidden])")
        final = await final_state(channel, d.case_id)
        assert final.state == pb.REJECTED and final.reason_code == "SIGNATURE"
        assert final.reason_text == "signature differs from the specimen card"
    await page.context.close()


async def test_return_names_what_is_missing_and_the_supplemented_case_comes_back(service, browser):
    page = await seat_page(browser, service, "auth-ret")
    async with connect(service) as channel:
        teller = pbg.TellerChannelStub(channel)
        d = await teller.Authorize(withdrawal("web-return"))
        await accepted(page, d.case_id)
        await page.check("#missing input[value='cash_voucher/withdrawal_slip']")
        await page.fill("#missing-other", "customer's signature on page 2")
        await page.click("#return")
        await page.wait_for_selector("#idle:not([hidden])")
        returned = await final_state(channel, d.case_id)
        assert returned.state == pb.RETURNED
        assert list(returned.missing) == ["cash_voucher/withdrawal_slip", "customer's signature on page 2"]
        await teller.SupplementCase(pb.SupplementCaseRequest(
            case_id=d.case_id, supplied=["cash_voucher/withdrawal_slip"], note="slip scanned"))
        await accepted(page, d.case_id)  # back to the seat that returned it
        await page.wait_for_selector("#history li:has-text('supplemented')")
    await page.context.close()


async def test_a_supervisor_reassigns_between_two_seats_and_both_pages_update(service, browser):
    a = await seat_page(browser, service, "auth-ra")
    b = await seat_page(browser, service, "auth-rb")
    boss = await signed_in(browser, service, "super-r",
                           enrol(service, "super-r", 3, (), ("supervisor",)), "/board")
    async with connect(service) as channel:
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("web-move"))
        holder = await _first_offered((a, b), d.case_id)
        other = b if holder is a else a
        await holder.click("#accept")
        await holder.wait_for_selector(f"#case[data-case-id='{d.case_id}']:not([hidden])")
        target = "web-auth-rb" if holder is a else "web-auth-ra"
        task = boss.locator(f".task[data-case='{d.case_id}']:has-text('IN_REVIEW')")
        await task.wait_for()  # the board follows the seat's accept
        await boss.wait_for_selector(f"#seats tr[data-seat='{target}']")
        queued = withdrawal("web-queued")  # no seat here has the transfer skill: it waits
        queued.transaction.code, queued.transaction.amount = "TRANSFER", "900000"
        assert (await pbg.TellerChannelStub(channel).Authorize(queued)).outcome == pb.REQUIRED
        await boss.wait_for_selector("#queues tr[data-queue=transfer] td.depth:has-text('1')")
        await boss.screenshot(path=str(screenshot_path("supervisor-board.png")))
        await task.locator("select.target").select_option(target)
        await task.locator("button.reassign").click()
        await holder.wait_for_selector("#case", state="hidden")  # revoked on the first page
        await offered(other, d.case_id, timeout=10_000)  # offered on the second
        await boss.wait_for_selector(f"#seats tr[data-seat='{target}'] .task[data-case='{d.case_id}']")
    for page in (a, b, boss):
        await page.context.close()


async def _first_offered(pages, case_id: str):
    """The page the dispatcher offered the case to."""
    waits = {asyncio.ensure_future(offered(p, case_id, timeout=10_000)): p for p in pages}
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for w in pending:
        w.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    first = done.pop()
    first.result()
    return waits[first]


async def test_the_board_is_403_for_a_seat_without_the_supervisor_role(service, browser):
    page = await seat_page(browser, service, "auth-nosup")
    response = await page.goto(f"{service.console_url}board")
    assert response is not None and response.status == 403
    api = await page.request.post(f"{service.console_url}api/seat/view_board", data="{}", headers={
        "Content-Type": "application/json", "X-CSRF-Token": await _csrf(page)})
    assert api.status == 403 and (await api.json())["code"] == "PERMISSION_DENIED"
    await page.context.close()


async def _csrf(page) -> str:
    return await page.evaluate("fetch('/api/me').then(r => r.json()).then(me => me.csrf)")


async def test_an_action_without_the_csrf_token_is_refused(service, browser):
    page = await seat_page(browser, service, "auth-csrf")
    url = f"{service.console_url}api/seat/presence"
    body = '{"presence": "away"}'
    without = await page.request.post(url, data=body, headers={"Content-Type": "application/json"})
    assert without.status == 403 and "CSRF" in (await without.json())["message"]
    wrong = await page.request.post(url, data=body, headers={
        "Content-Type": "application/json", "X-CSRF-Token": "0" * 32})
    assert wrong.status == 403
    right = await page.request.post(url, data=body, headers={
        "Content-Type": "application/json", "X-CSRF-Token": await _csrf(page)})
    assert right.status == 200 and (await right.json()) == {"type": "presence", "away": True}
    out = await page.request.post(f"{service.console_url}api/logout", data="{}",
                                  headers={"Content-Type": "application/json"})
    assert out.status == 403  # logging out is an action too
    cookie = next(c for c in await page.context.cookies() if c["name"] == "foureyes_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "script-src 'self'" in (await page.request.get(service.console_url)).headers[
        "content-security-policy"]
    await page.context.close()


async def test_the_initiating_operator_never_sees_their_own_case(service, browser):
    own = await seat_page(browser, service, "auth-own")
    async with connect(service) as channel:
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("web-own", teller="auth-own"))
        other = await seat_page(browser, service, "auth-else")
        await offered(other, d.case_id, timeout=10_000)
        assert d.case_id not in (await own.evaluate("document.body.dataset.seen || ''"))
        assert await own.is_visible("#idle")
    for page in (own, other):
        await page.context.close()


async def test_labels_follow_the_browser_language(service, browser):
    page = await seat_page(browser, service, "auth-zh", locale="zh-CN")
    assert await page.inner_text("#idle") == "等待下一笔授权…"
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    await page.context.close()


async def test_signing_out_ends_the_session(service, browser):
    page = await seat_page(browser, service, "auth-out")
    await page.click("#signout")
    await page.wait_for_url("**/login")
    response = await page.goto(service.console_url)
    assert response is not None and page.url.endswith("/login?next=/")


async def test_the_dashboard_draws_the_statistics(service, browser):
    async with connect(service) as channel:
        teller = pbg.TellerChannelStub(channel)
        for key in ("dash-1", "dash-2", "dash-3"):
            await teller.Authorize(withdrawal(key))
    page = await signed_in(browser, service, "audit-d", enrol(service, "audit-d", roles=("auditor",)),
                           "/dashboard")
    await page.wait_for_selector("#volume svg")
    assert await page.inner_text("dd[data-total=requests]") == "3"
    assert await page.inner_text("dd[data-total=required]") == "3"
    assert await page.locator("#rates svg polyline").count() == 2
    await page.context.close()


async def test_an_escalation_arrives_on_the_board_as_a_notice(start_service, browser, tmp_path):
    svc = await start_service(rules=quick_sla_rules(tmp_path))  # cash cases: a 1 s SLA
    try:
        boss = await signed_in(browser, svc, "super-e", enrol(svc, "super-e", 3, (), ("supervisor",)),
                               "/board")
        await boss.wait_for_selector("#link.available")
        async with connect(svc) as channel:  # no authorizer is on: the case waits past its SLA
            d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("web-escalate"))
        notice = boss.locator(f"#notices li[data-case='{d.case_id}']")
        await notice.wait_for()
        assert "SLA" in await notice.inner_text()
        await boss.wait_for_selector("#queues tr[data-queue=cash] td:last-child:text-is('1')")  # escalated
        await boss.context.close()
    finally:
        await svc.stop()


async def test_the_second_approver_sees_the_first_approvers_decision(service, browser):
    a = await seat_page(browser, service, "auth-d1")
    b = await seat_page(browser, service, "auth-d2")
    async with connect(service) as channel:
        big = withdrawal("web-dual")
        big.transaction.amount = "250000"  # two approvers
        d = await pbg.TellerChannelStub(channel).Authorize(big)
        assert d.approvers == 2
        first = await _first_offered((a, b), d.case_id)
        second = b if first is a else a
        await first.click("#accept")
        await first.wait_for_selector(f"#case[data-case-id='{d.case_id}']:not([hidden])")
        assert await first.is_hidden("#first-approver")
        for box in await first.locator("#points input.point").all():
            await box.check()
        await first.click("#approve")
        await accepted(second, d.case_id)
        first_id = "auth-d1" if first is a else "auth-d2"
        assert first_id in await second.inner_text("#first")
        await second.wait_for_selector("#history li:has-text('approved-partly')")
        assert await second.inner_text("dd[data-field=approvers]") == "1 / 2"
    for page in (a, b):
        await page.context.close()
