"""The contract every connector keeps: a pytest suite a connector runs against itself.

Subclass :class:`ConnectorContract` in a test module, name the connector class and give
the fixtures it needs::

    import pytest
    from tessera.connectors.contract import ConnectorContract
    from shop_connector import Shop

    class TestShopContract(ConnectorContract):
        connector_class = Shop

        @pytest.fixture
        def config(self, shop_server):
            return {"url": shop_server.url, "token": "secret"}

        @pytest.fixture
        def bad_config(self, shop_server):
            return {"url": shop_server.url, "token": "wrong"}, "token was refused"

Optional fixtures: ``action_inputs`` (action name → a valid input; each named action is
executed once and its output checked against the output schema) and ``context`` (a
:class:`~tessera.connectors.sdk.ConnectorContext` for connectors that read or write
Tessera records).

What the suite checks:

- the manifest: a valid name and version, a configuration schema that is valid JSON
  Schema, secrets marked, streams with a key, an object and an external id field,
  action schemas that are valid JSON Schema;
- ``check`` passes with the working configuration and fails with the bad one, in words
  that name the problem (never an exception);
- ``discover`` lists streams and actions whose names are unique;
- ``read`` of every stream yields records carrying their key (and cursor field), valid
  against the stream's schema, with JSON checkpoints; a read resumed from the last
  checkpoint yields no record already covered by it twice, or a subset of the first;
- errors raised are the SDK's taxonomy, never bare exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import jsonschema
import pytest

from tessera.connectors.sdk import (
    Checkpoint,
    Connector,
    ConnectorContext,
    ConnectorError,
    Record,
    StreamSpec,
    secret_fields,
)
from tessera.connectors.sync import source_value

#: the most records the suite reads of one stream (a contract test, not a full sync)
READ_LIMIT = 500

Validator = jsonschema.Draft202012Validator


def read_stream(
    connector: Connector, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The records and checkpoint states of one read (at most :data:`READ_LIMIT` records)."""
    records: list[Mapping[str, Any]] = []
    states: list[Mapping[str, Any]] = []
    for item in connector.read(config, stream, state):
        if isinstance(item, Record):
            records.append(item.data)
        elif isinstance(item, Checkpoint):
            states.append(item.state)
        else:
            raise AssertionError(
                f"read({stream!r}) yielded {type(item).__name__}: only Record and Checkpoint"
            )
        if len(records) >= READ_LIMIT:
            break
    return records, states


