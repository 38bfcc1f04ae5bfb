"""Workflows are data: a JSON (or YAML) document with a trigger, steps and settings,
validated by a published JSON Schema (``workflows/schemas/workflow.schema.json``) and then
against the workspace's data model.

```yaml
name: deal_won_onboarding
label: Deal won → onboarding case
trigger:
  type: record_updated
  object: deal
  fields: [stage]                       # only when one of these changes
  condition: {stage: {changed_to: won}} # the filter language, plus change operators
steps:
  - id: onboarding
    type: create_record
    object: case
    values: {subject: "Onboard {{ record.title }}", deal: "{{ record.id }}"}
settings:
  retry: {max_attempts: 3, backoff_seconds: 60}
```

The engine (:mod:`tessera.workflows.engine`) runs them; this module is the model every
part shares.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tessera.metadata.changes import find_object
from tessera.metadata.filters import check_filter
from tessera.metadata.model import MetadataState
from tessera.platform.errors import Path as ErrorPath
from tessera.platform.errors import Problem, TesseraError, dedupe
from tessera.workflows.timers import is_cron

SCHEMA_PATH = Path(__file__).parent / "schemas" / "workflow.schema.json"
SCHEMA_ID = "https://tessera.dev/schemas/workflow.schema.json"
NAME = "^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"
TRIGGERS = (
    "record_created",
    "record_updated",
    "record_deleted",
    "schedule",
    "relative_date",
    "manual",
    "webhook",
)
RECORD_TRIGGERS = ("record_created", "record_updated", "record_deleted", "relative_date", "manual")
STEP_TYPES = (
    "create_record", "update_record", "delete_record", "find_records",
    "branch", "loop", "wait", "send_email", "http_request", "connector_action",
)  # fmt: skip
RECORD_STEPS = ("create_record", "update_record", "delete_record", "find_records")
#: what each step type cannot do without
STEP_NEEDS = {
    "branch": ("if",),
    "loop": ("over", "steps"),
    "send_email": ("to", "subject"),
    "http_request": ("url",),
    "connector_action": ("connector", "action"),
}
#: change operators, on top of the filter language, in a trigger's condition
CHANGE_OPERATORS = ("changed", "changed_from", "changed_to")
TEMPLATE = re.compile(r"{{\s*(.*?)\s*}}")
TEMPLATE_PATH = re.compile(
    r"^(record|previous|trigger|steps|loop|workflow)(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*$"
)


def _steps_schema() -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": "#/$defs/step"}}


def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of workflow documents (published, for editors and partners)."""
    duration = {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {unit: {"type": "integer", "minimum": 0} for unit in ("minutes", "hours", "days")},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Tessera workflow",
        "description": "A no-code automation: when the trigger fires, run the steps.",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "trigger", "steps"],
        "properties": {
            "name": {"type": "string", "pattern": NAME, "description": "snake_case, unique in the workspace"},
            "label": {"type": "string"},
            "description": {"type": "string"},
            "trigger": {"$ref": "#/$defs/trigger"},
            "steps": _steps_schema(),
            "settings": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "retry": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "max_attempts": {"type": "integer", "minimum": 1, "maximum": 10},
                            "backoff_seconds": {"type": "integer", "minimum": 1, "maximum": 3600},
                        },
                    },
                    "max_depth": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 20,
                        "description": "how deep workflows may trigger workflows (loop guard)",
                    },
                    "run_as": {"type": "string", "description": "the user the workflow writes as"},
                },
            },
        },
        "$defs": {
            "trigger": {
                "type": "object",
                "required": ["type"],
                "additionalProperties": False,
                "properties": {
                    "type": {"enum": list(TRIGGERS)},
                    "object": {"type": "string", "pattern": NAME},
                    "fields": {"type": "array", "items": {"type": "string", "pattern": NAME}},
                    "condition": {
                        "type": "object",
                        "description": "a filter, plus changed / changed_from / changed_to",
                    },
                    "cron": {
                        "type": "string",
                        "description": "schedule: five-field cron, workspace time zone",
                    },
                    "filter": {"type": "object", "description": "schedule: the records it runs over"},
                    "date_field": {"type": "string", "pattern": NAME},
                    "offset": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "before": duration,
                            "after": duration,
                        },
                        "minProperties": 1,
                        "maxProperties": 1,
                    },
                },
            },
            "step": {
                "type": "object",
                "required": ["id", "type"],
                "properties": {
                    "id": {"type": "string", "pattern": NAME},
                    "type": {"enum": list(STEP_TYPES)},
                    "object": {"type": "string", "pattern": NAME},
                    "record": {"type": "string", "description": "the record to update/delete: a template"},
                    "values": {"type": "object"},
                    "filter": {"type": "object"},
                    "if": {"type": "object", "description": "branch: a condition"},
                    "then": _steps_schema(),
                    "else": _steps_schema(),
                    "over": {"type": "string", "description": "loop: a template naming a list"},
                    "steps": _steps_schema(),
                    "duration": duration,
                    "until": {"type": "string", "description": "wait: a template naming a date"},
                    "to": {
                        "description": "send_email: addresses, comma-separated or a list",
                        "type": ["string", "array"],
                        "items": {"type": "string"},
                    },
                    "subject": {"type": "string"},
                    "body": {"type": "string", "description": "send_email: the text body"},
                    "html": {"type": "string", "description": "send_email: the HTML body"},
                    "from": {"type": "string", "description": "send_email: the sender address"},
                    "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                    "url": {"type": "string"},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "json": {},
                    "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
                    "connector": {"type": "string"},
                    "action": {"type": "string"},
                    "input": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
    }


@cache
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(workflow_schema())


def load_workflow(text: str) -> Any:
    """A workflow document from YAML or JSON text."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TesseraError.single("INVALID_DOCUMENT", f"Not valid YAML or JSON: {exc}") from None


def workflow_problems(document: Any, state: MetadataState) -> list[Problem]:
    """Everything wrong with a workflow document, with paths: its shape first, then what
    it names in the data model (objects, fields, filters, step ids, templates)."""
    problems = [
        Problem("INVALID_WORKFLOW", error.message, tuple(error.absolute_path))
        for error in sorted(validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems or not isinstance(document, Mapping):
        return problems or [Problem("INVALID_WORKFLOW", "A workflow is an object.", ())]
    trigger = document["trigger"]
    if trigger["type"] in RECORD_TRIGGERS or trigger["type"] == "schedule":
        problems += _object_problems(trigger, state, ("trigger",))
        obj = state.object_named(trigger.get("object", ""))
        if obj is not None:
            for i, name in enumerate(trigger.get("fields", [])):
                if obj.field_named(name) is None:
                    problems.append(
                        Problem(
                            "UNKNOWN_FIELD",
                            f"'{obj.api_name}' has no field '{name}'.",
                            ("trigger", "fields", i),
                        )
                    )
            if "condition" in trigger:
                problems += _condition_problems(trigger["condition"], obj, state, ("trigger", "condition"))
            if "filter" in trigger:
                problems += _filter_problems(trigger["filter"], obj, state, ("trigger", "filter"))
            if trigger["type"] == "relative_date":
                date_field = obj.field_named(trigger.get("date_field", ""))
                if date_field is None or date_field.type not in ("date", "datetime"):
                    problems.append(
                        Problem(
                            "INVALID_WORKFLOW",
                            "relative_date needs date_field: a date or datetime field.",
                            ("trigger", "date_field"),
                        )
                    )
                if "offset" not in trigger:
                    problems.append(
                        Problem(
                            "INVALID_WORKFLOW",
                            "relative_date needs an offset: {after: {days: 3}}.",
                            ("trigger", "offset"),
                        )
                    )
    if trigger["type"] == "schedule" and not is_cron(trigger.get("cron")):
        problems.append(
            Problem(
                "INVALID_WORKFLOW",
                "A schedule needs cron: five valid fields (minute hour day month weekday), e.g. '0 9 * * 1'.",
                ("trigger", "cron"),
            )
        )
    run_as = document.get("settings", {}).get("run_as")
    if run_as is not None and not _is_uuid(run_as):
        problems.append(
            Problem(
                "INVALID_WORKFLOW",
                "run_as is the id (a UUID) of the user the workflow writes as.",
                ("settings", "run_as"),
            )
        )
    seen: dict[str, ErrorPath] = {}
    problems += _steps_problems(document["steps"], state, ("steps",), seen)
    return dedupe(problems)


def check_workflow(document: Any, state: MetadataState) -> None:
    problems = workflow_problems(document, state)
    if problems:
        raise TesseraError(problems)


def _object_problems(holder: Mapping[str, Any], state: MetadataState, path: ErrorPath) -> list[Problem]:
    name = holder.get("object")
    if name is None:
        return [Problem("INVALID_WORKFLOW", "Name the object.", (*path, "object"))]
    try:
        find_object(state, name, (*path, "object"))
    except TesseraError as exc:
        return list(exc.problems)
    return []


def _filter_problems(filter_doc: Any, obj: Any, state: MetadataState, path: ErrorPath) -> list[Problem]:
    try:
        check_filter(filter_doc, obj, state, path)
    except TesseraError as exc:
        return list(exc.problems)
    return []


def _condition_problems(condition: Any, obj: Any, state: MetadataState, path: ErrorPath) -> list[Problem]:
    """A trigger condition: the filter language, where a field may also say changed,
    changed_from or changed_to (checked here, evaluated by the engine)."""
    if not isinstance(condition, Mapping):
        return [Problem("FILTER_INVALID", "A condition is a filter object.", path)]
    plain: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in condition.items():
        if isinstance(value, Mapping) and any(op in value for op in CHANGE_OPERATORS):
            fld = obj.field_named(key)
            if fld is None:
                problems.append(
                    Problem("FILTER_UNKNOWN_FIELD", f"'{obj.api_name}' has no field '{key}'.", (*path, key))
                )
                continue
            rest = {op: v for op, v in value.items() if op not in CHANGE_OPERATORS}
            for op in ("changed_from", "changed_to"):
                if op in value:
                    problems += _filter_problems({key: {"eq": value[op]}}, obj, state, (*path, op))
            if "changed" in value and not isinstance(value["changed"], bool):
                problems.append(
                    Problem("FILTER_INVALID_VALUE", "'changed' takes true or false.", (*path, key, "changed"))
                )
            if rest:
                plain[key] = rest
        else:
            plain[key] = value
    return problems + _filter_problems(plain, obj, state, path)


def _steps_problems(
    steps: list[Any], state: MetadataState, path: ErrorPath, seen: dict[str, ErrorPath]
) -> list[Problem]:
    problems: list[Problem] = []
    for i, step in enumerate(steps):
        at = (*path, i)
        if step["id"] in seen:
            problems.append(Problem("DUPLICATE_NAME", f"Two steps have the id '{step['id']}'.", (*at, "id")))
        seen[step["id"]] = at
        kind = step["type"]
        if kind in ("create_record", "update_record", "delete_record", "find_records"):
            problems += _object_problems(step, state, at)
            obj = state.object_named(step.get("object", ""))
            if obj is not None:
                for name in step.get("values", {}):
                    if obj.field_named(name) is None and name != "owner":
                        problems.append(
                            Problem(
                                "UNKNOWN_FIELD",
                                f"'{obj.api_name}' has no field '{name}'.",
                                (*at, "values", name),
                            )
                        )
                if kind == "find_records" and "filter" in step:
                    problems += _filter_problems(
                        without_templates(step["filter"]), obj, state, (*at, "filter")
                    )
            if kind in ("update_record", "delete_record") and "record" not in step:
                problems.append(
                    Problem(
                        "INVALID_WORKFLOW", "Say which record: record: '{{ record.id }}'.", (*at, "record")
                    )
                )
        for needed in STEP_NEEDS.get(kind, ()):
            if needed not in step:
                problems.append(
                    Problem("INVALID_WORKFLOW", f"A {kind} step needs '{needed}'.", (*at, needed))
                )
        if kind == "wait" and ("duration" in step) == ("until" in step):
            problems.append(
                Problem(
                    "INVALID_WORKFLOW",
                    "A wait step needs either duration: {days: 3} or until: '{{ record.close_date }}'.",
                    (*at, "duration"),
                )
            )
        for key in ("then", "else", "steps"):
            if key in step:
                problems += _steps_problems(step[key], state, (*at, key), seen)
        problems += _template_problems(step, at)
    return problems


def without_templates(filter_doc: Any) -> Any:
    """A filter whose operands filled by templates are left out: their values are known
    only when the step runs (fields and operators are still checked)."""
    if isinstance(filter_doc, Mapping):
        return {
            key: without_templates(value)
            for key, value in filter_doc.items()
            if not (isinstance(value, str) and TEMPLATE.search(value))
            and not (
                isinstance(value, list) and any(isinstance(v, str) and TEMPLATE.search(v) for v in value)
            )
        }
    if isinstance(filter_doc, list):
        return [without_templates(item) for item in filter_doc]
    return filter_doc


def _template_problems(value: Any, path: ErrorPath) -> list[Problem]:
    """Templates name values (``{{ record.amount }}``, ``{{ steps.find.result[0].email }}``);
    they are looked up, never evaluated as code."""
    if isinstance(value, str):
        return [
            Problem(
                "INVALID_TEMPLATE",
                f"'{{{{ {expression} }}}}' is not a value path such as record.amount or steps.<id>.result.",
                path,
            )
            for expression in TEMPLATE.findall(value)
            if not TEMPLATE_PATH.match(expression)
        ]
    if isinstance(value, Mapping):
        return [
            p
            for key, item in value.items()
            if key not in ("then", "else", "steps")
            for p in _template_problems(item, (*path, key))
        ]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _template_problems(item, (*path, i))]
    return []


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
