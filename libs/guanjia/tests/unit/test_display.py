"""Display fields: one lookup per field for all rows, unknown ids as None, and values kept on a row left as they are."""

from guanjia.display import Shown, annotate


def test_one_lookup_per_field_and_a_kept_value_is_not_looked_up():
    asked = []

    def names(ids):
        asked.append(set(ids))
        return {"u1": "李会计（今）", "u2": "王会计"}

    rows = [
        {"recorded_by": "u1", "cashier_name": "李会计"},  # kept when written
        {"recorded_by": "u1", "cashier_name": None},
        {"recorded_by": "u2"},
        {"recorded_by": "u3", "cashier_name": ""},
        {"recorded_by": None},
    ]
    annotate({"items": rows}, [Shown("recorded_by", "recorded_by_name", names, kept="cashier_name")])
    assert [row["recorded_by_name"] for row in rows] == ["李会计", "李会计（今）", "王会计", None, None]
    assert asked == [{"u1", "u2", "u3"}]


def test_lists_of_ids_and_dict_answers():
    rows = [{"butler_ids": ["a", "x"], "zone_id": "z"}]
    annotate(
        rows,
        [
            Shown("butler_ids", "butler_names", lambda ids: {"a": "安管家"}),
            Shown("zone_id", {"zone_name": "name"}, lambda ids: {"z": {"name": "一区"}}),
        ],
    )
    assert rows[0]["butler_names"] == ["安管家", None] and rows[0]["zone_name"] == "一区"