class ConnectorContract:
    """The connector contract, as pytest tests. Subclass it as ``Test…``."""

    connector_class: ClassVar[type[Connector]]

    # -- fixtures a subclass provides -----------------------------------------------------
    @pytest.fixture
    def config(self) -> Mapping[str, Any]:
        raise NotImplementedError("Give a `config` fixture: a configuration that works.")

    @pytest.fixture
    def bad_config(self) -> tuple[Mapping[str, Any], str]:
        raise NotImplementedError(
            "Give a `bad_config` fixture: (a configuration that fails check, words its message contains)."
        )

    @pytest.fixture
    def action_inputs(self) -> Mapping[str, Mapping[str, Any]]:
        return {}

    @pytest.fixture
    def context(self) -> ConnectorContext | None:
        return None

    @pytest.fixture
    def connector(self, context: ConnectorContext | None) -> Connector:
        return self.connector_class(context)

    # -- the manifest ---------------------------------------------------------------------
    def test_the_manifest_is_complete(self) -> None:
        manifest = self.connector_class.manifest
        assert manifest.title, "a manifest has a title people read"
        Validator.check_schema(manifest.config_schema)
        assert manifest.config_schema.get("type") == "object"
        properties = manifest.config_schema.get("properties", {})
        for name in secret_fields(manifest.config_schema):
            assert properties[name].get("type") == "string", f"secret '{name}' is a string"
        for name in ("password", "token", "api_key", "secret"):
            if name in properties:
                assert properties[name].get("secret"), f"'{name}' is marked secret"
        assert manifest.max_retries >= 0
        json.dumps(manifest.describe())  # it is JSON, as the API and the CLI show it

    def test_streams_name_their_key_object_and_external_id(self) -> None:
        names = [s.name for s in self.connector_class.manifest.streams]
        assert len(names) == len(set(names)), "stream names are unique"
        for spec in self.connector_class.manifest.streams:
            assert spec.key and spec.object and spec.external_id_field, spec.name
            assert spec.external_id_field not in spec.fields, (
                f"{spec.name}: the external id field is filled from the key, not the mapping"
            )
            Validator.check_schema(spec.schema)

    def test_actions_have_valid_schemas(self) -> None:
        names = [a.name for a in self.connector_class.manifest.actions]
        assert len(names) == len(set(names)), "action names are unique"
        for action in self.connector_class.manifest.actions:
            Validator.check_schema(action.input_schema)
            Validator.check_schema(action.output_schema)
            assert action.description, f"action '{action.name}' says what it does"

    # -- check and discover ---------------------------------------------------------------
    def test_check_passes_with_a_working_configuration(
        self, connector: Connector, config: Mapping[str, Any]
    ) -> None:
        Validator(self.connector_class.manifest.config_schema).validate(config)
        result = connector.check(config)
        assert result.ok, result.message

    def test_check_says_what_is_wrong(
        self, connector: Connector, bad_config: tuple[Mapping[str, Any], str]
    ) -> None:
        config, words = bad_config
        result = connector.check(config)
        assert not result.ok
        assert words.lower() in result.message.lower(), result.message

    def test_discover_lists_unique_streams_and_actions(
        self, connector: Connector, config: Mapping[str, Any]
    ) -> None:
        catalog = connector.discover(config)
        assert len({s.name for s in catalog.streams}) == len(catalog.streams)
        assert len({a.name for a in catalog.actions}) == len(catalog.actions)

    # -- read -----------------------------------------------------------------------------
    def test_every_stream_reads_keyed_records_and_json_checkpoints(
        self, connector: Connector, config: Mapping[str, Any]
    ) -> None:
        for spec in connector.discover(config).streams:
            records, states = read_stream(connector, config, spec.name, None)
            self.check_records(spec, records)
            for state in states:
                assert json.loads(json.dumps(state)) == state, f"{spec.name}: a checkpoint is JSON"

    def test_a_read_resumed_from_its_last_checkpoint_repeats_nothing_it_covered(
        self, connector: Connector, config: Mapping[str, Any]
    ) -> None:
        for spec in connector.discover(config).streams:
            first, states = read_stream(connector, config, spec.name, None)
            if not states or len(first) >= READ_LIMIT:
                continue
            again, _ = read_stream(connector, config, spec.name, states[-1])
            first_keys = [source_value(r, spec.key) for r in first]
            again_keys = [source_value(r, spec.key) for r in again]
            assert len(again_keys) < len(first_keys) or not first_keys, (
                f"{spec.name}: resuming from the last checkpoint read everything again"
            )

    def check_records(self, spec: StreamSpec, records: list[Mapping[str, Any]]) -> None:
        validator = Validator(spec.schema)
        for record in records:
            assert source_value(record, spec.key) is not None, f"{spec.name}: every record has its key"
            if spec.cursor_field:
                assert source_value(record, spec.cursor_field) is not None, (
                    f"{spec.name}: every record has its cursor field '{spec.cursor_field}'"
                )
            errors = list(validator.iter_errors(record))
            assert not errors, f"{spec.name}: {errors[0].message}"

    # -- actions and errors ---------------------------------------------------------------
    def test_actions_answer_what_their_output_schema_says(
        self,
        connector: Connector,
        config: Mapping[str, Any],
        action_inputs: Mapping[str, Mapping[str, Any]],
    ) -> None:
        for name, payload in action_inputs.items():
            spec = self.connector_class.manifest.action(name)
            Validator(spec.input_schema).validate(payload)
            output = connector.execute(config, name, payload, f"contract-{name}")
            Validator(spec.output_schema).validate(dict(output))

    def test_an_unknown_stream_is_a_connector_error(
        self, connector: Connector, config: Mapping[str, Any]
    ) -> None:
        with pytest.raises(ConnectorError):
            list(connector.read(config, "no_such_stream_here", None))
