from .helpers import coerce, rejected


def test_stored_in_e164():
    assert coerce("phone", "+44 20 7946 0958") == "+442079460958"
    assert coerce("phone", "01 23 45 67 89", default_region="FR") == "+33123456789"


def test_without_a_region_the_country_code_is_needed():
    error = rejected("phone", "01 23 45 67 89")
    assert error.code == "INVALID_PHONE"
    assert "country code" in error.message


def test_impossible_numbers_are_refused():
    assert rejected("phone", "+33 12").code == "INVALID_PHONE"
    assert rejected("phone", "call me").code == "INVALID_PHONE"
