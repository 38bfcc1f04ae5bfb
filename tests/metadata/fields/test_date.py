import datetime as dt

from .helpers import coerce, rejected


def test_iso_dates_round_trip(object_factory, records, workspace):
    object_factory("deal", fields=[{"api_name": "close_date", "type": "date"}])
    created = records.create(workspace, "deal", {"close_date": "2024-02-29"})
    assert records.get(workspace, "deal", created["id"])["close_date"] == dt.date(2024, 2, 29)


def test_other_formats_and_datetimes_are_refused():
    assert rejected("date", "2023-02-29").code == "INVALID_DATE"
    assert rejected("date", "29/02/2024").code == "INVALID_DATE"
    assert rejected("date", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)).code == "TYPE_MISMATCH"
    assert coerce("date", dt.date(2024, 1, 1)) == dt.date(2024, 1, 1)


def test_today_default(object_factory, records, workspace):
    object_factory("deal", fields=[{"api_name": "opened", "type": "date", "default": "today"}])
    created = records.create(workspace, "deal", {})
    assert created["opened"] == dt.datetime.now(dt.UTC).date()
