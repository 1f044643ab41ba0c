"""The monthly scorecard's figures beyond billing's — tickets' and residents' rows per butler, as their APIs answer
them — stored on the card, shown by the API, in the workbook; the manager's list of missed targets."""

import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from guanjia.db import Database
from staff.config import PayRule
from staff.domain import scorecards
from staff.models import Position

NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


def test_the_card_carries_tickets_and_residents_figures_and_flags_a_missed_target(client, team, staff_settings):
    positions, headers = team["positions"], team["headers"]
    wang, li = positions["wang"]["user_id"], positions["li"]["user_id"]
    billing = {wang: {"receivable": "1000.00", "collected": "800.00", "collection_rate": "0.8000"}}
    period = {wang: {"collection_rate": "0.8000"}, li: {"collection_rate": "0.9100"}}
    services = {
        wang: {
            "key": wang,
            "tickets": 12,
            "tickets_resolved": 10,
            "sla_compliance": 0.9,
            "satisfaction_average": 4.5,
            "satisfied_rate": 0.8333,
            "patrol_coverage": 0.5,
            "familiarity": 0.96,
            "communication": 0.61,
        }
    }
    database = Database(staff_settings.database_url)
    with database.transaction() as session:
        for name in ("wang", "li"):
            position = session.get(Position, positions[name]["id"])
            scorecards.measure(session, None, position, "2026-10", billing, period, "2026-H2", PayRule(), NOW, services)

    url = f"/api/v1/staff/scorecards?community_id={team['community']}"
    [card] = client.get(url, headers=headers["wang"]).get_json()["items"]
    assert (card["tickets"], card["tickets_resolved"], card["sla_compliance"]) == (12, 10, "0.9")
    assert (card["satisfaction_average"], card["satisfied_rate"]) == ("4.5", "0.8333")
    assert (card["patrol_coverage"], card["familiarity"], card["communication"]) == ("0.5", "0.96", "0.61")
    assert card["target_met"] is False
    # Tickets and residents had no row for li (no zone): nothing is made up.
    li_card = client.get(url + f"&position_id={positions['li']['id']}", headers=headers["lead"]).get_json()["items"][0]
    assert (li_card["tickets"], li_card["familiarity"], li_card["target_met"]) == (None, None, True)

    # The manager's list of missed half-year targets; a butler's own list holds only their own.
    flagged = client.get(url + "&flagged=true", headers=headers["manager"]).get_json()["items"]
    assert [c["display_name"] for c in flagged] == ["wang"]
    assert client.get(url + "&flagged=true", headers=headers["li"]).get_json()["items"] == []
    bad = client.get(url + "&flagged=maybe", headers=headers["manager"])
    assert bad.status_code == 422 and "flagged" in bad.get_json()["errors"]

    xlsx = client.get(url + "&format=xlsx", headers=headers["lead"])
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    header = [c.value for c in sheet[1]]
    assert header[5:13] == [
        "工单数",
        "已办结",
        "时效达标率",
        "平均满意度",
        "满意率",
        "巡查覆盖率",
        "熟悉率",
        "有效沟通率",
    ]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "wang")
    assert row[5].value == 12 and row[7].value == 0.9 and row[7].number_format == "0.00%"
    assert row[11].value == 0.96 and row[header.index("达标")].value == "否（需经理关注）"
