"""The email connector: sends through SMTP and syncs IMAP folders into ``email_message`` records.

- **Send** (the ``send_email`` action): renders the subject and bodies (the workflow
  engine's ``{{ … }}`` templates, with ``record`` the related record and ``data`` the
  step's values), sends through SMTP (:class:`~tessera.workflows.mail.SmtpMailSender`:
  STARTTLS or TLS, login), files a copy in the Sent folder over IMAP and stores an
  ``email_message`` record linked to the recipient's person and the related record. The
  Message-ID names the related record and the step (:mod:`.threads`), so a retried step
  sends the same message once and replies link back.
- **Receive** (the ``messages`` stream): reads the configured folders incrementally by
  UIDVALIDITY and last UID, and re-reads messages whose flags changed since the last
  HIGHESTMODSEQ when the server has CONDSTORE; a new UIDVALIDITY reads the folder again
  from the start (records are upserted by Message-ID, so nothing is duplicated). Each new
  message is linked to the person with the sender's address (or, optionally, a new lead),
  threaded by References/In-Reply-To, and a customer's reply in a case's thread updates
  the case.

See docs/connectors/email.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import smtplib
import ssl
from collections.abc import Iterator, Mapping, Sequence
from email.utils import getaddresses
from typing import Any, ClassVar

from tessera.connectors.email.imap import FetchedMessage, ImapMailbox, Security
from tessera.connectors.email.threads import (
    ParsedMessage,
    RecordRef,
    parse_message,
    parse_tessera_message_id,
    sender_name,
    tessera_message_id,
    thread_root,
)
from tessera.connectors.sdk import (
    ActionSpec,
    AuthenticationError,
    Checkpoint,
    CheckResult,
    ConfigurationError,
    Connector,
    ConnectorError,
    Manifest,
    PermanentError,
    Record,
    StreamSpec,
    TransientError,
)
from tessera.workflows.actions import ActionFailed
from tessera.workflows.engine import render
from tessera.workflows.mail import Attachment, OutgoingEmail, SmtpMailSender, _valid_addresses

__all__ = ["EmailConnector"]

#: the object of the connector's package that holds messages
EMAIL_OBJECT = "email_message"
#: the field of ``case`` a customer's reply sets (the package adds it)
CASE_REPLY_FIELD = "mail_last_customer_reply_at"
#: case statuses a customer's reply sets back to ``open``
REOPENED_STATUSES = ("pending", "closed")
#: messages fetched per IMAP command, and per checkpoint
BATCH = 50

_SECURITY = {"type": "string", "enum": ["none", "starttls", "tls"]}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_ADDRESSES: Mapping[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1, "description": "one address, or several separated by commas"},
        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    ]
}

CONFIG_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": [
        "smtp_host",
        "smtp_port",
        "from_address",
        "imap_host",
        "imap_port",
        "imap_username",
        "imap_password",
    ],
    "additionalProperties": False,
    "properties": {
        "smtp_host": {"type": "string", "minLength": 1, "title": "SMTP host"},
        "smtp_port": {"type": "integer", "minimum": 1, "maximum": 65535, "title": "SMTP port"},
        "smtp_security": {
            **_SECURITY,
            "default": "starttls",
            "description": "none, starttls (usually port 587) or tls (TLS from the start, usually 465)",
        },
        "smtp_username": {"type": "string", "description": "no login when absent"},
        "smtp_password": {"type": "string", "secret": True},
        "from_address": {
            "type": "string",
            "minLength": 3,
            "description": "the sender of every message, e.g. 'Acme Support <support@acme.example>'",
        },
        "imap_host": {"type": "string", "minLength": 1, "title": "IMAP host"},
        "imap_port": {"type": "integer", "minimum": 1, "maximum": 65535, "title": "IMAP port"},
        "imap_security": {
            **_SECURITY,
            "default": "tls",
            "description": "none, starttls (usually port 143) or tls (TLS from the start, usually 993)",
        },
        "imap_username": {"type": "string", "minLength": 1},
        "imap_password": {"type": "string", "secret": True},
        "folders": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "default": ["INBOX"],
            "description": "the folders the messages stream reads",
        },
        "sent_folder": {
            "type": "string",
            "default": "Sent",
            "description": "where sent messages are filed; empty: keep no copy (the server files them)",
        },
        "create_leads_for_unknown_senders": {
            "type": "boolean",
            "default": False,
            "description": "create a lead for a sender who is neither a person nor a lead",
        },
        "ca_certificate": {
            "type": "string",
            "description": "a CA certificate (PEM) to trust besides the system's, for a private CA",
        },
        "message_id_domain": {
            "type": "string",
            "description": "the domain of the Message-IDs sent; the from address's by default",
        },
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 30},
    },
}

MESSAGE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["message_id", "direction", "folder", "thread_id"],
    "properties": {
        "message_id": {"type": "string"},
        "subject": {"type": "string"},
        "from_address": {"type": "string"},
        "to_addresses": {"type": "string"},
        "cc_addresses": {"type": "string"},
        "sent_at": _NULLABLE_TEXT,
        "text_body": _NULLABLE_TEXT,
        "html_body": _NULLABLE_TEXT,
        "direction": {"enum": ["inbound", "outbound"]},
        "folder": {"type": "string"},
        "uid": {"type": "integer"},
        "seen": {"type": "boolean"},
        "flagged": {"type": "boolean"},
        "thread_id": {"type": "string"},
        "in_reply_to": _NULLABLE_TEXT,
        "reference_ids": _NULLABLE_TEXT,
        "person": _NULLABLE_TEXT,
        "lead": _NULLABLE_TEXT,
        "case": _NULLABLE_TEXT,
        "deal": _NULLABLE_TEXT,
        "related_object": _NULLABLE_TEXT,
        "related_record_id": _NULLABLE_TEXT,
    },
}

#: the fields of a message record the stream fills; the links (person … related_record_id)
#: are resolved while reading (they need several addresses and the thread)
_MAPPED = (
    "subject",
    "from_address",
    "to_addresses",
    "cc_addresses",
    "sent_at",
    "text_body",
    "html_body",
    "direction",
    "folder",
    "seen",
    "flagged",
    "thread_id",
    "in_reply_to",
    "reference_ids",
    "person",
    "lead",
    "case",
    "deal",
    "related_object",
    "related_record_id",
)
_LINKS = ("person", "lead", "case", "deal", "related_object", "related_record_id")

SEND_INPUT: Mapping[str, Any] = {
    "type": "object",
    "required": ["to", "subject"],
    "additionalProperties": False,
    "properties": {
        "to": _ADDRESSES,
        "cc": _ADDRESSES,
        "subject": {"type": "string", "description": "a template: {{ record.number }}, {{ data.name }}"},
        "text": {"type": "string", "description": "the plain-text body (a template)"},
        "html": {"type": "string", "description": "the HTML body (a template)"},
        "data": {"type": "object", "description": "values the templates read as {{ data.… }}"},
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["filename", "content"],
                "additionalProperties": False,
                "properties": {
                    "filename": {"type": "string", "minLength": 1},
                    "content": {"type": "string", "description": "the file's bytes, base64-encoded"},
                    "content_type": {"type": "string", "default": "application/octet-stream"},
                },
            },
        },
        "related_object": {
            "type": "string",
            "description": "the object of the record the message is about (case, deal, …)",
        },
        "related_record_id": {"type": "string", "description": "that record's id ({{ record.id }})"},
        "in_reply_to": {"type": "string", "description": "the Message-ID of the message answered"},
    },
    "dependentRequired": {"related_object": ["related_record_id"], "related_record_id": ["related_object"]},
}

SEND_OUTPUT: Mapping[str, Any] = {
    "type": "object",
    "required": ["message_id", "to", "subject", "sent", "thread_id"],
    "properties": {
        "message_id": {"type": "string"},
        "to": {"type": "array", "items": {"type": "string"}},
        "cc": {"type": "array", "items": {"type": "string"}},
        "subject": {"type": "string"},
        "thread_id": {"type": "string"},
        "sent": {"type": "boolean", "description": "false when an earlier attempt of the step had sent it"},
        "email_record_id": {"type": ["string", "null"]},
    },
}


class EmailConnector(Connector):
    """Email over SMTP (send) and IMAP (receive), into ``email_message`` records."""

    manifest: ClassVar[Manifest] = Manifest(
        name="email",
        version="1.0.0",
        title="Email (SMTP and IMAP)",
        description=(
            "Send email from workflows through SMTP, file it in the Sent folder, and sync IMAP folders "
            "into email messages linked to people, leads, cases and deals, threaded by Message-ID."
        ),
        config_schema=CONFIG_SCHEMA,
        streams=(
            StreamSpec(
                name="messages",
                key="message_id",
                object=EMAIL_OBJECT,
                external_id_field="message_id",
                fields={name: f"/{name}" for name in _MAPPED},
                schema=MESSAGE_SCHEMA,
                description=(
                    "The messages of the configured folders, by UIDVALIDITY and UID (and MODSEQ for "
                    "flag changes); each is linked to people, a lead, a case and a deal while read."
                ),
            ),
        ),
        actions=(
            ActionSpec(
                name="send_email",
                description=(
                    "Send an email (templates, attachments) about a record through SMTP, file it in the "
                    "Sent folder and store it as an email message."
                ),
                input_schema=SEND_INPUT,
                output_schema=SEND_OUTPUT,
            ),
        ),
        package="package",
    )

    # -- check ------------------------------------------------------------------------------
    def check(self, config: Mapping[str, Any]) -> CheckResult:
        try:
            self._smtp(config).verify()
        except ActionFailed as error:
            return _failed(_smtp_error(config, error))
        try:
            with self._imap(config) as mailbox:
                folders = set(mailbox.folders())
                for folder in _folders(config):
                    if folder not in folders:
                        return _failed(mailbox.missing_folder(folder))
                sent = _sent_folder(config)
                if sent and sent not in folders:
                    known = ", ".join(sorted(folders))
                    return CheckResult.failed(
                        f"The sent folder {sent!r} does not exist on {mailbox.server} (folders: {known}). "
                        "Create it, name another one, or leave sent_folder empty to keep no copy.",
                        ("sent_folder",),
                    )
        except ConnectorError as error:
            return _failed(error)
        return CheckResult.passed("The SMTP and IMAP servers accept the configuration.")

    # -- receive -----------------------------------------------------------------------------
    def read(
        self, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None
    ) -> Iterator[Record | Checkpoint]:
        self.manifest.stream(stream)
        folders_state: dict[str, dict[str, Any]] = {
            name: dict(value) for name, value in dict((state or {}).get("folders", {})).items()
        }
        seen_ids: set[str] = set()
        with self._imap(config) as mailbox:
            for folder in _folders(config):
                yield from self._read_folder(config, mailbox, folder, folders_state, seen_ids)

    def _read_folder(
        self,
        config: Mapping[str, Any],
        mailbox: ImapMailbox,
        folder: str,
        folders_state: dict[str, dict[str, Any]],
        seen_ids: set[str],
    ) -> Iterator[Record | Checkpoint]:
        status = mailbox.select(folder)
        before = folders_state.get(folder)
        resync = before is None or before.get("uidvalidity") != status.uidvalidity
        last_uid = 0 if resync or before is None else int(before.get("last_uid", 0))
        modseq = None if resync or before is None else before.get("highestmodseq")
        changed: list[int] = []
        if modseq is not None and status.highestmodseq is not None and status.highestmodseq > modseq:
            changed = mailbox.changed_since(last_uid, int(modseq))
        new = mailbox.uids_after(last_uid)
        todo = changed + new
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            for fetched in mailbox.fetch(batch):
                assert fetched.raw is not None
                parsed = parse_message(fetched.raw)
                if parsed.message_id in seen_ids:
                    continue  # the same message twice in the folders read
                seen_ids.add(parsed.message_id)
                yield Record(self._message_record(config, folder, fetched, parsed))
            last_uid = max([last_uid, *(uid for uid in batch if uid in new)])
            # The new HIGHESTMODSEQ only once every change before it is read.
            done = start + BATCH >= len(todo)
            folders_state[folder] = {
                "uidvalidity": status.uidvalidity,
                "last_uid": last_uid,
                "highestmodseq": status.highestmodseq if done else modseq,
            }
            yield Checkpoint({"folders": dict(folders_state)})
        if not todo:
            folders_state[folder] = {
                "uidvalidity": status.uidvalidity,
                "last_uid": last_uid,
                "highestmodseq": status.highestmodseq,
            }
            yield Checkpoint({"folders": dict(folders_state)})

    def _message_record(
        self, config: Mapping[str, Any], folder: str, fetched: FetchedMessage, parsed: ParsedMessage
    ) -> dict[str, Any]:
        own = _bare(config["from_address"])
        outbound = (
            (parsed.sender_address or "").lower() == own.lower()
            or folder == _sent_folder(config)
            or parse_tessera_message_id(parsed.message_id) is not None
        )
        record: dict[str, Any] = {
            "message_id": parsed.message_id,
            "subject": parsed.subject,
            "from_address": parsed.sender,
            "to_addresses": ", ".join(parsed.to),
            "cc_addresses": ", ".join(parsed.cc),
            "sent_at": parsed.date.astimezone(dt.UTC).isoformat() if parsed.date else None,
            "text_body": parsed.text,
            "html_body": parsed.html,
            "direction": "outbound" if outbound else "inbound",
            "folder": folder,
            "uid": fetched.uid,
            "seen": "\\Seen" in fetched.flags,
            "flagged": "\\Flagged" in fetched.flags,
            "thread_id": parsed.thread_id,
            "in_reply_to": parsed.in_reply_to,
            "reference_ids": " ".join(parsed.references) or None,
            **dict.fromkeys(_LINKS),
        }
        related = parse_tessera_message_id(parsed.message_id) or _first_related(parsed.related_ids)
        if related is not None:
            _link(record, related)
        if self.context is None:
            return record  # no workspace (the CLI, a test): the links that need records stay empty
        existing = self._find_one(EMAIL_OBJECT, "message_id", parsed.message_id)
        self._link_thread(record, parsed)
        counterparts = (
            [*parsed.addresses("to"), *parsed.addresses("cc")]
            if outbound
            else ([parsed.sender_address] if parsed.sender_address else [])
        )
        person = self._person_for(counterparts)
        if person is not None:
            record["person"] = str(person["id"])
        elif not outbound and parsed.sender_address:
            lead = self._find_one("lead", "email", parsed.sender_address)
            if lead is None and existing is None and config.get("create_leads_for_unknown_senders"):
                lead = self.records.create("lead", _lead_values(parsed))
            if lead is not None:
                record["lead"] = str(lead["id"])
        if existing is not None:
            # What this read cannot tell (a link the send action or a person set) stays.
            for name in _LINKS:
                if record[name] is None and existing.get(name) is not None:
                    record[name] = _id_text(existing[name])
        elif not outbound and record["case"]:
            self._customer_replied(str(record["case"]), parsed)
        return record

    def _link_thread(self, record: dict[str, Any], parsed: ParsedMessage) -> None:
        """Links and the thread id from the messages this one answers, as Tessera stored them."""
        ids = parsed.related_ids
        if not ids:
            return
        earlier = self.records.find(EMAIL_OBJECT, {"message_id": {"in": ids}})
        by_id = {str(stored.get("message_id")): stored for stored in earlier}
        # The message answered directly first, then older ones.
        parents = [by_id[message_id] for message_id in reversed(ids) if message_id in by_id]
        if parents and parents[0].get("thread_id"):
            record["thread_id"] = str(parents[0]["thread_id"])
        for stored in parents:
            for name in ("case", "deal", "related_object", "related_record_id"):
                if record[name] is None and stored.get(name) is not None:
                    record[name] = _id_text(stored[name])

    def _customer_replied(self, case_id: str, parsed: ParsedMessage) -> None:
        case = self.records.get("case", case_id)
        if case is None:
            return
        moment = (parsed.date or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        values: dict[str, Any] = {CASE_REPLY_FIELD: moment.isoformat()}
        if case.get("status") in REOPENED_STATUSES:
            values["status"] = "open"
        self.records.update("case", case_id, values)

    def _person_for(self, addresses: Sequence[str]) -> dict[str, Any] | None:
        wanted = [a for a in dict.fromkeys(addresses) if a]
        if not wanted:
            return None
        people = self.records.find("person", {"email": {"in": wanted}})
        by_address = {str(p.get("email", "")).lower(): p for p in people}
        for address in wanted:
            if address.lower() in by_address:
                return by_address[address.lower()]
        return None

    def _find_one(self, object_name: str, field_name: str, value: str) -> dict[str, Any] | None:
        found = self.records.find(object_name, {field_name: {"eq": value}}, limit=1)
        return found[0] if found else None

    # -- send --------------------------------------------------------------------------------
    def execute(
        self, config: Mapping[str, Any], action: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> Mapping[str, Any]:
        self.manifest.action(action)
        return self._send(config, payload, idempotency_key)

    def _send(self, config: Mapping[str, Any], payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        try:
            to = _valid_addresses(_address_list(payload["to"]), "to")
            cc = _valid_addresses(_address_list(payload["cc"]), "cc") if payload.get("cc") else []
        except ActionFailed as error:
            raise PermanentError(str(error), path=("cc" if "cc:" in str(error) else "to",)) from error
        related = None
        related_record: Mapping[str, Any] = {}
        if payload.get("related_object"):
            related = RecordRef(str(payload["related_object"]), str(payload["related_record_id"]))
            if self.context is not None:
                found = self.records.get(related.object, related.id)
                if found is None:
                    raise PermanentError(
                        f"There is no {related.object} record {related.id!r} to send this email about.",
                        path=("related_record_id",),
                    )
                related_record = found
        data = {"record": dict(related_record), "data": dict(payload.get("data") or {})}
        subject = _render(payload["subject"], data)
        text = _render(payload.get("text", ""), data)
        html = _render(payload["html"], data) if "html" in payload else None
        try:
            message_id = tessera_message_id(key, _domain(config), related)
        except ValueError as error:
            raise PermanentError(str(error), path=("related_record_id",)) from error
        headers: dict[str, str] = {}
        references: list[str] = []
        if payload.get("in_reply_to"):
            parent = str(payload["in_reply_to"]).strip()
            references = self._references_of(parent)
            headers = {"In-Reply-To": parent, "References": " ".join(references)}
        thread_id = thread_root(message_id, headers.get("In-Reply-To"), references)
        email = OutgoingEmail(
            to=tuple(to),
            cc=tuple(cc),
            subject=subject,
            text=text,
            html=html,
            sender=str(config["from_address"]),
            message_id=message_id,
            headers=headers,
            attachments=_attachments(payload.get("attachments") or []),
            date=dt.datetime.now(dt.UTC),
        )
        output: dict[str, Any] = {
            "message_id": message_id,
            "to": to,
            "cc": cc,
            "subject": email.subject,
            "thread_id": thread_id,
            "sent": True,
            "email_record_id": None,
        }
        if self.context is not None:
            stored = self._find_one(EMAIL_OBJECT, "message_id", message_id)
            if stored is not None:  # an earlier attempt sent and stored it
                return {**output, "sent": False, "email_record_id": str(stored["id"])}
        sent_folder = _sent_folder(config)
        already_filed = False
        if sent_folder:
            with self._imap(config) as mailbox:
                already_filed = _filed(mailbox, sent_folder, message_id)
        if already_filed:
            output["sent"] = False  # sent and filed by an earlier attempt that died before storing
        else:
            try:
                self._smtp(config).send(email)
            except ActionFailed as error:
                raise _smtp_error(config, error) from error
            if sent_folder:
                with self._imap(config) as mailbox:
                    mailbox.append(sent_folder, email.to_message().as_bytes(), when=email.date)
        if self.context is not None:
            values = self._outgoing_values(email, sent_folder, related, related_record, thread_id, references)
            output["email_record_id"] = str(self.records.upsert(EMAIL_OBJECT, "message_id", values)["id"])
        return output

    def _references_of(self, parent: str) -> list[str]:
        """The References of a reply to ``parent``: the parent's own, then the parent."""
        refs: list[str] = []
        if self.context is not None:
            stored = self._find_one(EMAIL_OBJECT, "message_id", parent)
            if stored is not None and stored.get("reference_ids"):
                refs = str(stored["reference_ids"]).split()
        return [*[r for r in refs if r != parent], parent]

    def _outgoing_values(
        self,
        email: OutgoingEmail,
        folder: str,
        related: RecordRef | None,
        related_record: Mapping[str, Any],
        thread_id: str,
        references: list[str],
    ) -> dict[str, Any]:
        recipients = [a for _, a in getaddresses([*email.to, *email.cc]) if a]
        person = self._person_for([_lower_domain(a) for a in recipients])
        values: dict[str, Any] = {
            "message_id": email.message_id,
            "subject": email.subject,
            "from_address": email.sender,
            "to_addresses": ", ".join(email.to),
            "cc_addresses": ", ".join(email.cc),
            "sent_at": (email.date or dt.datetime.now(dt.UTC)).isoformat(),
            "text_body": email.text or None,
            "html_body": email.html,
            "direction": "outbound",
            "folder": folder or None,
            "seen": True,
            "thread_id": thread_id,
            "in_reply_to": email.headers.get("In-Reply-To"),
            "reference_ids": " ".join(references) or None,
            "person": str(person["id"]) if person is not None else None,
        }
        if related is not None:
            link: dict[str, Any] = dict.fromkeys(_LINKS)
            _link(link, related)
            values.update({k: v for k, v in link.items() if v is not None})
            # A deal's or a case's own links: the case of a deal's email stays empty.
            if values.get("person") is None and related_record.get("person"):
                values["person"] = _id_text(related_record["person"])
        return values

    # -- connections -------------------------------------------------------------------------
    def _context(self, config: Mapping[str, Any]) -> ssl.SSLContext:
        context = ssl.create_default_context()
        pem = config.get("ca_certificate")
        if pem:
            try:
                context.load_verify_locations(cadata=pem)
            except (ssl.SSLError, ValueError) as error:
                raise ConfigurationError(
                    f"The CA certificate is not a PEM certificate: {error}.", path=("ca_certificate",)
                ) from error
        return context

    def _smtp(self, config: Mapping[str, Any]) -> SmtpMailSender:
        return SmtpMailSender(
            str(config["smtp_host"]),
            int(config["smtp_port"]),
            security=config.get("smtp_security", "starttls"),
            username=config.get("smtp_username") or None,
            password=config.get("smtp_password"),
            timeout=float(config.get("timeout_seconds", 30)),
            ssl_context=self._context(config),
            default_sender=str(config["from_address"]),
        )

    def _imap(self, config: Mapping[str, Any]) -> ImapMailbox:
        security: Security = config.get("imap_security", "tls")
        return ImapMailbox(
            str(config["imap_host"]),
            int(config["imap_port"]),
            security=security,
            username=str(config["imap_username"]),
            password=str(config["imap_password"]),
            ssl_context=self._context(config),
            timeout=float(config.get("timeout_seconds", 30)),
        )


