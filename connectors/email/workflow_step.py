"""The workflow ``send_email`` step, through the workspace's email connection when it has one.

Without an email connection, the step sends through ``TESSERA_MAIL_URL`` as before. With
one, it goes through the connector's ``send_email`` action: SMTP with the connection's
server and credentials, a Message-ID that names the run's record (so replies thread back to
it), a copy in the Sent folder, and an ``email_message`` record linked to the recipient's
person and to the record the run is about. The sender is then the connection's address (a
step's ``from`` is not used). When a workspace has several email connections, the one named
``email`` is used, else the first by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tessera.connectors.connections import Connection
from tessera.connectors.runtime import ConnectorAction, ConnectorRuntime
from tessera.workflows.actions import Action, ActionCall
from tessera.workflows.mail import SendEmailAction

CONNECTOR = "email"


class SendEmailStep(Action):
    name: ClassVar[str] = SendEmailAction.name
    description: ClassVar[str] = (
        "Send an email: through the workspace's email connection (stored, threaded, filed in Sent) "
        "when it has one, else through the server's mail settings."
    )
    input_schema: ClassVar[Mapping[str, Any]] = SendEmailAction.input_schema
    output_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}

    def __init__(self, runtime: ConnectorRuntime, fallback: SendEmailAction) -> None:
        self.runtime = runtime
        self.fallback = fallback

    def connection(self, workspace: str) -> Connection | None:
        enabled = [c for c in self.runtime.store.list(workspace) if c.connector == CONNECTOR and c.enabled]
        named = [c for c in enabled if c.name == CONNECTOR]
        chosen = named or enabled
        return chosen[0] if chosen else None

    def execute(self, call: ActionCall, payload: Mapping[str, Any]) -> Any:
        connection = self.connection(call.workspace)
        if connection is None:
            return self.fallback.execute(call, payload)
        message: dict[str, Any] = {"to": payload["to"], "subject": payload["subject"]}
        if "body" in payload:
            message["text"] = payload["body"]
        if "html" in payload:
            message["html"] = payload["html"]
        if call.record is not None:
            message["related_object"], record_id = call.record
            message["related_record_id"] = str(record_id)
        return ConnectorAction(self.runtime, connection.name, "send_email").execute(call, message)
