"""Staff's problem messages read in Chinese (zh-CN first for staff): every message the service raises is catalogued."""

import ast
from pathlib import Path

import pytest

from guanjia.problems import translate

PACKAGE = Path(__file__).resolve().parents[2] / "staff"


def _raised_messages() -> list[str]:
    """The constant message of every Invalid/Forbidden/Conflict raised in the staff package."""
    messages = []
    nodes = [n for f in sorted(PACKAGE.rglob("*.py")) for n in ast.walk(ast.parse(f.read_text(encoding="utf-8")))]
    for node in nodes:
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("Invalid", "Forbidden", "Conflict"):
            text = node.args[-1]
            if isinstance(text, ast.Constant):
                messages.append(text.value)
    return messages


@pytest.mark.parametrize("message", _raised_messages())
def test_every_constant_message_has_a_chinese_text(message):
    assert translate(message) != message


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        (
            "overlaps the leave from 2031-03-02 09:00 to 2031-03-04 09:00",
            "与 2031-03-02 09:00 至 2031-03-04 09:00 的请假重叠",
        ),
        (
            "李四 is on leave from 2031-03-02 09:00 to 2031-03-04 09:00",
            "李四 在 2031-03-02 09:00 至 2031-03-04 09:00 请假",
        ),
        ("this leave is approved, not pending", "该请假为已批准状态，不是待审批"),
        ("this task is done, not open", "该任务为已完成状态，不是进行中"),
        ("this swap is approved, not pending", "该换班申请为已批准状态，不是待审批"),
        ("already clocked in at 2026-12-07 08:00", "已于 2026-12-07 08:00 签到"),
    ],
)
def test_templated_messages_keep_their_values(english, chinese):
    assert translate(english) == chinese