# -- helpers ----------------------------------------------------------------------------------
def _failed(error: ConnectorError) -> CheckResult:
    return CheckResult.failed(str(error), error.path)


def _folders(config: Mapping[str, Any]) -> list[str]:
    return list(config.get("folders") or ["INBOX"])


def _sent_folder(config: Mapping[str, Any]) -> str:
    return str(config.get("sent_folder", "Sent") or "")


def _bare(address: str) -> str:
    found = [a for _, a in getaddresses([address]) if a]
    return _lower_domain(found[0]) if found else address


def _lower_domain(address: str) -> str:
    local, at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}" if at else address


def _domain(config: Mapping[str, Any]) -> str:
    if config.get("message_id_domain"):
        return str(config["message_id_domain"])
    _, at, domain = _bare(str(config["from_address"])).rpartition("@")
    return domain if at and domain else "tessera.local"


def _address_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _render(template: str, data: Mapping[str, Any]) -> str:
    rendered = render(template, data)
    return "" if rendered is None else str(rendered)


def _attachments(items: Sequence[Mapping[str, Any]]) -> tuple[Attachment, ...]:
    attachments = []
    for index, item in enumerate(items):
        try:
            content = base64.b64decode(str(item["content"]), validate=True)
        except (binascii.Error, ValueError) as error:
            raise PermanentError(
                f"Attachment {item.get('filename')!r}: its content is not base64 ({error}).",
                path=("attachments", index, "content"),
            ) from error
        try:
            attachments.append(
                Attachment(
                    str(item["filename"]),
                    content,
                    str(item.get("content_type") or "application/octet-stream"),
                )
            )
        except ValueError as error:
            raise PermanentError(str(error), path=("attachments", index, "content_type")) from error
    return tuple(attachments)


