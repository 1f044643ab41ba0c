"""Pure rules of residents without infrastructure: the roster's fast phone path, what a search means, unit numbers,
who sees a key's collectors in clear."""

import pytest

from guanjia.auth import Principal
from guanjia.config import Settings
from guanjia.errors import Invalid
from guanjia.pii import normalize_phone
from residents.domain import affairs, people
from residents.domain.display import unit_label
from residents.domain.roster import fast_phone
from residents.models import Key
from residents.schemas.internal import PhoneArgs

SETTINGS = Settings(service="residents", database_url="sqlite://", embedded=True, pii_key="unit-test-pii-key")


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "138 0013 8000", "138-0013-8000", "+8613800138000", "010-12345678", "+44 20 7946 0958"],
)
def test_the_roster_fast_path_agrees_with_the_full_parse(raw):
    assert fast_phone(raw) == normalize_phone(raw)


@pytest.mark.parametrize("raw", ["10000000000", "110", "not a phone"])
def test_the_roster_fast_path_refuses_what_the_full_parse_refuses(raw):
    with pytest.raises(Invalid):
        normalize_phone(raw)
    with pytest.raises(Invalid):
        fast_phone(raw)


def test_the_internal_phone_lookup_takes_any_spelling_of_the_number():
    assert PhoneArgs().load({"phone": "+86 138-0013-8000"}) == {"phone": "+8613800138000"}


@pytest.mark.parametrize(
    ("q", "kind"),
    [
        ("13800138000", "phone"),
        ("138 0013 8000", "phone"),
        ("11010519491231002X", "id_number"),
        ("1-101", "text"),
        ("张", "text"),
        ("10000000000", "text"),  # eleven digits but no phone number: a unit number or a name fragment
        ("110105194912310021", "text"),  # eighteen characters but a wrong check digit
    ],
)
def test_a_search_is_an_exact_phone_an_exact_id_number_or_text(q, kind):
    assert people.search_kind(SETTINGS, q)[0] == kind


@pytest.mark.parametrize(
    ("q", "unit_like"),
    [("1-101", True), ("3-2-1203", True), ("B101", True), ("#12", True), ("张伟", False), ("A", False), ("", False)],
)
def test_unit_numbers_are_told_from_names_without_the_database(q, unit_like):
    assert people.looks_like_unit_number(q) is unit_like


def test_a_unit_label_is_how_a_butler_says_it():
    assert unit_label("1栋", "1-101") == "1栋1-101"
    assert unit_label(None, "1-101") == "1-101"


def test_key_collectors_are_masked_for_all_but_the_desk_and_the_person_themselves():
    person = {"resident_id": "r-1", "name": "张三丰", "phone": "+8613800138000"}
    key = Key(id="k-1", unit_id="u-1", label="大门", status="in_custody", authorized=[person])

    def collector(principal):
        return affairs.key_view(principal, key, None)["authorized"][0]

    desk = Principal(subject="s-1", role="butler")
    family = Principal(subject="s-2", role="resident", resident_id="r-2")
    themselves = Principal(subject="s-3", role="resident", resident_id="r-1")
    assert collector(desk) == {"resident_id": "r-1", "name": "张三丰", "phone": "138****8000"}
    assert collector(family) == {"resident_id": "r-1", "name": "张**", "phone": "138****8000"}
    assert collector(themselves) == person
