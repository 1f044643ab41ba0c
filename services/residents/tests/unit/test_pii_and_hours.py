"""ID-card numbers (validation, masking, encryption with a lookup hash) and renovation hours, without infrastructure."""

import pytest

from guanjia.errors import Invalid
from guanjia.pii import decrypt_pii, encrypt_pii, mask_id_card, normalize_id_card, pii_lookup_hash
from residents.domain.structure import parse_hours

ID = "11010519491231002X"


def test_id_numbers_are_validated_with_their_check_digit():
    assert normalize_id_card(" 110105 19491231 002x ") == ID
    for bad in ("110105194912310021", "11010519491331002X", "123", "ABCDEFGHIJKLMNOPQR"):
        with pytest.raises(Invalid) as caught:
            normalize_id_card(bad)
        assert "id_number" in caught.value.errors


def test_masking_hides_the_birth_date():
    assert mask_id_card(ID) == "1101**********002X"
    assert mask_id_card(None) is None


def test_encryption_round_trips_only_under_the_same_key():
    sealed = encrypt_pii("key-1", ID)
    assert ID not in sealed and sealed.startswith("v1:")
    assert encrypt_pii("key-1", ID) != sealed  # a fresh nonce each time
    assert decrypt_pii("key-1", sealed) == ID
    with pytest.raises(ValueError):
        decrypt_pii("key-2", sealed)
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(ValueError):
        decrypt_pii("key-1", tampered)


def test_lookup_hash_is_stable_and_keyed():
    assert pii_lookup_hash("key-1", ID) == pii_lookup_hash("key-1", ID)
    assert pii_lookup_hash("key-1", ID) != pii_lookup_hash("key-2", ID)
    assert ID not in pii_lookup_hash("key-1", ID)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("08:00-12:00, 14:00-18:00", "08:00-12:00,14:00-18:00"), ("09:00-17:30", "09:00-17:30")],
)
def test_renovation_hours(raw, expected):
    assert parse_hours(raw) == expected


@pytest.mark.parametrize("raw", ["", "8-12", "12:00-08:00", "08:00-24:00", "08:00-12:00,x"])
def test_bad_renovation_hours(raw):
    with pytest.raises(ValueError):
        parse_hours(raw)
