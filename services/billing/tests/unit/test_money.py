"""Money, periods and callback signatures without infrastructure: exact decimals, never a float."""

from datetime import date
from decimal import Decimal

import marshmallow as ma
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.callbacks import hmac_verifier, sign
from guanjia.money import Money, Rate, fen_in_capitals, fen_to_str, parse_amount, parse_period, to_fen


@settings(database=None)
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_fen_round_trips_through_the_decimal_string(fen):
    text = fen_to_str(fen)
    assert Decimal(text) * 100 == fen
    if fen >= 0:
        assert parse_amount(text) == fen


@pytest.mark.parametrize(
    "value", [100.505, True, float("nan"), 1e300, "100.505", "-1.00", "1e3", " 1.00", "1,000.00", "", None, "NaN"]
)
def test_an_amount_that_is_not_a_plain_decimal_is_refused(value):
    class Schema(ma.Schema):
        amount = Money(required=True, positive=True)

    with pytest.raises(ma.ValidationError) as error:
        Schema().load({"amount": value})
    assert "amount" in error.value.messages


def test_amounts_load_as_integer_fen_and_dump_as_strings():
    class Schema(ma.Schema):
        amount = Money()

    assert Schema().load({"amount": "1234.5"}) == {"amount": 123450}
    # A JSON number is read as the digits written: 0.1 + 0.2 style noise never reaches the fen.
    assert Schema().load({"amount": 1234.5}) == {"amount": 123450}
    assert Schema().load({"amount": 19.99}) == {"amount": 1999} and Schema().load({"amount": 7}) == {"amount": 700}
    assert Schema().dump({"amount": 5}) == {"amount": "0.05"}


@pytest.mark.parametrize(
    ("yuan", "rounding", "fen"),
    [
        ("5.025", "half_even", 502),
        ("5.035", "half_even", 504),
        ("5.025", "half_up", 503),
        ("5.029", "down", 502),
        ("5.021", "up", 503),
    ],
)
def test_rounding_rules_to_the_fen(yuan, rounding, fen):
    assert to_fen(Decimal(yuan), rounding) == fen


def test_a_rate_is_an_exact_decimal_string_or_number():
    class Schema(ma.Schema):
        rate = Rate()

    assert Schema().load({"rate": "2.35"}) == {"rate": Decimal("2.3500")}
    assert Schema().load({"rate": 2.35}) == {"rate": Decimal("2.3500")} and Schema().load({"rate": 3})["rate"] == 3
    for bad in (2.35001, "2.35001", "abc", "Infinity", "1e2", True, float("inf")):
        with pytest.raises(ma.ValidationError):
            Schema().load({"rate": bad})


@pytest.mark.parametrize(
    ("name", "start", "end", "months"),
    [
        ("2026-11", date(2026, 11, 1), date(2026, 11, 30), 1),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29), 1),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), 3),
        ("2026-H1", date(2026, 1, 1), date(2026, 6, 30), 6),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), 12),
    ],
)
def test_periods(name, start, end, months):
    period = parse_period(name)
    assert (period.start, period.end, period.months) == (start, end, months)


@pytest.mark.parametrize("name", ["2026-13", "2026-Q5", "2026-H3", "26-11", "2026-1", ""])
def test_a_bad_period_is_refused(name):
    with pytest.raises(ValueError):
        parse_period(name)


def test_the_default_callback_verifier_checks_hmac_sha256_of_the_raw_body():
    verify = hmac_verifier("s3cret")
    body = b'{"amount": "10.00"}'
    assert verify({"X-Guanjia-Signature": sign("s3cret", body)}, body)
    assert verify({"X-Guanjia-Signature": "sha256=" + sign("s3cret", body)}, body)
    assert not verify({"X-Guanjia-Signature": sign("other", body)}, body)
    assert not verify({"X-Guanjia-Signature": sign("s3cret", body)}, body + b" ")
    assert not verify({}, body)
    with pytest.raises(ValueError):
        hmac_verifier("")


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (5, "伍分"),
        (50, "伍角整"),
        (0, "零元整"),
        (1000, "壹拾元整"),
        (10050, "壹佰元伍角整"),
        (10005, "壹佰元零伍分"),
        (123450, "壹仟贰佰叁拾肆元伍角整"),
        (123456, "壹仟贰佰叁拾肆元伍角陆分"),
        (100000110, "壹佰万零壹元壹角整"),
        (100100, "壹仟零壹元整"),
        (101000, "壹仟零壹拾元整"),
        (1000000000, "壹仟万元整"),
        (10001000000, "壹亿零壹万元整"),
        (1000000000100, "壹佰亿零壹元整"),
        (-1234, "负壹拾贰元叁角肆分"),
    ],
)
def test_amounts_in_chinese_capitals(fen, words):
    assert fen_in_capitals(fen) == words


_DIGIT = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_PLACE = {"拾": 10, "佰": 100, "仟": 1000}


def _read_capitals(words: str) -> int:
    """The amount a reader of the capitals understands (an independent reading, for the round trip)."""
    yuan_text, _, rest = words.partition("元") if "元" in words else ("", "", words)
    total, section, digit = 0, 0, 0
    for char in yuan_text:
        if char in _DIGIT:
            digit = _DIGIT[char]
        elif char in _PLACE:
            section += digit * _PLACE[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif char == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    fen = (total + section + digit) * 100
    for index, char in enumerate(rest):
        if char == "角":
            fen += _DIGIT[rest[index - 1]] * 10
        elif char == "分":
            fen += _DIGIT[rest[index - 1]]
    return fen


@settings(database=None)
@given(st.integers(min_value=0, max_value=10**14 - 1))
def test_capitals_read_back_as_the_same_amount(fen):
    words = fen_in_capitals(fen)
    assert _read_capitals(words) == fen
    assert "零零" not in words
    assert fen == 0 or not words.startswith("零")
    assert words.endswith(("整", "分"))
