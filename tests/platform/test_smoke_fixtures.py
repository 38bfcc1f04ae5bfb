def test_record_round_trip(object_factory, records, workspace):
    object_factory("company", fields=[{"api_name": "name", "type": "text", "required": True}])
    created = records.create(workspace, "company", {"name": "Acme"})
    assert records.get(workspace, "company", created["id"])["name"] == "Acme"