def _filed(mailbox: ImapMailbox, folder: str, message_id: str) -> bool:
    """Whether ``folder`` holds a message with ``message_id`` (a missing folder holds none)."""
    if folder not in mailbox.folders():
        return False
    mailbox.select(folder)
    return bool(mailbox.search_message_id(message_id))


def _first_related(message_ids: Sequence[str]) -> RecordRef | None:
    """The record named by the nearest Tessera Message-ID among those a message answers."""
    for message_id in reversed(message_ids):
        ref = parse_tessera_message_id(message_id)
        if ref is not None:
            return ref
    return None


def _link(record: dict[str, Any], related: RecordRef) -> None:
    record["related_object"] = related.object
    record["related_record_id"] = related.id
    if related.object in ("case", "deal", "person", "lead"):
        record[related.object] = related.id


def _id_text(value: Any) -> str:
    if isinstance(value, Mapping):  # a lookup read back as {id, …}
        return str(value.get("id"))
    return str(value)


def _lead_values(parsed: ParsedMessage) -> dict[str, Any]:
    address = parsed.sender_address or ""
    local, _, domain = address.partition("@")
    name = sender_name(parsed).strip() or local
    first, _, last = name.rpartition(" ")
    return {
        "first_name": first or None,
        "last_name": last or name,
        "email": address,
        "company_name": domain or address,
        "source": "other",
        "description": f"Created by the email connector from the message {parsed.message_id} "
        f"({parsed.subject!r}).",
    }


