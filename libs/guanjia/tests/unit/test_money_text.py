"""How an amount is shown to people (guanjia.money.yuan_text) and the fen ↔ decimal string pair, without infrastructure."""

from decimal import Decimal

import pytest

from guanjia.money import fen_to_str, to_fen, yuan_text


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("1234.50", "¥1,234.50"),
        ("1234.5", "¥1,234.50"),
        ("0", "¥0.00"),
        ("0.05", "¥0.05"),
        ("1000000.05", "¥1,000,000.05"),
        ("123456789012.34", "¥123,456,789,012.34"),
        ("-12", "-¥12.00"),
        ("-1234.5", "-¥1,234.50"),
        ("-0.00", "¥0.00"),
        (Decimal("1234.5"), "¥1,234.50"),
        (Decimal("-0.01"), "-¥0.01"),
        (Decimal("999.995"), "¥1,000.00"),  # more than two places: rounded half to even, as Decimal formats
    ],
)
def test_amounts_are_shown_in_yuan_with_thousands_separators(amount, shown):
    assert yuan_text(amount) == shown


def test_fen_are_shown_through_their_decimal_string():
    assert yuan_text(fen_to_str(123450)) == "¥1,234.50"
    assert yuan_text(fen_to_str(-5)) == "-¥0.05"


@pytest.mark.parametrize("amount", [1234, 12.5, True, None])
def test_only_yuan_as_decimal_or_string_are_taken_never_an_int_that_might_be_fen(amount):
    with pytest.raises(TypeError):
        yuan_text(amount)


@pytest.mark.parametrize("amount", ["abc", "", "NaN", "Infinity"])
def test_a_string_that_is_no_amount_is_refused(amount):
    with pytest.raises(ValueError):
        yuan_text(amount)


def test_fen_and_decimal_strings_round_trip_and_no_amount_stays_none():
    assert fen_to_str(12345) == "123.45" and fen_to_str(-5) == "-0.05" and fen_to_str(0) == "0.00"
    assert to_fen(Decimal("123.45")) == 12345 and to_fen(Decimal("0.01")) == 1
    assert to_fen(Decimal(fen_to_str(987654321))) == 987654321
    assert fen_to_str(None) is None and to_fen(None) is None
