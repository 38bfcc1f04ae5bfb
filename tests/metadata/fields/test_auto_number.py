import threading

from .helpers import refused


def test_numbers_use_prefix_and_padding(object_factory, records, workspace):
    object_factory(
        "case",
        fields=[
            {
                "api_name": "ref",
                "type": "auto_number",
                "options": {"prefix": "CASE-", "padding": 5, "start": 41},
            }
        ],
    )
    assert [records.create(workspace, "case", {})["ref"] for _ in range(2)] == ["CASE-00041", "CASE-00042"]


def test_read_only(object_factory, records, workspace):
    object_factory("case", fields=[{"api_name": "ref", "type": "auto_number"}])
    error = refused(records.create, workspace, "case", {"ref": "CASE-1"})
    assert (error.code, error.path) == ("FIELD_READ_ONLY", ("ref",))


def test_existing_records_are_numbered_in_creation_order(object_factory, field_factory, records, workspace):
    object_factory("case", fields=[{"api_name": "title", "type": "text"}])
    first = records.create(workspace, "case", {"title": "first"})
    second = records.create(workspace, "case", {"title": "second"})
    field_factory("case", api_name="ref", type="auto_number", options={"prefix": "C", "padding": 3})
    assert records.get(workspace, "case", first["id"])["ref"] == "C001"
    assert records.get(workspace, "case", second["id"])["ref"] == "C002"
    assert records.create(workspace, "case", {"title": "third"})["ref"] == "C003"


def test_concurrent_inserts_never_share_a_number(object_factory, records, workspace):
    object_factory("case", fields=[{"api_name": "ref", "type": "auto_number", "options": {"padding": 3}}])
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def insert_ten() -> None:
        try:
            for _ in range(10):
                ref = records.create(workspace, "case", {})["ref"]
                with lock:
                    numbers.append(ref)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=insert_ten) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == [f"{n:03d}" for n in range(1, 81)]


def test_deleting_the_field_or_its_object_removes_the_counter(object_factory, store, workspace, engine):
    """Schema changes run with SQLite's foreign keys off, so the counter row is deleted
    explicitly rather than by cascade."""
    import sqlalchemy as sa

    from tessera.metadata import changes
    from tessera.platform.tables import auto_number_sequences

    def counters() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(auto_number_sequences)).scalar_one()
            )

    object_factory(
        "ticket",
        fields=[{"api_name": "ref", "type": "auto_number"}, {"api_name": "alt", "type": "auto_number"}],
    )
    baseline = counters()
    store.apply(workspace, changes.delete_field("ticket", "alt"))
    assert counters() == baseline - 1
    store.apply(workspace, changes.delete_object("ticket"))
    assert counters() == baseline - 2
