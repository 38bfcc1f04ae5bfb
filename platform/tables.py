"""The platform's own tables. Created and changed only by the alembic migrations in
``tessera.platform.migrations``; a test checks the two never drift apart.

Objects and fields are keyed by (workspace, stable id): the same metadata document or
package can be applied to several workspaces of one database and keep its ids.
"""

from __future__ import annotations

import sqlalchemy as sa

from tessera.platform.column_types import JSONValue, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

platform_metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

workspaces = sa.Table(
    "workspaces",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("slug", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("metadata_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

objects = sa.Table(
    "objects",
    platform_metadata,
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("api_name", sa.String(64), nullable=False),
    sa.Column("plural_api_name", sa.String(64), nullable=False),
    sa.Column("label_singular", sa.String(200), nullable=False),
    sa.Column("label_plural", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("validation_rules", JSONValue, nullable=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("created_version", sa.Integer, nullable=False),
    sa.Column("updated_version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("workspace_id", "api_name"),
)

fields = sa.Table(
    "fields",
    platform_metadata,
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("object_id", sa.Uuid, nullable=False),
    sa.Column("api_name", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("required", sa.Boolean, nullable=False),
    sa.Column("is_unique", sa.Boolean, nullable=False),
    sa.Column("default_value", JSONValue, nullable=True),
    sa.Column("help_text", sa.Text, nullable=False, server_default=""),
    sa.Column("track_history", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("options", JSONValue, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("created_version", sa.Integer, nullable=False),
    sa.Column("updated_version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(
        ["workspace_id", "object_id"], ["objects.workspace_id", "objects.id"], ondelete="CASCADE"
    ),
    sa.UniqueConstraint("workspace_id", "object_id", "api_name"),
)

metadata_changes = sa.Table(
    "metadata_changes",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("changes", JSONValue, nullable=False),
    sa.Column("plan", JSONValue, nullable=False),
    sa.UniqueConstraint("workspace_id", "version"),
)

auto_number_sequences = sa.Table(
    "auto_number_sequences",
    platform_metadata,
    sa.Column("workspace_id", sa.Uuid, primary_key=True),
    sa.Column("field_id", sa.Uuid, primary_key=True),
    sa.Column("last_value", sa.BigInteger, nullable=False),
    sa.ForeignKeyConstraint(
        ["workspace_id", "field_id"], ["fields.workspace_id", "fields.id"], ondelete="CASCADE"
    ),
)

#: the outbox: one row per record change, written in the change's own transaction; the
#: dispatcher hands undispatched rows to Dramatiq and stamps ``dispatched_at``; the worker
#: stamps ``processed_at``; rows dispatched long ago but never processed are sent again.
record_events = sa.Table(
    "record_events",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("object_id", sa.Uuid, nullable=False),
    sa.Column("object_api_name", sa.String(64), nullable=False),
    sa.Column("record_id", sa.Uuid, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("before", JSONValue, nullable=True),
    sa.Column("after", JSONValue, nullable=True),
    sa.Column("changed_fields", JSONValue, nullable=True),
    sa.Column("actor", sa.Uuid, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("dispatched_at", UTCDateTime, nullable=True),
    #: set by the worker once every handler of the event has run
    sa.Column("processed_at", UTCDateTime, nullable=True),
    #: 0 for a person's or an app's write; n + 1 for a write of a workflow run started by
    #: an event of depth n (the loop guard stops chains of workflows)
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_record_events_dispatched_at_created_at", "dispatched_at", "created_at"),
    sa.Index("ix_record_events_processed_at", "processed_at"),
    sa.Index("ix_record_events_workspace_id_record_id", "workspace_id", "record_id"),
)

#: workflows of a workspace; the definitions are in their versions
workflows = sa.Table(
    "workflows",
    platform_metadata,
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("active_version", sa.Integer, nullable=True),
    #: the secret an inbound webhook must present (webhook-triggered workflows)
    sa.Column("webhook_secret", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("workspace_id", "name"),
)

#: every version of a workflow: at most one draft, at most one active
workflow_versions = sa.Table(
    "workflow_versions",
    platform_metadata,
    sa.Column("workspace_id", sa.Uuid, primary_key=True),
    sa.Column("workflow_id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("definition", JSONValue, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(
        ["workspace_id", "workflow_id"], ["workflows.workspace_id", "workflows.id"], ondelete="CASCADE"
    ),
)

#: one run of a workflow version: its snapshot, status and every step's record
workflow_runs = sa.Table(
    "workflow_runs",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("workflow_id", sa.Uuid, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("snapshot", JSONValue, nullable=False),
    sa.Column("event_id", sa.Uuid, nullable=True),
    sa.Column("record_id", sa.Uuid, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("steps", JSONValue, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    # an event starts a workflow once, however often it is delivered
    sa.UniqueConstraint("workflow_id", "event_id"),
    #: what started the run, once: ``event:<id>``, ``schedule:<tick>:<record>``,
    #: ``relative:<record>:<due>``, ``manual:<id>``, ``webhook:<id>``
    sa.Column("trigger_key", sa.String(200), nullable=True),
    #: the trigger's data the steps' templates read (record, previous, trigger)
    sa.Column("data", JSONValue, nullable=True),
    #: the checkpoint: the output of every finished step, by step key; a resumed run
    #: replays these instead of running the steps again
    sa.Column("results", JSONValue, nullable=True),
    #: failed attempts so far, by step key (the retry policy counts them)
    sa.Column("attempts", JSONValue, nullable=True),
    #: when a queued, waiting or retrying run is due
    sa.Column("wake_at", UTCDateTime, nullable=True),
    #: the worker (or dispatch) holding the run, until ``lease_until``; a run whose lease
    #: ran out (its worker died) is dispatched again
    sa.Column("lease_token", sa.Uuid, nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    #: the user the run writes as (the workflow's run_as), and its depth (loop guard)
    sa.Column("actor", sa.Uuid, nullable=True),
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("workflow_id", "trigger_key"),
    sa.Index("ix_workflow_runs_status_wake_at", "status", "wake_at"),
)

#: planned starts of schedule and relative-date workflows: one row per due time (and
#: record, for relative dates); the scheduler starts the run and stamps ``fired_at``
workflow_timers = sa.Table(
    "workflow_timers",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("workflow_id", sa.Uuid, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("record_id", sa.Uuid, nullable=True),
    sa.Column("fire_at", UTCDateTime, nullable=False),
    sa.Column("fired_at", UTCDateTime, nullable=True),
    #: ``schedule`` (one row per workflow) or ``relative:<record id>``: planning again replaces it
    sa.Column("key", sa.String(100), nullable=False),
    sa.UniqueConstraint("workflow_id", "key"),
    sa.Index("ix_workflow_timers_fired_at_fire_at", "fired_at", "fire_at"),
)

#: people who sign in to a workspace; passwords are stored as argon2 hashes
users = sa.Table(
    "users",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    #: the role name: a built-in role (admin, member, viewer) or one of ``roles``
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    #: the user's team: roles with ``team`` access reach the records its members own
    sa.Column("team", sa.String(100), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_login_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("workspace_id", "email"),
)

#: custom roles of a workspace, as their documents (see tessera.platform.permissions)
roles = sa.Table(
    "roles",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("document", JSONValue, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.UniqueConstraint("workspace_id", "name"),
)

#: the admin's audit trail beyond the data model: roles, users, API keys (who, when, what
#: it was before and after)
audit_events = sa.Table(
    "audit_events",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    #: what happened: role_saved, role_deleted, user_created, user_changed, api_key_created, …
    sa.Column("kind", sa.String(64), nullable=False),
    #: what it happened to: a role's name, a user's email, an API key's name
    sa.Column("subject", sa.String(320), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("before", JSONValue, nullable=True),
    sa.Column("after", JSONValue, nullable=True),
    sa.Index("ix_audit_events_workspace_id_at", "workspace_id", "at"),
)

#: keys for apps and integrations: the secret is shown once, only its SHA-256 is kept
api_keys = sa.Table(
    "api_keys",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    #: the first characters of the key, to tell keys apart in lists
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
)

#: signed-in browser sessions: the cookie carries a token whose SHA-256 is the id
user_sessions = sa.Table(
    "user_sessions",
    platform_metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    #: what a cookie-authenticated mutation must send back in X-CSRF-Token
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

#: the audit trail of records: one row per change of a field marked ``track_history``,
#: written by the record service in the transaction of the change
record_history = sa.Table(
    "record_history",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("object_id", sa.Uuid, nullable=False),
    sa.Column("object_api_name", sa.String(64), nullable=False),
    sa.Column("record_id", sa.Uuid, nullable=False),
    sa.Column("field_id", sa.Uuid, nullable=False),
    sa.Column("field_api_name", sa.String(64), nullable=False),
    #: created, updated or destroyed: the record change that changed the value
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("old_value", JSONValue, nullable=True),
    sa.Column("new_value", JSONValue, nullable=True),
    sa.Column("actor", sa.Uuid, nullable=True),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Index("ix_record_history_workspace_id_record_id", "workspace_id", "record_id"),
    sa.Index("ix_record_history_workspace_id_changed_at", "workspace_id", "changed_at"),
)

#: the packages installed in a workspace: their version, content (the base of the next
#: upgrade) and what they own (objects and fields by id; workflows, roles and views by name)
installed_packages = sa.Table(
    "installed_packages",
    platform_metadata,
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("content", JSONValue, nullable=False),
    sa.Column("owned", JSONValue, nullable=False),
    sa.Column("installed_at", UTCDateTime, nullable=False),
    sa.Column("installed_by", sa.String(200), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

#: saved views: a named filter, sort and columns over an object's records
saved_views = sa.Table(
    "saved_views",
    platform_metadata,
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("object_api_name", sa.String(64), nullable=False),
    sa.Column("definition", JSONValue, nullable=False),
    #: the package it came with, if any
    sa.Column("package", sa.String(100), nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

#: a workspace's connections to other systems: a connector and its configuration; the
#: secrets of the configuration are kept apart, encrypted (connectors/connections.py)
connections = sa.Table(
    "connections",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(63), nullable=False),
    sa.Column("connector", sa.String(63), nullable=False),
    #: the configuration without its secrets
    sa.Column("config", JSONValue, nullable=False),
    #: the secrets: a Fernet token of their JSON
    sa.Column("secrets", sa.Text, nullable=False),
    #: the streams synced (null: every stream the connector offers)
    sa.Column("streams", JSONValue, nullable=True),
    #: a cron expression: when to sync on its own (null: by hand only)
    sa.Column("schedule", sa.String(100), nullable=True),
    sa.Column("next_sync_at", UTCDateTime, nullable=True),
    #: whose rights the connection writes with (a user or an API key; null: Tessera's own)
    sa.Column("run_as", sa.Uuid, nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    #: the push registration on the other side ({id, details, callbackUrl}), if any
    sa.Column("push", JSONValue, nullable=True),
    #: the secret that signs its pushes: a Fernet token
    sa.Column("push_secret", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("workspace_id", "name", name="uq_connections_workspace_id_name"),
)

#: the last checkpoint of each stream of a connection, saved with the records it covers
sync_states = sa.Table(
    "sync_states",
    platform_metadata,
    sa.Column(
        "connection_id", sa.Uuid, sa.ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("stream", sa.String(100), primary_key=True),
    sa.Column("state", JSONValue, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

#: the sync log: one row per run of one stream
sync_runs = sa.Table(
    "sync_runs",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("connection_id", sa.Uuid, sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    sa.Column("stream", sa.String(100), nullable=False),
    #: manual, schedule or cli
    sa.Column("trigger", sa.String(16), nullable=False),
    #: queued, running, retrying, succeeded, failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("records_read", sa.Integer, nullable=False),
    sa.Column("records_created", sa.Integer, nullable=False),
    sa.Column("records_updated", sa.Integer, nullable=False),
    sa.Column("records_failed", sa.Integer, nullable=False),
    #: the records skipped, with why (the first hundred)
    sa.Column("errors", JSONValue, nullable=False),
    #: why the run stopped, when it did: {kind, message}
    sa.Column("error", JSONValue, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    #: the last sign of life of a running run (each batch written): a run silent for long
    #: died with its worker, and is taken up again from its last checkpoint
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    #: when a worker should take the run (queued, or waiting to retry); null once handed over
    sa.Column("due_at", UTCDateTime, nullable=True),
    sa.Index("ix_sync_runs_connection_id_created_at", "connection_id", "created_at"),
)

#: outbound webhooks: where a workspace's record events are POSTed, signed per Standard
#: Webhooks (see tessera.connectors.webhooks); the signing secrets are kept (they sign)
webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("description", sa.String(200), nullable=False, server_default=""),
    #: the object whose events are sent; NULL: every object's
    sa.Column("object_api_name", sa.String(64), nullable=True),
    #: the event kinds sent: created, updated, deleted, restored, destroyed
    sa.Column("events", JSONValue, nullable=False),
    #: the filter language, evaluated on the record as it is when the event is handled
    sa.Column("filter", JSONValue, nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("disabled_reason", sa.String(200), nullable=True),
    #: [{"secret": "whsec_…", "created_at": …, "expires_at": … or null}]: each live one signs
    sa.Column("secrets", JSONValue, nullable=False),
    #: when the current run of finally failed deliveries began (NULL after a success)
    sa.Column("failing_since", UTCDateTime, nullable=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_webhook_subscriptions_workspace_id", "workspace_id"),
)

#: one message to one subscription, with its retry schedule and the log of its attempts
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "subscription_id",
        sa.Uuid,
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_id", sa.Uuid, nullable=False),
    #: what makes it once: ``event:<event id>``, or ``replay:<delivery id>`` for a replay
    sa.Column("key", sa.String(100), nullable=False),
    #: the ``webhook-id`` header: the same on every attempt and replay of the message
    sa.Column("message_id", sa.String(100), nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    #: the exact bytes sent (UTF-8 JSON), so every attempt signs and sends the same body
    sa.Column("body", sa.Text, nullable=False),
    #: pending (an attempt is due at next_attempt_at), delivered or failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    #: the sender holding it (claimed; next_attempt_at is then the end of the claim)
    sa.Column("lease_token", sa.Uuid, nullable=True),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    #: every attempt: at, status, responseStatus, error, durationMs
    sa.Column("log", JSONValue, nullable=False),
    sa.Column("replay_of", sa.Uuid, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_attempt_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("subscription_id", "key"),
    sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_subscription_id_created_at", "subscription_id", "created_at"),
)

#: inbound webhooks received with a ``webhook-id``: a repeat of (source, event id) starts
#: nothing; written in the transaction that queues the run
webhook_receipts = sa.Table(
    "webhook_receipts",
    platform_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("workspace_id", sa.Uuid, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    #: who sent it: ``workflow:<workflow id>`` (the address it was posted to)
    sa.Column("source", sa.String(100), nullable=False),
    #: the sender's ``webhook-id``
    sa.Column("event_id", sa.String(255), nullable=False),
    sa.Column("run_id", sa.Uuid, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("source", "event_id"),
)
