"""The residents' mobile pages (/m/) on a whole embedded instance, through the workbench's Flask test client: the SMS
sign-in, a resident session kept apart from the staff screens both ways, and two households that never see each
other's household, bills, receipts, tickets or inbox messages — not even by typing the address; binding WeChat
through the fake official account's OAuth page, and the staff's inbox and binding codes."""

from __future__ import annotations

import html
import importlib.util
import io
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from guanjia.testing import TEST_SMS_LIMITS_ENV, embedded_instance
from guanjia.testing import ApiClient as Api

ADMIN_PASSWORD = "mobile-admin-password-1"
CALLBACK_SECRET = "mobile-callback-secret-1"


def _png() -> bytes:
    """A small real PNG: the tickets API proves an image by its content."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture(scope="module")
def provider():
    """The fake payment provider, a real local HTTP server (billing's callback address is set once it runs)."""
    from guanjia.fakepay import FakePaymentProvider

    fake = FakePaymentProvider(notify_url="", secret=CALLBACK_SECRET).start()
    yield fake
    fake.stop()


def _fake_providers():
    """The notifications tests' fake providers (its fake WeChat official account), loaded by path as the bench does."""
    name = "notifications_fake_providers"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[3] / "notifications" / "tests" / "fake_providers.py"
        spec = importlib.util.spec_from_file_location(name, path)
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def wechat():
    """The fake WeChat official account: its API for notifications, its OAuth page for the residents' browsers."""
    with _fake_providers().FakeWechatServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory, provider, wechat):
    env = {
        "GUANJIA_BILLING_CALLBACK_SECRET": CALLBACK_SECRET,  # billing verifies the provider's callbacks with it
        "GUANJIA_PAYMENT_PROVIDER_URL": provider.url,  # the workbench opens residents' orders there
        "GUANJIA_WECHAT_APP_ID": _fake_providers().WECHAT_APP_ID,
        "GUANJIA_WECHAT_APP_SECRET": _fake_providers().WECHAT_SECRET,
        "GUANJIA_WECHAT_ENDPOINT": wechat.url,
        "GUANJIA_WECHAT_AUTHORIZE_URL": wechat.url + "/connect/oauth2/authorize",
        **TEST_SMS_LIMITS_ENV,
    }
    with embedded_instance(tmp_path_factory.mktemp("mobile-var"), ADMIN_PASSWORD, **env) as stack:
        provider.notify_url = stack.url + "/api/v1/payments/callback"
        yield stack


@pytest.fixture(scope="module")
def admin(stack) -> Api:
    answer = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    )
    return Api(stack.url, answer.json()["access_token"])


def _household(admin: Api, phone: str, name: str) -> dict:
    """Community → zone → building → unit → a resident moved in, and a bill billing knows for the unit."""
    label = uuid.uuid4().hex[:6]
    community = admin.post("/api/v1/communities", {"name": f"移动小区 {label}"})
    zone = admin.post("/api/v1/zones", {"community_id": community["id"], "name": "一区"})
    building = admin.post("/api/v1/buildings", {"community_id": community["id"], "name": "2栋", "zone_id": zone["id"]})
    unit = admin.post(
        "/api/v1/units", {"building_id": building["id"], "number": f"2-{label[:3]}", "floor": 1, "area_m2": "90.00"}
    )
    resident = admin.post("/api/v1/residents", {"unit_id": unit["id"], "name": name, "phone": phone, "role": "owner"})
    admin.post(f"/api/v1/units/{unit['id']}/move-in", {"resident_id": resident["id"]})
    deadline = time.monotonic() + 20
    while admin.get(f"/api/v1/billing/units/{unit['id']}").status_code != 200:  # billing learns the unit by event
        assert time.monotonic() < deadline, "billing never learnt the unit"
        time.sleep(0.1)
    bill = admin.post(
        "/api/v1/billing/bills", {"unit_id": unit["id"], "description": f"水费 {name}", "amount": "88.50"}
    )
    payment = admin.post(
        "/api/v1/payments", {"unit_id": unit["id"], "amount": "88.50", "method": "cash", "bill_ids": [bill["id"]]}
    )
    return {"unit": unit, "resident": resident, "phone": phone, "name": name, "bill": bill, "payment": payment}


@pytest.fixture(scope="module")
def households(admin):
    return _household(admin, "13700137001", "王小明"), _household(admin, "13700137002", "李大红")


