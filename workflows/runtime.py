"""The workflow engine as a process runs it: actions built from the settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from tessera.platform.settings import Settings
from tessera.workflows.actions import ActionRegistry
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.http_request import HttpRequestAction
from tessera.workflows.mail import SendEmailAction, mail_sender_from_url


def build_actions(settings: Settings) -> ActionRegistry:
    """The built-in actions: ``send_email`` (``TESSERA_MAIL_URL``) and ``http_request``.
    Connectors add theirs to the registry."""
    return ActionRegistry(
        [
            SendEmailAction(mail_sender_from_url(settings.mail_url)),
            HttpRequestAction(allow_private_addresses=settings.allow_private_urls),
        ]
    )


def build_workflow_engine(engine: Engine, settings: Settings) -> WorkflowEngine:
    return WorkflowEngine(
        engine,
        time_zone=settings.time_zone,
        actions=build_actions(settings),
        lease=dt.timedelta(seconds=settings.workflow_lease_seconds),
    )
