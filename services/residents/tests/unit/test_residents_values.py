"""Area parsing and the request schemas' field rules, without infrastructure."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import marshmallow as ma
import pytest

from residents.schemas.residents import ResidentCreate
from residents.schemas.units import UnitCreate, UnitOut
from residents.values import format_area, parse_area


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("88.50", "88.50"), ("88.5", "88.50"), ("88", "88.00"), ("0.01", "0.01"), ("99999999.99", "99999999.99")],
)
def test_area_strings_are_parsed_exactly(raw, expected):
    value = parse_area(raw)
    assert isinstance(value, Decimal)
    assert format_area(value) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (88.5, "not a number"),
        (88, "not a number"),
        (True, "not a number"),
        (None, "not a number"),
        ("-1.00", "negative"),
        ("88.505", "2 decimal places"),
        ("0", "greater than 0"),
        ("0.00", "greater than 0"),
        ("1e3", "decimal string"),
        (" 88.50", "decimal string"),
        ("88,50", "decimal string"),
        ("NaN", "decimal string"),
        ("123456789.00", "decimal string"),
        ("", "decimal string"),
    ],
)
def test_anything_but_a_positive_two_place_decimal_string_is_refused(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_area(raw)


def test_unit_schema_loads_area_as_decimal_and_dumps_two_places():
    loaded = UnitCreate().load({"building_id": "b", "number": "1-101", "floor": -1, "area_m2": "7.5"})
    assert loaded["area_m2"] == Decimal("7.50") and loaded["floor"] == -1
    assert UnitOut().dump({"area_m2": Decimal("7.5")})["area_m2"] == "7.50"
    with pytest.raises(ma.ValidationError) as info:
        UnitCreate().load({"building_id": "b", "number": "1", "floor": 2.0, "area_m2": 7.5})
    assert set(info.value.messages) == {"floor", "area_m2"}


def test_resident_schema_normalises_the_phone_and_names_bad_fields_together():
    loaded = ResidentCreate().load({"unit_id": "u", "name": "张三", "phone": "138-0013-8000", "role": "owner"})
    assert loaded["phone"] == "+8613800138000"
    with pytest.raises(ma.ValidationError) as info:
        ResidentCreate().load({"unit_id": "u", "name": "", "phone": "110", "role": "owner"})
    assert set(info.value.messages) == {"name", "phone"}


def test_times_are_shown_in_utc_even_when_the_database_hands_them_back_naive():
    naive = datetime(2026, 11, 27, 4, 30)  # what SQLite returns for a stored UTC time
    assert UnitOut().dump({"created_at": naive})["created_at"] == "2026-11-27T04:30:00+00:00"
    shanghai = datetime(2026, 11, 27, 12, 30, tzinfo=timezone(timedelta(hours=8)))
    assert UnitOut().dump({"created_at": shanghai})["created_at"] == "2026-11-27T04:30:00+00:00"
