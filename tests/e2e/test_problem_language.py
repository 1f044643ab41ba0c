"""Errors a Chinese office can read: problem+json in zh-CN for `Accept-Language: zh-CN`, through the gateway, with a
stable `type` per kind of error (docs/errors.md)."""

from __future__ import annotations

import requests

from .conftest import Client, make_household

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def test_a_field_error_from_a_service_is_in_chinese_when_asked_and_english_otherwise(embedded_stack):
    admin = Client(embedded_stack.url).login("admin", "e2e-admin-password-1")
    household = make_household(admin)
    resident = Client(embedded_stack.url).login(*household["login"])
    body = {"unit_id": household["unit"]["id"], "category": "leak", "surprise": 1}

    english = resident.post("/api/v1/tickets", json=body)
    assert english.status_code == 422
    problem = english.json()
    assert problem["type"] == "urn:guanjia:problem:invalid-input"
    assert problem["title"] == "Unprocessable Entity"
    assert problem["errors"]["description"] == ["Missing data for required field."]
    assert problem["errors"]["surprise"] == ["Unknown field."]

    chinese = resident.post("/api/v1/tickets", json=body, headers=dict(ZH))
    assert chinese.status_code == 422
    problem = chinese.json()
    assert problem["type"] == "urn:guanjia:problem:invalid-input"
    assert problem["title"] == "输入有误"
    assert problem["detail"].startswith("以下字段有误：")
    assert problem["errors"]["description"] == ["必填字段。"]
    assert problem["errors"]["surprise"] == ["不认识的字段。"]
    assert problem["errors"]["category"][0].startswith("必须是以下之一：")


def test_the_gateways_own_answers_and_not_found_speak_chinese_too(embedded_stack):
    url = embedded_stack.url
    anonymous = requests.get(f"{url}/api/v1/tickets", headers=dict(ZH), timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["type"] == "urn:guanjia:problem:unauthorized"
    assert anonymous.json()["title"] == "未登录或登录已失效"

    admin = Client(embedded_stack.url).login("admin", "e2e-admin-password-1")
    missing = admin.get("/api/v1/communities/" + "0" * 32, headers=dict(ZH))
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:guanjia:problem:not-found"
    assert missing.json()["title"] == "未找到"
    assert "不存在" in missing.json()["detail"], missing.json()
    english = admin.get("/api/v1/communities/" + "0" * 32, headers={"Accept-Language": "en-US,zh;q=0.5"})
    assert english.json()["title"] == "Not found"


def test_a_domain_conflict_from_a_service_is_in_chinese_with_its_values(embedded_stack):
    admin = Client(embedded_stack.url).login("admin", "e2e-admin-password-1")
    household = make_household(admin)
    resident = Client(embedded_stack.url).login(*household["login"])
    body = {"unit_id": household["unit"]["id"], "category": "repair", "description": "厨房漏水"}
    ticket = resident.post("/api/v1/tickets", json=body)
    assert ticket.status_code == 201, ticket.text
    ticket = ticket.json()

    english = admin.post(f"/api/v1/tickets/{ticket['id']}/resolve", json={})
    assert english.status_code == 409, english.text
    assert english.json()["detail"].startswith(f"cannot resolve a ticket that is {ticket['status']}; allowed: ")

    chinese = admin.post(f"/api/v1/tickets/{ticket['id']}/resolve", json={}, headers=dict(ZH))
    assert chinese.status_code == 409
    problem = chinese.json()
    assert problem["type"] == "urn:guanjia:problem:conflict"
    assert problem["title"] == "与当前状态冲突"
    assert problem["detail"].startswith("新建的工单不能执行“解决”；可执行：派单"), problem