def _smtp_error(config: Mapping[str, Any], error: ActionFailed) -> ConnectorError:
    """The connector error of a sender's failure, in the connector's terms."""
    server = f"{config['smtp_host']}:{config['smtp_port']}"
    cause = error.__cause__
    if error.code == "MAIL_UNAVAILABLE":
        if isinstance(cause, smtplib.SMTPResponseException):
            return TransientError(
                f"The SMTP server {server} cannot take the message for now ({_smtp_reply(cause)}); "
                "it will be tried again.",
            )
        if isinstance(cause, ConnectionRefusedError):
            reason = "the connection was refused"
        elif isinstance(cause, TimeoutError):
            reason = f"it did not answer within {float(config.get('timeout_seconds', 30)):g} seconds"
        else:
            reason = str(cause) if cause is not None else str(error)
        return TransientError(
            f"Cannot connect to the SMTP server {server}: {reason}. "
            "Check the SMTP host and port, and that the server is running.",
            path=("smtp_host",),
        )
    if error.code == "MAIL_TLS_FAILED":
        return ConfigurationError(
            f"The TLS connection to the SMTP server {server} failed: {cause or error}. Check the SMTP "
            "security setting (tls: TLS from the start, usually port 465; starttls: upgrade after "
            "connecting, usually 587) and that the server's certificate is trusted (ca_certificate "
            "for a private CA).",
            path=("smtp_security",),
        )
    if error.code == "MAIL_AUTH_FAILED":
        if isinstance(cause, smtplib.SMTPResponseException):
            detail = _smtp_reply(cause)
        else:
            detail = str(cause) if cause is not None else str(error)
        return AuthenticationError(
            f"The SMTP server {server} refused the login of {config.get('smtp_username')!r} ({detail}). "
            "Check the SMTP username and password.",
            path=("smtp_password",),
        )
    return PermanentError(str(error))


def _smtp_reply(error: smtplib.SMTPResponseException) -> str:
    reply = error.smtp_error
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"{error.smtp_code} {text}".strip()
