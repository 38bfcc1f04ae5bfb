"""The record service (create and read); both databases."""

from __future__ import annotations

import pytest

from tessera.platform.errors import TesseraError
from tessera.platform.records import RecordWriter


@pytest.fixture
def company(object_factory):
    return object_factory(
        "company",
        fields=[
            {"api_name": "name", "type": "text", "required": True, "unique": True},
            {"api_name": "size", "type": "integer", "default": 10},
            {"api_name": "website", "type": "url"},
        ],
    )


def test_create_sets_system_fields_and_defaults(company, records, workspace):
    created = records.create(workspace, "company", {"name": "Acme"})
    assert created["size"] == 10
    assert created["created_at"] == created["updated_at"]
    assert created["deleted_at"] is None
    assert records.get(workspace, "company", created["id"]) == created


def test_every_problem_is_reported_and_nothing_is_written(company, records, workspace):
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {"size": "big", "website": "nope", "colour": "red", "id": "x"})
    assert {(p.code, p.path) for p in caught.value.problems} == {
        ("TYPE_MISMATCH", ("size",)),
        ("INVALID_URL", ("website",)),
        ("UNKNOWN_FIELD", ("colour",)),
        ("FIELD_READ_ONLY", ("id",)),
        ("FIELD_REQUIRED", ("name",)),
    }
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {})
    assert (caught.value.code, caught.value.path) == ("FIELD_REQUIRED", ("name",))
    created = records.create(workspace, "company", {"name": "Acme"})
    assert records.get(workspace, "company", created["id"])["name"] == "Acme"


def test_unique_values(company, records, workspace):
    records.create(workspace, "company", {"name": "Acme"})
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {"name": "Acme"})
    assert (caught.value.code, caught.value.path) == ("DUPLICATE_VALUE", ("name",))


def test_unknown_object(records, workspace):
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "ghost", {})
    assert caught.value.code == "UNKNOWN_OBJECT"


def test_a_concurrent_duplicate_gets_the_same_clear_error(company, records, workspace, monkeypatch):
    """The pre-check can miss a value inserted meanwhile: the database's refusal is
    translated into the same error."""
    records.create(workspace, "company", {"name": "Acme"})
    monkeypatch.setattr(RecordWriter, "unique_problems", lambda *args, **kwargs: [])
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {"name": "Acme"})
    assert (caught.value.code, caught.value.path) == ("DUPLICATE_VALUE", ("name",))
