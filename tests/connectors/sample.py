"""A connector over an in-memory catalogue, for the runtime's tests: what a real one does,
with knobs to fail at chosen moments."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tessera.connectors.sdk import (
    ActionSpec,
    AuthenticationError,
    Catalog,
    Checkpoint,
    CheckResult,
    Connector,
    ConnectorError,
    Lookup,
    Manifest,
    Record,
    StreamSpec,
    Subscription,
    TransientError,
)

#: the "remote system": products by id, each with an updated counter as its cursor
CATALOGUE: dict[str, Any] = {"items": [], "brands": [], "fail": [], "orders": {}, "hooks": {}}


def reset(items: int = 0, brands: int = 0) -> None:
    CATALOGUE["brands"] = [{"id": b, "name": f"Brand {b}", "updated": b} for b in range(1, brands + 1)]
    CATALOGUE["items"] = [
        {
            "id": i,
            "title": f"Item {i}",
            "price": i * 10,
            "brand": (i % brands) + 1 if brands else None,
            "updated": i,
        }
        for i in range(1, items + 1)
    ]
    CATALOGUE["fail"] = []
    CATALOGUE["orders"] = {}
    CATALOGUE["hooks"] = {}


class Catalogue(Connector):
    manifest = Manifest(
        name="catalogue",
        version="1.0.0",
        title="Catalogue (tests)",
        description="Products from an in-memory catalogue.",
        config_schema={
            "type": "object",
            "required": ["token"],
            "properties": {
                "token": {"type": "string", "secret": True},
                "page_size": {"type": "integer", "minimum": 1, "default": 3},
            },
            "additionalProperties": False,
        },
        streams=(
            StreamSpec(
                name="brands",
                key="id",
                cursor_field="updated",
                object="brand",
                external_id_field="catalogue_id",
                fields={"name": "/name"},
                schema={"type": "object", "required": ["id", "name"]},
            ),
            StreamSpec(
                name="items",
                key="id",
                cursor_field="updated",
                object="item",
                external_id_field="catalogue_id",
                fields={
                    "title": "/title",
                    "price": "/price",
                    "brand": Lookup("/brand", "brand", "catalogue_id"),
                },
                schema={"type": "object", "required": ["id", "title"]},
            ),
        ),
        actions=(
            ActionSpec(
                "place_order",
                "Place an order for an item (once per idempotency key).",
                input_schema={
                    "type": "object",
                    "required": ["item"],
                    "properties": {
                        "item": {"type": "integer"},
                        "quantity": {"type": "integer", "minimum": 1},
                    },
                },
                output_schema={
                    "type": "object",
                    "required": ["order"],
                    "properties": {"order": {"type": "string"}, "repeated": {"type": "boolean"}},
                },
            ),
        ),
        max_retries=2,
    )

    def discover(self, config: Mapping[str, Any]) -> Catalog:
        if config.get("token") == "unreachable":
            raise TransientError("The catalogue cannot be reached.")
        return super().discover(config)

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        if config.get("token") != "good":
            return CheckResult.failed("The catalogue refused the token.", ("token",))
        return CheckResult.passed()

    def read(
        self, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None
    ) -> Iterator[Record | Checkpoint]:
        self.manifest.stream(stream)
        if config.get("token") != "good":
            raise AuthenticationError("The catalogue refused the token.")
        after = (state or {}).get("updated", 0)
        page = int(config.get("page_size", 3))
        rows = sorted((r for r in CATALOGUE[stream] if r["updated"] > after), key=lambda r: r["updated"])
        for start in range(0, len(rows), page):
            for row in rows[start : start + page]:
                if CATALOGUE["fail"] and CATALOGUE["fail"][0][0] == row["id"]:
                    raise CATALOGUE["fail"].pop(0)[1]
                yield Record(dict(row))
            yield Checkpoint({"updated": rows[start : start + page][-1]["updated"]})

    def execute(
        self, config: Mapping[str, Any], action: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> Mapping[str, Any]:
        self.manifest.action(action)
        orders = CATALOGUE["orders"]
        if idempotency_key in orders:
            return {"order": orders[idempotency_key], "repeated": True}
        if CATALOGUE["fail"]:
            error: ConnectorError = CATALOGUE["fail"].pop(0)[1]
            raise error
        orders[idempotency_key] = f"O-{len(orders) + 1}"
        return {"order": orders[idempotency_key], "repeated": False}

    def subscribe(self, config: Mapping[str, Any], callback_url: str, secret: str) -> Subscription | None:
        hook = f"hook-{len(CATALOGUE['hooks']) + 1}"
        CATALOGUE["hooks"][hook] = {"url": callback_url, "secret": secret}
        return Subscription(hook, {"events": ["item.changed"]})

    def unsubscribe(self, config: Mapping[str, Any], subscription: Subscription) -> None:
        CATALOGUE["hooks"].pop(subscription.id, None)
