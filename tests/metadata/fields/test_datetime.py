import datetime as dt

from tessera.metadata import changes

from .helpers import coerce, rejected


def test_stored_and_returned_in_utc(object_factory, records, workspace):
    object_factory("meeting", fields=[{"api_name": "starts_at", "type": "datetime"}])
    created = records.create(workspace, "meeting", {"starts_at": "2026-03-29T01:30:00-05:00"})
    read = records.get(workspace, "meeting", created["id"])["starts_at"]
    assert read == dt.datetime(2026, 3, 29, 6, 30, tzinfo=dt.UTC)
    assert read.utcoffset() == dt.timedelta(0)


def test_a_time_without_offset_is_refused_not_guessed():
    error = rejected("datetime", "2026-03-29T01:30:00")
    assert error.code == "DATETIME_WITHOUT_TIMEZONE"
    assert rejected("datetime", dt.datetime(2026, 1, 1)).code == "DATETIME_WITHOUT_TIMEZONE"
    assert rejected("datetime", "tomorrow").code == "INVALID_DATETIME"
    assert coerce("datetime", "2026-01-01T00:00:00Z") == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_now_default(object_factory, records, workspace):
    object_factory("meeting", fields=[{"api_name": "logged_at", "type": "datetime", "default": "now"}])
    before = dt.datetime.now(dt.UTC)
    created = records.create(workspace, "meeting", {})
    assert before <= created["logged_at"] <= dt.datetime.now(dt.UTC)


def test_date_becomes_datetime_at_midnight_utc(object_factory, records, store, workspace):
    object_factory("meeting", fields=[{"api_name": "day", "type": "date"}])
    created = records.create(workspace, "meeting", {"day": "2026-05-01"})
    store.apply(workspace, changes.update_field("meeting", "day", {"type": "datetime"}))
    assert records.get(workspace, "meeting", created["id"])["day"] == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
