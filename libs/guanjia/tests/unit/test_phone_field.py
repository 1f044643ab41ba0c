"""The library's one phone field: E.164 out, a named validation error for what is no phone number, nothing else caught."""

import marshmallow as ma
import pytest

from guanjia import fields
from guanjia.problem_texts import DOMAIN_MESSAGES_ZH


class Contact(ma.Schema):
    phone = fields.Phone(required=True)
    other = fields.Phone(allow_none=True)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("010-12345678", "+861012345678"),  # a Beijing landline
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_load_as_e164(raw, e164):
    assert Contact().load({"phone": raw})["phone"] == e164


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("no phone", "not a phone number"),
        ("110", "not a valid phone number"),
        ("1" * 33, "not a phone number"),  # longer than any number: refused before the parser sees it
    ],
)
def test_what_is_no_phone_number_is_a_validation_error_of_the_field(raw, message):
    with pytest.raises(ma.ValidationError) as info:
        Contact().load({"phone": raw})
    assert info.value.messages == {"phone": [message]}


def test_the_messages_have_their_chinese_text():
    assert {"not a phone number", "not a valid phone number"} <= set(DOMAIN_MESSAGES_ZH)


def test_none_and_non_strings_are_the_string_fields_own_business():
    assert Contact().load({"phone": "13800138000", "other": None})["other"] is None
    with pytest.raises(ma.ValidationError) as info:
        Contact().load({"phone": 13800138000})
    assert list(info.value.messages) == ["phone"]


def test_a_fault_in_the_normaliser_is_not_passed_off_as_a_bad_number(monkeypatch):
    def broken(raw):
        raise RuntimeError("bug")

    monkeypatch.setattr(fields, "normalize_phone", broken)
    with pytest.raises(RuntimeError):
        Contact().load({"phone": "13800138000"})
