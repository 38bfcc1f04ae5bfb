"""Metadata documents: export, apply, round trip, errors; on both databases."""

from __future__ import annotations

import jsonschema
import pytest
import sqlalchemy as sa

from tessera.metadata.document import (
    FORMAT,
    document_schema,
    document_state,
    dump_document,
    export_document,
    load_document,
)
from tessera.metadata.storage import Namespace
from tessera.platform.errors import TesseraError

MODEL = """
objects:
  - api_name: deal
    fields:
      - {api_name: title, type: text, required: true}
      - {api_name: company, type: lookup, options: {target_object: company, on_delete: cascade}}
      - api_name: stage
        type: select
        default: new
        options: {choices: [{value: new, label: New}, {value: won, label: Won, color: green}]}
      - {api_name: tags, type: multi_select, options: {choices: [{value: vip}, {value: partner}]}}
      - {api_name: amount, type: currency, options: {default_currency: EUR}}
      - {api_name: ref, type: auto_number, options: {prefix: "D-", padding: 4}}
  - api_name: company
    label_plural: Companies
    fields:
      - {api_name: name, type: text, unique: true}
      - {api_name: parent, type: lookup, options: {target_object: company, reverse_name: subsidiaries}}
"""


@pytest.fixture
def apply_document(store, workspace):
    def apply(text: str, **kwargs):
        document = load_document(text)
        return store.apply(workspace, lambda current: document_state(document, current), **kwargs)

    return apply


def test_a_hand_written_document_creates_objects_in_any_order(apply_document, state, engine, workspace):
    result = apply_document(MODEL)
    assert result.applied and result.version == 1
    model = state()
    assert [o.api_name for o in model.objects] == ["deal", "company"]
    relations = {
        (r.source_object.api_name, r.source_field.api_name, r.reverse_name) for r in model.relations()
    }
    assert relations == {("deal", "company", "deals"), ("company", "parent", "subsidiaries")}
    # deal is created before company, which it links to: the link still gets its key and index
    ns = Namespace(workspace, engine.dialect.name)
    inspector = sa.inspect(engine)
    (fk,) = inspector.get_foreign_keys(ns.table_name("deal"), schema=ns.schema)
    assert (fk["constrained_columns"], fk["referred_table"]) == (["company"], ns.table_name("company"))
    indexed = [i["column_names"] for i in inspector.get_indexes(ns.table_name("deal"), schema=ns.schema)]
    assert ["company"] in indexed


def test_applying_the_same_document_twice_is_a_no_op(apply_document, state):
    apply_document(MODEL)
    again = apply_document(MODEL)
    assert again.applied is False
    assert again.changes == []
    assert state().version == 1


def test_export_then_apply_round_trips(apply_document, state, workspace):
    apply_document(MODEL)
    exported = export_document(state(), workspace)
    assert exported["format"] == FORMAT
    assert exported["workspace"] == workspace
    jsonschema.Draft202012Validator(document_schema()).validate(exported)
    for fmt in ("yaml", "json"):
        result = apply_document(dump_document(exported, fmt))
        assert result.changes == []
    reexported = export_document(state(), workspace)
    assert reexported == exported


def test_an_edited_export_applies_the_diff(apply_document, state, workspace, records):
    apply_document(MODEL)
    company = records.create(workspace, "company", {"name": "Acme"})
    records.create(workspace, "deal", {"title": "Big", "company": company["id"], "stage": "won"})
    text = dump_document(export_document(state(), workspace))
    edited = (
        text.replace("value: won", "value: closed_won")
        .replace("api_name: title", "api_name: name")
        .replace("label: Title", "label: Name")
    )
    result = apply_document(edited)
    described = [c.describe() for c in result.changes]
    assert described == [
        "Field 'deal.title': rename to 'name'; change label",
        "Field 'deal.stage': change options",
    ]
    (deal,) = [records.get(workspace, "deal", r) for r in [_only_id(records, workspace)]]
    assert deal["name"] == "Big"
    assert deal["stage"] == "closed_won"


