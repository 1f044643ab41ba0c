"""Problem types and the zh-CN catalogue (guanjia.problems)."""

import pytest

from guanjia import problems


@pytest.mark.parametrize(
    ("header", "chinese"),
    [
        ("zh-CN", True),
        ("zh-CN,zh;q=0.9,en;q=0.8", True),
        ("zh", True),
        ("en-US,zh-CN;q=0.5", False),
        ("en;q=0.4,zh-TW;q=0.6", True),
        ("zh-CN;q=0", False),
        ("", False),
        (None, False),
        ("*", False),
    ],
)
def test_the_callers_first_language_decides(header, chinese):
    assert problems.wants_chinese(header) is chinese


def test_every_kind_has_a_stable_type_and_both_titles():
    assert problems.problem_type(422) == "urn:guanjia:problem:invalid-input"
    assert problems.problem_type(503) == "urn:guanjia:problem:service-unavailable"
    assert problems.problem_type(418) == "urn:guanjia:problem:error"
    kinds = [kind for kind, _en, _zh in problems.KINDS.values()]
    assert len(kinds) == len(set(kinds))


def test_messages_translate_by_catalogue_and_pattern_and_unknown_ones_stay_english():
    assert problems.translate("Missing data for required field.") == "必填字段。"
    assert problems.translate("Length must be between 1 and 100.") == "长度必须在 1 到 100 之间。"
    assert problems.translate("community c-1 not found") == "小区 c-1 不存在"
    assert problems.translate("no such unit") == "没有该房屋"
    assert problems.translate("unit_id: no such unit in your zones") == "unit_id：您负责的片区中没有该房屋"
    assert problems.translate("invalid amount, unit_id") == "以下字段有误：amount, unit_id"
    assert problems.translate("invalid token: bad signature") == "令牌无效（bad signature）"
    assert problems.translate("token expired") == "登录已过期，请重新登录"
    assert problems.translate("the moon is not a unit") == "the moon is not a unit"


def test_the_services_templates_keep_their_values_and_name_statuses_and_roles_in_chinese():
    assert (
        problems.translate("cannot resolve a ticket that is new; allowed: assign, cancel")
        == "新建的工单不能执行“解决”；可执行：派单、取消"
    )
    assert (
        problems.translate("role butler may not do this to ticket T00000001")
        == "管家角色无权对工单 T00000001 执行此操作"
    )
    assert problems.translate("unit 3-1201 is delivered, not vacant") == "房屋 3-1201 状态为已交付，不是空置"
    assert problems.translate("only a failed message can be resent; this one is delivered") == (
        "只有发送失败的短信可以重发；该短信状态为已送达"
    )
    assert problems.translate("more than the ¥1,234.50 prepaid balance") == "超过预存款余额 ¥1,234.50"
    assert problems.translate("rows.3.phone: not a valid phone number") == "rows.3.phone：不是有效的手机号码"
    assert problems.translate("community not found") == "小区不存在"
    assert problems.translate("no such zone in this community") == "本小区没有该片区"
    assert problems.translate("role resident has no need to change audit_log") == "住户角色无需修改 audit_log"
    assert problems.translate("residents file through app or wechat") == "住户只能通过 App或微信 报事"
    assert problems.translate("a water fee is charged metered") == "水费只能按表计量收取"
    # A value the catalogue does not know stays as it was, inside the Chinese sentence.
    assert problems.translate("this pass is frobbed") == "该放行条frobbed"


def test_localize_sets_the_type_and_translates_title_detail_and_field_messages():
    body = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "ticket t-9 not found"}
    assert problems.localize(dict(body), False) == {**body, "type": "urn:guanjia:problem:not-found"}
    chinese = problems.localize(
        {
            "title": "Invalid input",
            "status": 422,
            "detail": "invalid name",
            "errors": {"name": ["Not a valid string."]},
        },
        True,
    )
    assert chinese == {
        "title": "输入有误",
        "status": 422,
        "detail": "以下字段有误：name",
        "errors": {"name": ["不是有效的文本。"]},
        "type": "urn:guanjia:problem:invalid-input",
    }


def test_localize_translates_the_messages_of_listed_rows_too():
    body = {
        "title": "Import rejected",
        "status": 422,
        "detail": "2 row error(s); nothing was imported",
        "errors": {"residents[3].phone": ["not a valid phone number"]},
        "rows": [
            {"sheet": "residents", "row": 3, "field": "phone", "message": "not a valid phone number"},
            {"sheet": "units", "row": 4, "field": "number", "message": "appears twice in the file"},
        ],
    }
    chinese = problems.localize(body, True)
    assert chinese["title"] == "导入被拒绝"
    assert chinese["detail"] == "2 行有误，未导入任何数据"
    assert chinese["errors"] == {"residents[3].phone": ["不是有效的手机号码"]}
    assert [row["message"] for row in chinese["rows"]] == ["不是有效的手机号码", "在文件中出现了两次"]
    assert chinese["rows"][0]["sheet"] == "residents"
