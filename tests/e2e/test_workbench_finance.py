"""The workbench's cashier screens in a real browser, in both run modes: a payment taken with a double click is one
payment, its receipt prints under the workbench's CSP, its PDF carries the amount in capitals, and a reversal
with a reason and a confirmation marks the receipt 已冲正."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import openpyxl
import pypdf
import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from .browser import PHONE, csp_violations, csrf_of, fresh, sign_in, wait_for, wait_text, web_session
from .conftest import Client, approved_renovation, make_household
from .test_workbench import staff

pytestmark = pytest.mark.timeout(300)
TIMEOUT = 30.0


def billed_household(admin: Client) -> dict:
    """A household whose unit (89.50 m²) owes ¥223.75 of 物业服务费 for 2026-11, and a finance login."""
    household = make_household(admin)
    cid = household["community"]["id"]
    admin.created(
        "/api/v1/billing/fee-items",
        {
            "community_id": cid,
            "name": "物业服务费",
            "kind": "property_service",
            "basis": "per_m2",
            "rate": 2.5,
            "effective_from": "2026-01-01",
        },
    )
    run = admin.post("/api/v1/billing-runs", json={"community_id": cid, "period": "2026-11"})
    assert run.status_code == 201 and run.json()["bills_created"] == 1, run.text
    return {**household, "finance": staff(admin, household, "finance")}


def _names_warnings(stack) -> list[str]:
    """What billing logged about staff names (distributed mode writes each process's log under its log_dir)."""
    log_dir = getattr(stack, "log_dir", None)
    if not log_dir:
        return []
    return [line for path in log_dir.glob("billing*.log") for line in path.read_text().splitlines() if "names" in line]


def payments_of(admin: Client, unit_id: str) -> list[dict]:
    return admin.get("/api/v1/payments", params={"unit_id": unit_id}).json()["items"]


def open_as_finance(browser, stack, place: dict, path: str) -> tuple[str, str]:
    """Sign the household's finance login in (the nav offers the cashier's screens) and open `path`."""
    username, password, _ = place["finance"]
    fresh(browser)
    sign_in(browser, stack.url, username, password)
    wait_for(browser, "#nav-finance")
    browser.get(stack.url + path)
    return username, password


def test_a_double_clicked_payment_is_one_payment_with_a_receipt_and_its_pdf(stack, admin, browser):
    place = billed_household(admin)
    unit_id = place["unit"]["id"]
    username, password = open_as_finance(browser, stack, place, f"/finance/units/{unit_id}")
    wait_text(browser, "#outstanding", "¥223.75")
    assert "物业服务费" not in browser.find_element(By.ID, "bills").text  # the lines come on demand
    browser.find_element(By.CSS_SELECTOR, "#bills button[hx-get]").click()
    wait_text(browser, "#bills .bill-lines", "物业服务费")

    Select(browser.find_element(By.NAME, "method")).select_by_value("bank_transfer")
    browser.find_element(By.NAME, "reference").send_keys("TX-20261102-001")
    ActionChains(browser).double_click(browser.find_element(By.ID, "pay")).perform()
    WebDriverWait(browser, TIMEOUT).until(lambda b: "/finance/payments/" in b.current_url)
    wait_text(browser, "#amount-in-words", "贰佰贰拾叁元柒角伍分")
    receipt = browser.find_element(By.ID, "receipt").text
    assert "银行转账" in receipt and "TX-20261102-001" in receipt and "物业服务费" in receipt
    assert "2026-11" in receipt and place["community"]["name"] in receipt and "¥223.75" in receipt
    # The cashier by name. A display name never fails a page: when billing's call for it is slow (once, on a loaded CI
    # machine) the receipt shows the id, and the name once the gateway answers again, on a reload.
    try:
        WebDriverWait(browser, TIMEOUT, poll_frequency=2).until(
            lambda b: f"finance {username[-4:]}" in b.find_element(By.ID, "receipt").text or b.refresh()
        )
    except TimeoutException:
        raise AssertionError(f"no cashier name on the receipt; billing said: {_names_warnings(stack)}") from None
    assert len(payments_of(admin, unit_id)) == 1  # two submits of one form, one payment

    # The print button works under the CSP (a script file, no inline handler): window.print is called.
    browser.execute_script("window.print = function () { document.body.dataset.printed = 'yes'; };")
    browser.find_element(By.ID, "print").click()
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-printed") == "yes"
    assert csp_violations(browser) == []

    payment_id = browser.current_url.rsplit("/", 1)[1]
    session = web_session(stack.url, username, password)
    pdf = session.get(f"{stack.url}/finance/payments/{payment_id}/receipt.pdf", timeout=30)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "贰佰贰拾叁元柒角伍分" in text and "物业服务费" in text and "2026-11" in text
    assert "银行转账" in text and "已冲正" not in text

    # A resubmit of the same form (its Idempotency-Key) leads to the same receipt and records nothing more.
    form = session.get(f"{stack.url}/finance/units/{unit_id}", timeout=30).text
    fields = {
        "csrf_token": csrf_of(form),
        "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1),
        "amount": "10.00",
        "method": "cash",
        "prepaid": "1",
    }
    answers = [
        session.post(f"{stack.url}/finance/units/{unit_id}/payments", data=fields, allow_redirects=False, timeout=30)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert len(payments_of(admin, unit_id)) == 2
    forged = {**fields, "csrf_token": "x" * 43, "idempotency_key": "another-key"}
    refused = session.post(f"{stack.url}/finance/units/{unit_id}/payments", data=forged, allow_redirects=False)
    assert refused.status_code == 403 and len(payments_of(admin, unit_id)) == 2

    # The API's own printable page works under its own policy: its stylesheet and button are admitted by hash.
    finance = Client(stack.url).login(username, password)
    page = finance.get(f"/api/v1/payments/{payment_id}/receipt.html")
    assert page.status_code == 200 and "sha256-" in page.headers["Content-Security-Policy"]


def test_a_reversal_asks_for_a_reason_and_a_confirmation_then_marks_the_receipt(stack, admin, browser):
    place = billed_household(admin)
    unit_id = place["unit"]["id"]
    payment = admin.created("/api/v1/payments", {"unit_id": unit_id, "amount": "100.50", "method": "cash"})
    username, password = open_as_finance(browser, stack, place, f"/finance/payments/{payment['id']}")
    wait_text(browser, "#amount-in-words", "壹佰元伍角整")
    browser.find_element(By.CSS_SELECTOR, "#action-reverse summary").click()
    browser.find_element(By.ID, "reverse").click()  # no reason chosen: refused under the field, nothing written
    wait_text(browser, "#reason_code-error", "原因")
    assert payments_of(admin, unit_id)[0]["status"] == "received"

    Select(browser.find_element(By.NAME, "reason_code")).select_by_value("entry_error")
    browser.find_element(By.ID, "reverse").click()
    wait_text(browser, "#confirm-reversal", payment["receipt_number"])
    assert payments_of(admin, unit_id)[0]["status"] == "received"  # the confirmation page writes nothing
    browser.find_element(By.ID, "confirm").click()
    wait_text(browser, "#reversed", "已冲正")
    assert payments_of(admin, unit_id)[0]["status"] == "reversed"
    assert admin.get(f"/api/v1/billing/units/{unit_id}/account").json()["outstanding"] == "223.75"
    # No CSP violation (the one 422 is the form refused on purpose above).
    assert [m for m in csp_violations(browser) if "status of 422" not in m] == []

    session = web_session(stack.url, username, password)
    pdf = session.get(f"{stack.url}/finance/payments/{payment['id']}/receipt.pdf", timeout=30)
    assert "已冲正" in "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)


def test_a_billing_run_is_previewed_then_run_with_its_progress_to_the_end(stack, admin, browser):
    place = billed_household(admin)  # 2026-11 is billed already; 2026-12 is not
    cid = place["community"]["id"]
    admin.created(
        "/api/v1/units",
        {"building_id": place["building"]["id"], "number": "1-102", "floor": 1, "area_m2": "100.00"},
    )
    username, password = open_as_finance(browser, stack, place, f"/finance/runs?community_id={cid}")
    period = browser.find_element(By.NAME, "period")
    period.send_keys("2026-13")
    browser.find_element(By.ID, "preview").click()
    wait_text(browser, "#run-errors", "period")  # the API's refusal, naming the field

    period.clear()
    period.send_keys("2026-12")
    browser.find_element(By.ID, "preview").click()
    preview = wait_text(browser, "#run-preview", "预览")
    wait_text(browser, "#run-preview .run-bills", "2")
    assert "¥473.75" in preview.text and "物业服务费" in preview.text  # 89.50 m² and 100 m² × 2.50
    assert admin.get("/api/v1/billing/bills", params={"community_id": cid, "period": "2026-12"}).json()["total"] == 0

    run_id = browser.find_element(By.CSS_SELECTOR, "#start-run-form [name=run_id]").get_attribute("value")
    browser.find_element(By.ID, "start-run").click()
    result = wait_text(browser, "#run-result", "已完成")
    assert "2/2" in result.text and "¥473.75" in result.text
    # The fragment the page polls while the run runs: done, so it stops asking.
    progress = web_session(stack.url, username, password).get(f"{stack.url}/finance/runs/{run_id}/progress")
    assert "2/2" in progress.text and "hx-trigger" not in progress.text
    assert admin.get("/api/v1/billing/bills", params={"community_id": cid, "period": "2026-12"}).json()["total"] == 2

    # Running 2026-11 again bills nothing and says why: both units are billed for it already.
    browser.get(f"{stack.url}/finance/runs?community_id={cid}")
    wait_for(browser, "#run-form").find_element(By.NAME, "period").send_keys("2026-11")
    browser.find_element(By.ID, "preview").click()
    wait_text(browser, "#run-preview .run-skipped", "本期已计费")
    assert [m for m in csp_violations(browser) if "status of 422" not in m] == []


def test_the_dashboard_draws_every_chart_with_its_table_and_workbook(stack, admin, browser):
    place = billed_household(admin)
    cid, unit_id = place["community"]["id"], place["unit"]["id"]
    admin.created("/api/v1/payments", {"unit_id": unit_id, "amount": "100.00", "method": "cash"})
    admin.created("/api/v1/tickets", {"unit_id": unit_id, "category": "repair", "description": "厨房水龙头漏水"})
    username, password, manager_id = staff(admin, place, "cs_manager")
    # The other panels' data: a household visited (familiarity), a patrol round completed, a renovation violation.
    admin.created(f"/api/v1/residents/{place['resident']['id']}/contacts", {"kind": "visit", "effective": True})
    plan = admin.created(
        "/api/v1/tickets/patrols/plans",
        {
            "zone_id": place["unit"]["zone_id"],
            "name": "一区日常巡查",
            "frequency": "daily",
            "staff_ids": [manager_id],
            "checkpoints": [{"code": "CP-A", "name": "大堂"}],
        },
    )
    patrol = admin.created("/api/v1/tickets/patrols/rounds", {"plan_id": plan["id"]})
    assert admin.post(f"/api/v1/tickets/patrols/rounds/{patrol['id']}/complete").status_code == 200
    admin.created(
        f"{approved_renovation(admin, place)}/inspections",
        {"findings": "封闭阳台", "violation": {"category": "debris", "severity": "serious", "evidence": "外立面改动",
                                              "rectify_by": (date.today() + timedelta(days=7)).isoformat()}},
    )  # fmt: skip
    fresh(browser)
    sign_in(browser, stack.url, username, password)
    wait_for(browser, "#nav-dashboard")
    browser.get(f"{stack.url}/dashboard?community_id={cid}&period=2026-11")
    zone = wait_for(browser, "#chart-collection-zone")
    # 100.00 of 223.75 collected: 44.7 % — a red bar (below the 85 % target) and the dashed target line.
    bar = zone.find_element(By.CSS_SELECTOR, "svg rect.bar")
    assert bar.get_attribute("fill") == "#c62828" and "44.7%" in zone.text and "一区" in zone.text
    assert zone.find_elements(By.CSS_SELECTOR, "svg line[stroke-dasharray]")
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-collection-butler svg rect.bar")
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-ageing svg rect.bar")
    assert "¥123.75" in browser.find_element(By.ID, "chart-ageing").text
    tickets = browser.find_element(By.ID, "chart-tickets")
    assert len(tickets.find_elements(By.CSS_SELECTOR, "svg rect.bar")) == 8  # eight weeks, this one with a ticket
    # This week: the repair and the violation's rectification ticket (the bus may still be delivering it).
    assert tickets.find_elements(By.CSS_SELECTOR, "tbody tr")[-1].text.split()[1] in ("1", "2")
    assert "回访成功" in tickets.text  # satisfaction and the visits behind it, week by week
    # Familiarity 100 % / effective 100 % in 一区: two green bars, each with its dashed target tick.
    known = browser.find_element(By.ID, "chart-familiarity")
    assert [b.get_attribute("fill") for b in known.find_elements(By.CSS_SELECTOR, "svg rect.bar")] == [
        "#2e7d32",
        "#1565c0",
    ]
    assert len(known.find_elements(By.CSS_SELECTOR, "svg line[stroke-dasharray]")) == 2
    assert "一区" in known.text and "100.0% (1)" in known.text and "熟悉率" in known.text
    patrols = browser.find_element(By.ID, "chart-patrols")
    assert patrols.find_elements(By.CSS_SELECTOR, "svg rect.bar") and "一区" in patrols.text
    assert patrols.find_element(By.CSS_SELECTOR, "tbody tr").text.split()[-1] == "否"  # not overdue
    broken = browser.find_element(By.ID, "chart-violations")
    assert "装修违规 · 1" in broken.text and len(broken.find_elements(By.CSS_SELECTOR, "svg rect.bar")) == 6
    assert broken.find_element(By.CSS_SELECTOR, "tbody tr").text.split()[-3:] == ["1", "1", "1"]
    assert csp_violations(browser) == []

    session = web_session(stack.url, username, password)
    for chart, header in (
        ("collection-zone", "收缴率"),
        ("ageing", "0–30天"),
        ("tickets", "满意度"),
        ("familiarity", "有效沟通率"),
        ("patrols", "最近巡逻"),
        ("violations", "未整改"),
    ):
        answer = session.get(
            f"{stack.url}/dashboard/{chart}.xlsx", params={"community_id": cid, "period": "2026-11"}, timeout=30
        )
        assert answer.status_code == 200, chart
        sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).worksheets[0]
        assert header in [c.value for c in sheet[1]], chart
        assert sheet.max_row >= 2, chart


def test_the_cashier_and_dashboard_pages_do_not_scroll_sideways_on_a_phone(stack, admin, browser):
    place = billed_household(admin)
    cid, unit_id = place["community"]["id"], place["unit"]["id"]
    payment = admin.created(
        "/api/v1/payments", {"unit_id": unit_id, "amount": "223.75", "method": "alipay", "reference": "2026" * 8}
    )
    manager = staff(admin, place, "cs_manager")
    pages = {
        place["finance"]: ["/finance", f"/finance/units/{unit_id}", f"/finance/payments/{payment['id']}"],
        manager: [
            f"/dashboard?community_id={cid}&period=2026-11",
            f"/finance/runs?community_id={cid}",
            f"/reports?community_id={cid}",
            f"/reports/weekly?community_id={cid}",
            f"/reports/complaints?community_id={cid}",
            f"/reports/fees-monthly?community_id={cid}&month=2026-11",
            f"/reports/fees-weekly?community_id={cid}",
        ],
    }
    for (username, password, _), paths in pages.items():
        fresh(browser, PHONE)
        sign_in(browser, stack.url, username, password)
        wait_for(browser, "#nav-finance")
        for path in paths:
            browser.get(stack.url + path)
            wait_for(browser, "main")
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375 px"
