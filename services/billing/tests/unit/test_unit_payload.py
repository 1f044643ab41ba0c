"""The unit.* payload as billing reads it, without infrastructure."""

from decimal import Decimal

import marshmallow as ma
import pytest

from billing.consumers import UnitChanged


def test_area_is_an_exact_decimal_and_new_fields_are_ignored():
    data = UnitChanged().load(
        {
            "unit_id": "u",
            "community_id": "c",
            "building_id": "b",
            "number": "1-101",
            "floor": 3,
            "area_m2": "88.5",
            "status": "delivered",
            "orientation": "south",
        }
    )
    assert data["area_m2"] == Decimal("88.50") and str(data["area_m2"]) == "88.50"
    assert "orientation" not in data


@pytest.mark.parametrize(
    "data",
    [
        {"community_id": "c", "area_m2": "88.50"},
        {"unit_id": "u", "community_id": "c", "area_m2": "eighty"},
        {"unit_id": "u", "community_id": "c", "area_m2": "-1.00"},
    ],
)
def test_a_payload_billing_cannot_use_is_refused(data):
    with pytest.raises(ma.ValidationError):
        UnitChanged().load(data)
