"""The library's one amount parser and its insert-if-absent (on SQLite here; PostgreSQL through the services)."""

import marshmallow as ma
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from guanjia.db import insert_if_absent
from guanjia.money import AmountError, Money, yuan_to_fen


@pytest.mark.parametrize(("value", "fen"), [("0", 0), ("1234.5", 123450), ("0.01", 1), (12, 1200), (2.35, 235)])
def test_amounts_in_yuan_become_integer_fen(value, fen):
    assert yuan_to_fen(value) == fen


@pytest.mark.parametrize(
    ("value", "options", "reason"),
    [
        ("abc", {}, "not_a_number"),
        ("1e3", {}, "not_a_number"),
        (True, {}, "not_a_number"),
        ("-0.01", {}, "negative"),
        ("1.234", {}, "places"),
        ("1000000000000", {}, "too_large"),
        ("100.01", {"max_fen": 10000}, "too_large"),
        ("0.00", {"positive": True}, "zero"),
    ],
)
def test_a_refused_amount_names_its_reason(value, options, reason):
    with pytest.raises(AmountError) as refused:
        yuan_to_fen(value, **options)
    assert refused.value.reason == reason and isinstance(refused.value, ValueError)


def test_the_money_field_uses_the_parser_and_its_messages():
    field = Money(positive=True)
    assert field.deserialize("100.00") == 10000
    for value, message in (("-1", "must not be negative"), ("0", "must be greater than zero"), ("1.001", "two")):
        with pytest.raises(ma.ValidationError) as refused:
            field.deserialize(value)
        assert message in str(refused.value)


def test_insert_if_absent_inserts_once():
    metadata = sa.MetaData()
    table = sa.Table(
        "counters",
        metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("name", sa.String, unique=True),
        sa.Column("value", sa.Integer),
    )
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session:
        assert insert_if_absent(session, table, {"id": "1", "name": "a", "value": 1}) is True
        assert insert_if_absent(session, table, {"id": "1", "name": "b", "value": 2}) is False  # same key
        assert insert_if_absent(session, table, {"id": "2", "name": "a", "value": 3}, index_elements=["name"]) is False
        assert insert_if_absent(session, table, {"id": "3", "name": "c", "value": 4}, index_elements=["name"]) is True
        rows = session.execute(sa.select(table.c.id, table.c.value).order_by(table.c.id)).all()
    assert [tuple(row) for row in rows] == [("1", 1), ("3", 4)]