@pytest.fixture(scope="module")
def workbench(stack):
    return stack.upstreams["workbench"].wsgi_app


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(workbench, console_sms_codes, phone: str):
    """A browser-like test client that signed in at /m/signin with the texted code."""
    browser = workbench.test_client()
    page = browser.get("/m/signin")
    assert page.status_code == 200 and "m-phone-form" in page.text
    mark = len(console_sms_codes.lines)
    sent = browser.post("/m/signin/code", data={"phone": phone, "csrf_token": _csrf(page.text)})
    assert sent.status_code == 200 and "m-code-form" in sent.text
    code = console_sms_codes.code_for(phone, mark)
    answer = browser.post("/m/signin", data={"phone": phone, "code": code, "csrf_token": _csrf(sent.text)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/m/")
    return browser


@pytest.fixture(scope="module")
def residents(workbench, console_sms_codes, households):
    return tuple(_signed_in(workbench, console_sms_codes, h["phone"]) for h in households)


def test_the_sms_sign_in_shows_my_household_in_chinese(residents, households):
    mine, theirs = households
    home = residents[0].get("/m/")
    assert home.status_code == 200
    assert "我的房屋" in home.text and mine["unit"]["number"] in home.text and mine["name"] in home.text
    assert theirs["unit"]["number"] not in home.text and theirs["name"] not in home.text


def test_a_wrong_code_is_refused_under_the_field(workbench, households):
    browser = workbench.test_client()
    page = browser.get("/m/signin")
    answer = browser.post(
        "/m/signin", data={"phone": households[0]["phone"], "code": "000000", "csrf_token": _csrf(page.text)}
    )
    assert answer.status_code == 422 and 'id="code-error"' in answer.text
    assert "gj_resident" not in answer.headers.get("Set-Cookie", "")


def test_pages_need_a_resident_session(workbench):
    browser = workbench.test_client()
    for path in (
        "/m/",
        "/m/bills",
        "/m/tickets",
        "/m/repair",
        "/m/notices",
        "/m/receipts",
        "/m/inbox",
        "/m/wechat",
        "/m/surveys",
        "/m/knowledge",
        "/m/activities",
        "/m/services",
        "/m/birthday",
    ):
        answer = browser.get(path)
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/m/signin"), path


def test_a_resident_session_never_opens_a_staff_page(residents, households):
    browser = residents[0]
    for path in (
        "/",
        "/tickets",
        "/finance",
        f"/units/{households[0]['unit']['id']}",
        "/search?q=13700137001",
        "/inbox",
    ):
        answer = browser.get(path)
        assert answer.status_code == 303 and "/signin" in answer.headers["Location"], path
    # Even the resident's cookie presented as the staff one opens nothing.
    cookie = browser.get_cookie("gj_resident", path="/m/")
    forged = browser.application.test_client()
    forged.set_cookie("gj_session", cookie.value)
    assert forged.get("/tickets").status_code == 303


def _staff(workbench):
    """A test client signed in to the staff screens as the admin."""
    staff = workbench.test_client()
    page = staff.get("/signin")
    signed = staff.post(
        "/signin", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": _csrf(page.text)}
    )
    assert signed.status_code == 303 and staff.get("/").status_code == 200
    return staff


def test_a_staff_session_never_opens_a_resident_page(workbench):
    staff = _staff(workbench)
    for path in ("/m/", "/m/bills", "/m/tickets", "/m/inbox", "/m/wechat"):
        answer = staff.get(path)
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/m/signin"), path
    # The staff cookie under the residents' name is not a resident's session either.
    raw = staff.get_cookie("gj_session").value
    forged = workbench.test_client()
    forged.set_cookie("gj_resident", raw, path="/m/")
    assert forged.get("/m/").status_code == 303


def test_a_resident_account_at_the_staff_sign_in_gets_no_staff_session(workbench, admin, households):
    mine = households[0]
    username, password = f"res-{uuid.uuid4().hex[:6]}", "resident-password-1"
    admin.post(
        "/api/v1/users",
        {
            "username": username,
            "password": password,
            "role": "resident",
            "resident_id": mine["resident"]["id"],
            "units": [mine["unit"]["id"]],
            "communities": [mine["unit"]["community_id"]],
        },
    )
    browser = workbench.test_client()
    page = browser.get("/signin")
    answer = browser.post("/signin", data={"username": username, "password": password, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/m/signin")
    assert browser.get_cookie("gj_session") is None
    assert browser.get("/tickets").status_code == 303


def test_my_bills_and_receipts_and_not_the_neighbours(residents, households):
    mine, theirs = households
    browser = residents[0]
    bills = browser.get("/m/bills")
    assert bills.status_code == 200 and "水费 王小明" in bills.text and "李大红" not in bills.text
    assert browser.get(f"/m/bills/{mine['bill']['id']}").status_code == 200
    receipts = browser.get("/m/receipts")
    # Receipt numbers run per community (both are R00000001): the links name the payment.
    assert mine["payment"]["id"] in receipts.text and theirs["payment"]["id"] not in receipts.text
    receipt = browser.get(f"/m/receipts/{mine['payment']['id']}")
    assert receipt.status_code == 200 and "¥88.50" in receipt.text
    for path in (f"/m/bills/{theirs['bill']['id']}", f"/m/receipts/{theirs['payment']['id']}"):
        answer = browser.get(path)
        assert answer.status_code in (403, 404), path
        assert "李大红" not in answer.text and "88.50" not in answer.text and "m-nav-home" in answer.text


def test_pay_a_bill_at_the_provider_and_see_the_receipt(residents, households, admin, provider, stack):
    mine, theirs = households
    bill = admin.post(
        "/api/v1/billing/bills", {"unit_id": mine["unit"]["id"], "description": "停车费", "amount": "150.00"}
    )
    browser = residents[0]
    page = browser.get(f"/m/bills/{bill['id']}")
    assert "m-pay-form" in page.text and "¥150.00" in page.text
    offered = browser.post(f"/m/bills/{bill['id']}/pay", data={"csrf_token": _csrf(page.text)})
    assert offered.status_code == 200
    checkout = re.search(r'href="([^"]+)" id="m-checkout"', offered.text).group(1)
    assert checkout.startswith(provider.url + "/checkout/")

    # The resident's browser at the provider: confirm, the signed callback reaches billing, and back we go.
    at_provider = requests.Session()
    assert "150.00" in at_provider.get(checkout, timeout=10).text
    back = at_provider.post(checkout + "/pay", data={"method": "alipay"}, allow_redirects=False, timeout=20)
    assert back.status_code == 303 and provider.callbacks[-1][0] == 200
    location = urlsplit(back.headers["Location"])
    assert location.path == f"/m/bills/{bill['id']}/paid"
    done = browser.get(f"{location.path}?{location.query}")
    assert done.status_code == 200 and "m-paid-receipt" in done.text
    receipt_path = re.search(r'href="([^"]+)" id="m-paid-receipt"', done.text).group(1)
    receipt = browser.get(receipt_path)
    assert "¥150.00" in receipt.text and "支付宝" in receipt.text
    assert admin.get(f"/api/v1/billing/bills/{bill['id']}").json()["outstanding"] == "0.00"
    assert "m-pay-form" not in browser.get(f"/m/bills/{bill['id']}").text  # nothing left to pay

    # The same confirmation posted twice is one payment; an unsigned or forged callback is refused.
    assert at_provider.post(checkout + "/pay", data={"method": "alipay"}, allow_redirects=False).status_code == 303
    assert provider.callbacks[-1][1]["id"] == provider.callbacks[-2][1]["id"]
    forged = requests.post(
        provider.notify_url,
        json={
            "provider": "fakepay",
            "reference": "FPX",
            "community_id": bill["community_id"],
            "unit_id": bill["unit_id"],
            "amount": "1.00",
            "method": "wechat",
            "paid_at": "2026-12-01T08:00:00+00:00",
        },
        headers={"X-Guanjia-Signature": "0" * 64},
        timeout=10,
    )
    assert forged.status_code == 401

    # The neighbour cannot open an order for my bill.
    orders = len(provider.orders)
    other = residents[1]
    refused = other.post(f"/m/bills/{bill['id']}/pay", data={"csrf_token": _csrf(other.get("/m/").text)})
    assert refused.status_code in (403, 404) and len(provider.orders) == orders
    assert theirs["name"] not in refused.text


def test_report_a_repair_with_a_photo_and_rate_the_visit(residents, households, admin):
    mine, theirs = households
    browser = residents[0]
    form = browser.get("/m/repair")
    assert form.status_code == 200 and mine["unit"]["id"] in form.text and theirs["unit"]["id"] not in form.text
    answer = browser.post(
        "/m/repair",
        data={
            "csrf_token": _csrf(form.text),
            "unit_id": mine["unit"]["id"],
            "description": "厨房水龙头漏水",
            "photos": (io.BytesIO(PNG), "tap.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 303, answer.text
    ticket_id = answer.headers["Location"].rsplit("/", 1)[-1]
    page = browser.get(f"/m/tickets/{ticket_id}")
    assert "厨房水龙头漏水" in page.text and f"/m/tickets/{ticket_id}/attachments/" in page.text
    photo = re.search(r'src="(/m/tickets/[^"]+/attachments/[^"]+)"', page.text).group(1)
    assert browser.get(photo).data == PNG
    assert "m-visit-form" not in page.text  # nothing to rate before the work is done
    assert ticket_id in browser.get("/m/tickets").text

    # The neighbour cannot open it, nor its photo, nor answer its visit.
    other = residents[1]
    assert other.get(f"/m/tickets/{ticket_id}").status_code in (403, 404)
    assert other.get(photo).status_code == 404
    assert ticket_id not in other.get("/m/tickets").text

    me = admin.get("/api/v1/users/me").json()
    admin.post(f"/api/v1/tickets/{ticket_id}/assign", {"department": "engineering", "assignee_id": me["id"]})
    admin.post(f"/api/v1/tickets/{ticket_id}/start", {})
    admin.post(f"/api/v1/tickets/{ticket_id}/resolve", {})
    page = browser.get(f"/m/tickets/{ticket_id}")
    assert "m-visit-form" in page.text
    refused = other.post(
        f"/m/tickets/{ticket_id}/visit", data={"csrf_token": _csrf(other.get("/m/").text), "satisfaction": "1"}
    )
    assert refused.status_code in (403, 404)
    missing = browser.post(f"/m/tickets/{ticket_id}/visit", data={"csrf_token": _csrf(page.text)})
    assert missing.status_code == 422 and 'id="satisfaction-error"' in missing.text
    rated = browser.post(
        f"/m/tickets/{ticket_id}/visit",
        data={"csrf_token": _csrf(page.text), "satisfaction": "5", "comment": "师傅很准时"},
    )
    assert rated.status_code == 303
    ticket = admin.get(f"/api/v1/tickets/{ticket_id}").json()
    assert (ticket["status"], ticket["satisfaction"]) == ("closed", 5)
    assert "师傅很准时" in browser.get(f"/m/tickets/{ticket_id}").text


def test_notices_are_those_sent_to_me(residents, households, admin):
    mine, _ = households
    community_id = mine["unit"]["community_id"]
    admin.post(
        "/api/v1/notifications/notices",
        {
            "community_id": community_id,
            "scope": "community",
            "title": "停水通知",
            "body": "明日9点至12点停水",
            "urgent": True,
        },  # urgent: not held back by the quiet hours of the evening
    )
    deadline = time.monotonic() + 20
    while "明日9点至12点停水" not in (page := residents[0].get("/m/notices")).text:
        assert time.monotonic() < deadline, page.text
        time.sleep(0.2)
    assert "明日9点至12点停水" not in residents[1].get("/m/notices").text


def test_signing_out_ends_the_resident_session(workbench, console_sms_codes, households):
    browser = _signed_in(workbench, console_sms_codes, households[1]["phone"])
    page = browser.get("/m/")
    raw = browser.get_cookie("gj_resident", path="/m/").value
    assert browser.post("/m/signout", data={"csrf_token": _csrf(page.text)}).status_code == 303
    assert browser.get("/m/").status_code == 303
    again = workbench.test_client()  # the old cookie, kept by someone: the session is gone at the server
    again.set_cookie("gj_resident", raw, path="/m/")
    assert again.get("/m/").status_code == 303


def _until(fetch, condition, what: str):
    """fetch() again until condition(answer): events reach notifications through the bus."""
    deadline = time.monotonic() + 20
    while not condition(answer := fetch()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return answer


LONG_BODY = (
    "业主大会将于12月20日下午三点在会所召开，议程如下：" + "一、物业费调整方案；二、电梯更新；三、停车位分配。" * 10
)


def test_my_inbox_has_the_long_notice_and_only_mine(residents, households, admin):
    mine, theirs = households
    admin.post(
        "/api/v1/notifications/notices",
        {
            "community_id": mine["unit"]["community_id"],
            "scope": "community",
            "title": "业主大会",
            "body": "业主大会通知，详见住户页面",
            "urgent": True,
            "long": {
                "title": "关于召开业主大会的通知",
                "body": LONG_BODY,
                "links": [{"title": "会议议程", "url": "https://example.org/agenda?a=1&b=2"}],
            },
        },
    )
    browser, other = residents
    page = _until(lambda: browser.get("/m/inbox"), lambda r: "关于召开业主大会的通知" in r.text, "no inbox message")
    assert LONG_BODY in page.text and len(LONG_BODY) > 200  # the full text, no SMS cap
    assert 'href="https://example.org/agenda?a=1&amp;b=2"' in page.text and "会议议程" in page.text
    assert "我的消息" in page.text and "未读" in page.text and "标为已读" in page.text
    message_id = re.findall(r'<li id="message-([^"]+)" class="unread">', page.text)[0]
    home = browser.get("/m/")
    unread = int(re.search(r'id="m-home-unread">(\d+)', home.text).group(1))
    assert unread >= 1

    # The neighbour's inbox does not have it, nor can they open or read it by its address.
    assert "关于召开业主大会的通知" not in other.get("/m/inbox").text
    for answer in (
        other.get(f"/m/inbox/{message_id}"),
        other.post(f"/m/inbox/{message_id}/read", data={"csrf_token": _csrf(other.get("/m/").text)}),
    ):
        assert answer.status_code == 404 and "关于召开业主大会的通知" not in answer.text

    read = browser.post(f"/m/inbox/{message_id}/read", data={"csrf_token": _csrf(page.text)})
    assert read.status_code == 303
    after = browser.get("/m/inbox").text
    assert f'<li id="message-{message_id}" class="read">' in after
    now_unread = re.search(r'id="m-home-unread">(\d+)', browser.get("/m/").text)
    assert (int(now_unread.group(1)) if now_unread else 0) == unread - 1
    opened = browser.get(f"/m/inbox/{message_id}")  # the page a WeChat template message links to
    assert opened.status_code == 200 and LONG_BODY in opened.text and "会议议程" in opened.text
    assert message_id not in browser.get("/m/inbox?unread=1").text


def _authorize_link(page: str) -> str:
    return html.unescape(re.search(r'href="([^"]+)" id="m-wechat-authorize"', page).group(1))


def _through_wechat(browser, link: str):
    """The resident's browser at WeChat's OAuth page (the fake's), and back to our callback."""
    assert link.endswith("#wechat_redirect")
    at_wechat = requests.get(link.split("#", 1)[0], allow_redirects=False, timeout=10)
    assert at_wechat.status_code == 302, at_wechat.text
    back = urlsplit(at_wechat.headers["Location"])
    assert back.path == "/m/wechat/callback"
    return browser.get(f"{back.path}?{back.query}")


def test_a_butler_code_and_the_oauth_round_trip_bind_my_wechat(residents, households, workbench, wechat):
    mine, theirs = households
    staff = _staff(workbench)
    unit_page = staff.get(f"/units/{mine['unit']['id']}")
    assert 'id="issue-binding-code"' in unit_page.text and "生成微信绑定码" in unit_page.text
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', unit_page.text).group(1)
    issued = staff.post(
        f"/units/{mine['unit']['id']}/wechat-binding-code", headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert (
        issued.status_code == 200
        and "有效期至" in issued.text
        and "T" not in re.search(r"有效期至 ([^。]+)", issued.text).group(1)
    )  # a local time, not the API's ISO instant
    code = re.search(r'id="binding-code-value">([A-Z2-9]{8})<', issued.text).group(1)

    browser, other = residents
    page = browser.get("/m/wechat")
    assert page.status_code == 200 and "m-wechat-form" in page.text and "m-wechat-binding" not in page.text
    started = browser.post("/m/wechat/bind", data={"csrf_token": _csrf(page.text), "code": code.lower()})
    assert started.status_code == 200
    link = _authorize_link(started.text)
    assert link.startswith(f"{wechat.url}/connect/oauth2/authorize?appid={_fake_providers().WECHAT_APP_ID}&")
    assert "scope=snsapi_base" in link and code not in link and code.lower() not in link  # the code stays here

    openid = wechat.fake.follower()
    wechat.fake.browser_user = openid
    answer = _through_wechat(browser, link)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/m/wechat?done=bound"), answer.text
    bound = browser.get("/m/wechat?done=bound").text
    assert f"{openid[:4]}****{openid[-4:]}" in bound and openid not in bound and "m-wechat-unbind" in bound

    # The neighbour with my household's code: refused (another household's, and used), nothing bound for them.
    page = other.get("/m/wechat")
    started = other.post("/m/wechat/bind", data={"csrf_token": _csrf(page.text), "code": code})
    refused = _through_wechat(other, _authorize_link(started.text))
    assert refused.status_code == 422 and 'id="code-error"' in refused.text
    assert "m-wechat-binding" not in other.get("/m/wechat").text
    # A callback this browser did not start (another state, no cookie) binds nothing.
    forged = workbench.test_client()
    forged.set_cookie("gj_resident", other.get_cookie("gj_resident", path="/m/").value, path="/m/")
    answer = forged.get("/m/wechat/callback?code=abc&state=xyz")
    assert answer.status_code == 422 and "m-wechat-binding" not in answer.text

    # Unbinding: SMS again, the form is back.
    unbound = browser.post("/m/wechat/unbind", data={"csrf_token": _csrf(bound)})
    assert unbound.status_code == 303
    page = browser.get("/m/wechat").text
    assert "m-wechat-binding" not in page and "m-wechat-form" in page and openid[-4:] not in page


def test_the_staff_inbox_and_its_unread_count(workbench, admin, households):
    mine, _ = households
    staff = _staff(workbench)
    me = admin.get("/api/v1/users/me").json()
    ticket = admin.post(
        "/api/v1/tickets", {"unit_id": mine["unit"]["id"], "category": "repair", "description": "楼道灯不亮"}
    )
    admin.post(f"/api/v1/tickets/{ticket['id']}/assign", {"department": "engineering", "assignee_id": me["id"]})
    page = _until(lambda: staff.get("/inbox"), lambda r: ticket["number"] in r.text, "no staff inbox message")
    assert "站内信" in page.text and "标为已读" in page.text
    home = staff.get("/").text
    count = int(re.search(r'id="nav-inbox-unread"[^>]*>(\d+)<', home).group(1))
    message_id = re.findall(r'<li id="message-([^"]+)" class="unread">', page.text)[0]
    read = staff.post(f"/inbox/{message_id}/read", data={"csrf_token": _csrf(page.text)})
    assert read.status_code == 303
    left = re.search(r'id="nav-inbox-unread"[^>]*>(\d+)<', staff.get("/").text)
    assert (int(left.group(1)) if left else 0) == count - 1
    assert f'<li id="message-{message_id}" class="read">' in staff.get("/inbox").text


# ---------------------------------------------------------------- my community: surveys, 百问百答, activities

QUESTIONS = [
    {
        "service_line": "customer_service",
        "kind": "single",
        "text": "管家上门是否及时？",
        "options": ["及时", "一般", "不及时"],
    },
    {
        "service_line": "cleaning",
        "kind": "multiple",
        "text": "哪些区域需要加强保洁？",
        "options": ["楼道", "电梯", "车库"],
    },
    {"service_line": "maintenance", "kind": "scale_5", "text": "对维修服务的满意度"},
    {"service_line": "overall", "kind": "nps", "text": "您有多大可能向亲友推荐我们？"},
    {"service_line": "overall", "kind": "text", "text": "其他意见和建议", "required": False},
]


def _open_survey(admin: Api, community_id: str, title: str) -> dict:
    """A survey of every question kind, opened once community knows the community's units (by event)."""
    survey = admin.post("/api/v1/surveys", {"community_id": community_id, "title": title, "questions": QUESTIONS})
    opened = _until(
        lambda: admin.http.post(f"{admin.base}/api/v1/surveys/{survey['id']}/open", timeout=15),
        lambda r: r.status_code != 422,
        "community never learnt the units",
    )
    assert opened.status_code == 200, opened.text
    return opened.json()


@pytest.fixture(scope="module")
def surveys(admin, households):
    """An open survey in each household's community, and a closed one in the first."""
    mine, theirs = (h["unit"]["community_id"] for h in households)
    closed = _open_survey(admin, mine, "去年满意度调查")
    admin.post(f"/api/v1/surveys/{closed['id']}/close", {})
    return _open_survey(admin, mine, "2026年度满意度调查"), _open_survey(admin, theirs, "邻居小区调查"), closed


def test_answer_my_household_survey_once(residents, surveys, admin):
    browser, other = residents
    survey, theirs, closed = surveys
    listed = browser.get("/m/surveys").text
    assert "2026年度满意度调查" in listed and "去年满意度调查" in listed and "邻居小区调查" not in listed
    assert browser.get(f"/m/surveys/{theirs['id']}").status_code == 404
    assert other.get(f"/m/surveys/{survey['id']}").status_code == 404
    page = browser.get(f"/m/surveys/{survey['id']}")
    assert page.status_code == 200 and "m-survey-form" in page.text and "推荐" in page.text
    single, multiple, scale, nps, text = (f"q-{q['id']}" for q in survey["questions"])

    # A required question left out: refused under that question, nothing recorded.
    partial = browser.post(
        f"/m/surveys/{survey['id']}",
        data={"csrf_token": _csrf(page.text), single: "及时", multiple: ["楼道", "车库"], scale: "4"},
    )
    assert partial.status_code == 422 and f'id="{nps}-error"' in partial.text and "请回答此题" in partial.text
    assert 'value="车库" checked' in partial.text  # what was chosen stays chosen
    assert admin.get(f"/api/v1/surveys/{survey['id']}/answers").json()["items"] == []

    answer = {single: "及时", multiple: ["楼道", "车库"], scale: "4", nps: "9", text: "电梯有异味"}
    sent = browser.post(f"/m/surveys/{survey['id']}", data={"csrf_token": _csrf(page.text), **answer})
    assert sent.status_code == 303
    done = browser.get(sent.headers["Location"]).text
    assert "m-survey-thanks" in done and "m-survey-form" not in done and "电梯有异味" in done
    (recorded,) = admin.get(f"/api/v1/surveys/{survey['id']}/answers").json()["items"]
    given = [recorded["answers"][q["id"]] for q in survey["questions"]]
    assert given == ["及时", ["楼道", "车库"], 4, 9, "电梯有异味"] and recorded["channel"] == "mobile"

    # One answer per household; the neighbour cannot answer ours; a closed survey takes none.
    again = browser.post(f"/m/surveys/{survey['id']}", data={"csrf_token": _csrf(page.text), **answer})
    assert again.status_code == 409 and "m-survey-answered" in again.text
    refused = other.post(f"/m/surveys/{survey['id']}", data={"csrf_token": _csrf(other.get("/m/").text), **answer})
    assert refused.status_code == 404
    assert len(admin.get(f"/api/v1/surveys/{survey['id']}/answers").json()["items"]) == 1
    shut = browser.get(f"/m/surveys/{closed['id']}").text
    assert "m-survey-closed" in shut and "m-survey-form" not in shut
    late = browser.post(f"/m/surveys/{closed['id']}", data={"csrf_token": _csrf(page.text), **answer})
    assert late.status_code == 409 and "m-survey-closed" in late.text


def test_published_questions_and_hotlines_searched_in_chinese(residents, households, admin):
    browser, other = residents
    mine, theirs = (h["unit"]["community_id"] for h in households)
    review = {"review_by": "2027-06-30"}
    for community_id, question, status in (
        (mine, "房屋漏水找谁维修？", "published"),
        (mine, "草稿：物业费如何调整？", "draft"),
        (theirs, "邻居小区漏水怎么办？", "published"),
    ):
        admin.post(
            "/api/v1/knowledge",
            {
                "community_id": community_id,
                "category": "repairs",
                "question": question,
                "answer": "保修期内由开发商负责，过保后由物业公司维修；公共区域的绿化养护另行安排。",
                "responsible_party": "developer",
                "status": status,
                **review,
            },
        )
    admin.post(
        "/api/v1/directory",
        {
            "community_id": mine,
            "kind": "hotline",
            "category": "police",
            "name": "城南派出所",
            "phone": "0571-87000110",
            "status": "published",
            **review,
        },
    )
    page = browser.get("/m/knowledge")
    assert page.status_code == 200 and "房屋漏水找谁维修？" in page.text and "城南派出所" in page.text
    assert "草稿" not in page.text and "邻居小区" not in page.text and "开发商" in page.text
    assert 'hx-get="/m/knowledge"' in page.text  # searched as the resident types

    def search(client, text):
        return client.get("/m/knowledge", query_string={"q": text}, headers={"HX-Request": "true"}).text

    found = search(browser, "漏水")
    assert "房屋漏水找谁维修？" in found and "城南派出所" not in found and "<html" not in found
    assert "房屋漏水找谁维修？" in search(browser, "绿化养护")  # a substring in the middle of the answer
    assert "城南派出所" in search(browser, "派出所") and "房屋漏水" not in search(browser, "派出所")
    assert "房屋漏水" not in search(other, "漏水") and "邻居小区漏水怎么办？" in search(other, "漏水")


def test_sign_up_for_an_activity_wait_for_a_place_and_cancel(residents, households, admin):
    browser, other = residents
    community_id = households[0]["unit"]["community_id"]
    when = datetime.now(UTC) + timedelta(days=3)
    times = {
        "starts_at": when.isoformat(),
        "ends_at": (when + timedelta(hours=2)).isoformat(),
        "signup_closes_at": (when - timedelta(days=1)).isoformat(),
    }
    base = {"community_id": community_id, "kind": "festival", "place": "会所广场", **times}
    activity = admin.post("/api/v1/activities", {**base, "title": "元旦游园会", "capacity": 1})
    admin.http.patch(f"{admin.base}/api/v1/activities/{activity['id']}", json={"status": "published"}, timeout=15)
    draft = admin.post("/api/v1/activities", {**base, "title": "筹备中的活动", "capacity": 10})

    listed = browser.get("/m/activities").text
    assert "元旦游园会" in listed and "筹备中的活动" not in listed
    assert "元旦游园会" not in other.get("/m/activities").text
    assert browser.get(f"/m/activities/{draft['id']}").status_code == 404
    assert other.get(f"/m/activities/{activity['id']}").status_code == 404
    page = browser.get(f"/m/activities/{activity['id']}")
    assert "m-signup-form" in page.text and "会所广场" in page.text

    # Two people for one place: on the waiting list, shown as such.
    bad = browser.post(
        f"/m/activities/{activity['id']}/signups",
        data={"csrf_token": _csrf(page.text), "unit_id": households[0]["unit"]["id"], "people": "99"},
    )
    assert bad.status_code == 422 and 'id="people-error"' in bad.text
    signed = browser.post(
        f"/m/activities/{activity['id']}/signups",
        data={"csrf_token": _csrf(page.text), "unit_id": households[0]["unit"]["id"], "people": "2"},
    )
    assert signed.status_code == 303
    page = browser.get(f"/m/activities/{activity['id']}").text
    assert re.search(r'id="m-signup-status">候补<', page) and "m-signup-form" not in page
    assert re.search(r'id="m-waiting">1 ', page)
    refused = other.post(
        f"/m/activities/{activity['id']}/signups",
        data={"csrf_token": _csrf(other.get("/m/").text), "unit_id": households[0]["unit"]["id"]},
    )
    assert refused.status_code == 404
    signup_id = re.search(r"/signups/([^/]+)/cancel", page).group(1)
    assert (
        other.post(
            f"/m/activities/{activity['id']}/signups/{signup_id}/cancel",
            data={"csrf_token": _csrf(other.get("/m/").text)},
        ).status_code
        == 404
    )
    cancelled = browser.post(
        f"/m/activities/{activity['id']}/signups/{signup_id}/cancel", data={"csrf_token": _csrf(page)}
    )
    assert cancelled.status_code == 303
    page = browser.get(f"/m/activities/{activity['id']}").text
    assert re.search(r'id="m-signup-status">已取消<', page) and "m-signup-cancel" not in page
    assert re.search(r'id="m-waiting">0 ', page)


def test_the_household_page_links_to_my_community(residents):
    home = residents[0].get("/m/").text
    for path in ("/m/surveys", "/m/activities", "/m/knowledge"):
        assert f'href="{path}"' in home
    assert 'href="/m/birthday"' in home


def test_i_see_the_activities_of_my_zone_or_building_only(residents, households, admin):
    browser = residents[0]
    community_id, unit = households[0]["unit"]["community_id"], households[0]["unit"]
    elsewhere = admin.post("/api/v1/zones", {"community_id": community_id, "name": "远区"})
    when = datetime.now(UTC) + timedelta(days=4)
    base = {"community_id": community_id, "kind": "sport", "place": "球场", "capacity": 10,
            "starts_at": when.isoformat(), "ends_at": (when + timedelta(hours=1)).isoformat(),
            "signup_closes_at": (when - timedelta(hours=1)).isoformat()}  # fmt: skip

    def published(title, **audience):
        answer = _until(
            lambda: admin.http.post(f"{admin.base}/api/v1/activities", json={**base, "title": title, **audience}),
            lambda r: r.status_code == 201,
            "the zone reaching the community service",
        )
        activity_id = answer.json()["id"]
        admin.http.patch(f"{admin.base}/api/v1/activities/{activity_id}", json={"status": "published"}, timeout=15)
        return activity_id

    far = published("远区篮球赛", zone_ids=[elsewhere["id"]])
    published("我楼健身操", building_ids=[unit["building_id"]])
    listed = browser.get("/m/activities").text
    assert "我楼健身操" in listed and "远区篮球赛" not in listed
    assert browser.get(f"/m/activities/{far}").status_code == 404


def test_my_birthday_greeting_opt_in_shown_to_me_alone_and_opt_out(residents, households):
    browser, other = residents
    home = {"unit_id": households[0]["unit"]["id"]}
    page = browser.get("/m/birthday")
    assert page.status_code == 200 and "m-birthday-form" in page.text and "m-birthday-mine" not in page.text
    bad = browser.post(
        "/m/birthday", data={**home, "csrf_token": _csrf(page.text), "birth_month": "2", "birth_day": "30"}
    )
    assert bad.status_code == 422 and 'id="birth_day-error"' in bad.text
    assert "m-birthday-mine" not in browser.get("/m/birthday").text  # nothing written
    saved = browser.post(
        "/m/birthday", data={**home, "csrf_token": _csrf(page.text), "birth_month": "3", "birth_day": "7"}
    )
    assert saved.status_code == 303
    mine = browser.get(saved.headers["Location"]).text
    assert 'id="m-birthday-date">03-07<' in mine and "m-birthday-saved" in mine
    theirs = other.get("/m/birthday").text
    foreign = {**home, "csrf_token": _csrf(theirs), "birth_month": "1", "birth_day": "1"}
    assert other.post("/m/birthday", data=foreign).status_code == 422  # not their household
    assert "03-07" not in theirs and "m-birthday-mine" not in theirs  # the other household never sees it
    out = browser.post("/m/birthday/out", data={"csrf_token": _csrf(mine)})
    assert out.status_code == 303
    after = browser.get(out.headers["Location"]).text
    assert "m-birthday-mine" not in after and "m-birthday-removed" in after


def test_order_a_special_service_and_rate_it_once_delivered(residents, households, admin):
    browser, other = residents
    community_id, unit = households[0]["unit"]["community_id"], households[0]["unit"]
    item = admin.post(
        "/api/v1/catalogue",
        {"community_id": community_id, "name": "家电清洗", "pricing": "fixed", "price": "120.00",
         "provider": "own_staff", "lead_days": 2},
    )  # fmt: skip
    page = browser.get("/m/services")
    assert page.status_code == 200 and "家电清洗" in page.text and "¥120.00" in page.text
    assert "家电清洗" not in other.get("/m/services").text  # another community's catalogue
    assert 'id="m-home-services"' in browser.get("/m/").text

    # The neighbour's household is no household of mine: refused on the item's card, nothing ordered.
    refused = other.post(
        "/m/services/orders",
        data={"csrf_token": _csrf(other.get("/m/services").text), "item_id": item["id"], "unit_id": unit["id"]},
    )
    assert refused.status_code in (404, 422)
    ordered = _until(
        lambda: browser.post(
            "/m/services/orders",
            data={"csrf_token": _csrf(page.text), "item_id": item["id"], "unit_id": unit["id"], "note": "周末上午"},
        ),
        lambda r: r.status_code == 303,
        "the community service knowing the household",
    )
    assert "ordered=1" in ordered.headers["Location"]
    mine = admin.get("/api/v1/service-orders", community_id=community_id).json()["items"]
    order = next(o for o in mine if o["item_id"] == item["id"])
    assert order["unit_id"] == unit["id"] and order["note"] == "周末上午" and order["status"] == "requested"
    listed = browser.get("/m/services?ordered=1").text
    assert 'id="m-ordered"' in listed and f'id="m-order-{order["id"]}"' in listed
    assert f'id="m-order-{order["id"]}"' not in other.get("/m/services").text

    # The desk schedules and delivers it; then the household rates it (1–5), once.
    when = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    admin.post(f"/api/v1/service-orders/{order['id']}/schedule", {"scheduled_for": when})
    admin.post(f"/api/v1/service-orders/{order['id']}/complete", {})
    page = browser.get("/m/services")
    assert "m-rate-form" in page.text
    bad = browser.post(f"/m/services/orders/{order['id']}/rate", data={"csrf_token": _csrf(page.text), "rating": "9"})
    assert bad.status_code == 422 and f'id="rate-{order["id"]}-error"' in bad.text
    rated = browser.post(f"/m/services/orders/{order['id']}/rate", data={"csrf_token": _csrf(page.text), "rating": "4"})
    assert rated.status_code == 303
    page = browser.get("/m/services").text
    assert "4 / 5" in page and "m-rate-form" not in page
    assert admin.get(f"/api/v1/service-orders/{order['id']}").json()["rating"] == 4