def _only_id(records, workspace):
    import sqlalchemy as sa

    from tessera.metadata.storage import Namespace

    engine = records.engine
    ns = Namespace(workspace, engine.dialect.name)
    table = sa.table(ns.table_name("deal"), sa.column("id", sa.Uuid), schema=ns.schema)
    with engine.connect() as conn:
        return conn.execute(sa.select(table.c.id)).scalar_one()


def test_leaving_an_object_out_deletes_it(apply_document, state):
    apply_document(MODEL)
    result = apply_document(
        MODEL.split("  - api_name: company")[0].replace(
            "      - {api_name: company, type: lookup, options: {target_object: company, on_delete: cascade}}\n",
            "",
        )
    )
    assert "Delete object 'company'" in [c.describe() for c in result.changes]
    assert [o.api_name for o in state().objects] == ["deal"]


@pytest.mark.parametrize(
    ("text", "code", "path"),
    [
        ("objects: [{fields: []}]", "INVALID_DOCUMENT", ("objects", 0)),
        ("objects: [{api_name: deal, colour: red}]", "INVALID_DOCUMENT", ("objects", 0)),
        (
            "objects: [{api_name: deal, fields: [{api_name: x, type: money}]}]",
            "INVALID_DOCUMENT",
            ("objects", 0, "fields", 0, "type"),
        ),
        (
            "objects: [{api_name: deal, fields: [{api_name: x, type: decimal, options: {scale: -1}}]}]",
            "INVALID_OPTIONS",
            ("objects", 0, "fields", 0, "options", "scale"),
        ),
        ("objects: [{api_name: Deal}]", "NAME_NOT_SNAKE_CASE", ("objects", 0, "api_name")),
        (
            "objects: [{api_name: deal, fields: [{api_name: c, type: lookup, options: {target_object: ghost}}]}]",
            "UNKNOWN_OBJECT",
            ("objects", 0, "fields", 0, "options", "target_object"),
        ),
        ("objects: [{api_name: deal}, {api_name: deal}]", "DUPLICATE_NAME", ("objects", 1, "api_name")),
        ("format: other/v9\nobjects: []", "INVALID_DOCUMENT", ("format",)),
    ],
)
def test_invalid_documents_are_rejected_with_paths(apply_document, state, text, code, path):
    with pytest.raises(TesseraError) as caught:
        apply_document(text)
    assert (code, path) in {(p.code, p.path) for p in caught.value.problems}
    assert state().version == 0


def test_yaml_syntax_errors_say_where():
    with pytest.raises(TesseraError) as caught:
        load_document("objects:\n  - api_name: [deal\n")
    assert caught.value.code == "INVALID_DOCUMENT"
    assert "line" in caught.value.problems[0].message


def test_one_document_applies_to_several_workspaces_with_its_ids(store, workspace_factory, records):
    """Staging → production, or one package into many workspaces of the same database."""
    staging, production = workspace_factory("stg"), workspace_factory("prd")
    document = load_document(MODEL)
    store.apply(staging, lambda current: document_state(document, current))
    exported = export_document(store.state(staging))
    store.apply(production, lambda current: document_state(exported, current))
    ids = {(o.api_name, f.api_name): f.id for o, f in store.state(staging).all_fields()}
    assert {(o.api_name, f.api_name): f.id for o, f in store.state(production).all_fields()} == ids
    records.create(staging, "company", {"name": "Acme"})
    records.create(production, "company", {"name": "Acme"})  # unique per workspace
    renamed = load_document(dump_document(exported).replace("api_name: title", "api_name: headline"))
    result = store.apply(production, lambda current: document_state(renamed, current))
    assert [c.describe() for c in result.changes] == ["Field 'deal.title': rename to 'headline'"]
    assert store.state(staging).object_named("deal").field_named("title") is not None


def test_ids_from_elsewhere_fall_back_to_names(store, workspace_factory):
    """A workspace whose objects were made independently keeps its own ids."""
    first, second = workspace_factory(), workspace_factory()
    for slug in (first, second):
        store.apply(slug, lambda current: document_state(load_document(MODEL), current))
    result = store.apply(second, lambda current: document_state(export_document(store.state(first)), current))
    assert result.changes == []
    assert store.state(second).object_named("deal").id != store.state(first).object_named("deal").id
