"""The workflow engine as a process runs it: actions built from the settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from tessera.connectors.email.workflow_step import SendEmailStep
from tessera.connectors.runtime import ConnectorActions, ConnectorRuntime
from tessera.platform.settings import Settings
from tessera.workflows.actions import ActionRegistry
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.http_request import HttpRequestAction
from tessera.workflows.mail import SendEmailAction, mail_sender_from_url


def build_actions(settings: Settings, connectors: ConnectorRuntime | None = None) -> ActionRegistry:
    """The built-in actions: ``send_email`` (``TESSERA_MAIL_URL``) and ``http_request``.
    With ``connectors``: every ``<connection>.<action>`` of the workspace's connections, and
    ``send_email`` goes through the workspace's email connection when it has one."""
    send_email = SendEmailAction(mail_sender_from_url(settings.mail_url))
    if connectors is None:
        return ActionRegistry(
            [send_email, HttpRequestAction(allow_private_addresses=settings.allow_private_urls)]
        )
    return ActionRegistry(
        [
            SendEmailStep(connectors, send_email),
            HttpRequestAction(allow_private_addresses=settings.allow_private_urls),
        ],
        resolve=ConnectorActions(connectors),
    )


def build_workflow_engine(
    engine: Engine, settings: Settings, connectors: ConnectorRuntime | None = None
) -> WorkflowEngine:
    return WorkflowEngine(
        engine,
        time_zone=settings.time_zone,
        actions=build_actions(settings, connectors),
        lease=dt.timedelta(seconds=settings.workflow_lease_seconds),
    )
