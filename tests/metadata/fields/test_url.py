from .helpers import coerce, rejected


def test_scheme_is_added_when_missing():
    assert coerce("url", "example.com") == "https://example.com"
    assert coerce("url", "http://localhost:8000/x") == "http://localhost:8000/x"


def test_only_web_addresses():
    for bad in ("ftp://example.com", "https://", "not a url", "https://intranet"):
        assert rejected("url", bad).code == "INVALID_URL"
    assert rejected("url", "https://example.com/" + "x" * 2048).code == "VALUE_TOO_LONG"
