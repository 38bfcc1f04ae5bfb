"""The email connector against real servers on loopback: aiosmtpd (AUTH after STARTTLS)
delivering over LMTP into Dovecot, read back over IMAP (tests/connectors/mail_servers.py).
Tessera's records are an in-memory fake here; the end-to-end test at the bottom goes
through the connector runtime and the record service."""

from __future__ import annotations

import base64
import email
import email.policy
import uuid
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import pytest

from tessera.connectors.contract import ConnectorContract
from tessera.connectors.email import EmailConnector
from tessera.connectors.email.threads import (
    RecordRef,
    message_ids,
    parse_message,
    parse_tessera_message_id,
    tessera_message_id,
    thread_root,
)
from tessera.connectors.sdk import (
    AuthenticationError,
    Checkpoint,
    ConfigurationError,
    ConnectorContext,
    PermanentError,
    Record,
)
from tests.connectors.mail_servers import (  # noqa: F401 - the fixtures mail_servers and tls_files
    DOMAIN,
    MailServers,
    free_port,
    mail_servers_fixture,
    tls_files_fixture,
)

SUPPORT = f"support@{DOMAIN}"
ANN = f"ann@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


# --- an in-memory RecordAccess ------------------------------------------------------------------
class FakeRecords:
    """Records by object, matching the filters the connector uses (eq, in)."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.writes: list[tuple[str, str, str]] = []

    def _table(self, object_name: str) -> dict[str, dict[str, Any]]:
        return self.objects.setdefault(object_name, {})

    def find(
        self, object_name: str, filter_doc: Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        found = []
        for record in self._table(object_name).values():
            if all(
                self._matches(record.get(name), condition) for name, condition in (filter_doc or {}).items()
            ):
                found.append(dict(record))
        return found[:limit] if limit is not None else found

    @staticmethod
    def _matches(value: Any, condition: Mapping[str, Any]) -> bool:
        if "eq" in condition:
            return bool(value == condition["eq"])
        if "in" in condition:
            return value in condition["in"]
        raise AssertionError(f"the fake does not know {condition}")

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        record = self._table(object_name).get(record_id)
        return None if record is None else dict(record)

    def create(self, object_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        record = {**values, "id": str(uuid.uuid4())}
        self._table(object_name)[record["id"]] = record
        self.writes.append(("create", object_name, record["id"]))
        return dict(record)

    def update(self, object_name: str, record_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        record = self._table(object_name)[record_id]
        record.update(values)
        self.writes.append(("update", object_name, record_id))
        return dict(record)

    def upsert(self, object_name: str, match_field: str, values: Mapping[str, Any]) -> dict[str, Any]:
        existing = self.find(object_name, {match_field: {"eq": values[match_field]}})
        if existing:
            return self.update(object_name, existing[0]["id"], values)
        return self.create(object_name, values)

    def store(self, items: list[Record | Checkpoint]) -> list[dict[str, Any]]:
        """What the sync runtime does with read items: upsert each record by Message-ID."""
        spec = EmailConnector.manifest.stream("messages")
        stored = []
        for item in items:
            if isinstance(item, Record):
                values = {
                    target: item.data.get(str(source).lstrip("/")) for target, source in spec.fields.items()
                }
                values["message_id"] = item.data["message_id"]
                stored.append(self.upsert("email_message", "message_id", values))
        return stored


@pytest.fixture
def records() -> FakeRecords:
    records = FakeRecords()
    records.create("person", {"first_name": "Ann", "last_name": "Lee", "email": ANN})
    return records


def connector_with(records: FakeRecords) -> EmailConnector:
    return EmailConnector(ConnectorContext(workspace="acme", connection="mail", records=records))


def read_all(
    connector: EmailConnector, config: Mapping[str, Any], state: Mapping[str, Any] | None
) -> tuple[list[dict[str, Any]], Mapping[str, Any] | None]:
    items = list(connector.read(config, "messages", state))
    checkpoints = [item.state for item in items if isinstance(item, Checkpoint)]
    return [dict(item.data) for item in items if isinstance(item, Record)], (
        checkpoints[-1] if checkpoints else state
    )


def customer_mail(
    subject: str,
    *,
    sender: str = f"Ann Lee <{ANN}>",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    body: str = "Hello",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"Acme Support <{SUPPORT}>"
    message["Subject"] = subject
    message["Date"] = "Tue, 01 Apr 2025 09:30:00 +0200"
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@customer.example.com>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    message.set_content(body)
    return message


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


# --- Message-IDs and threading (no server) --------------------------------------------------------
def test_tessera_message_id_names_the_record_and_is_stable_per_key() -> None:
    case = RecordRef("case", "1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    first = tessera_message_id("run-1:send", "example.com", case)
    assert first == tessera_message_id("run-1:send", "example.com", case)
    assert first != tessera_message_id("run-2:send", "example.com", case)
    assert first.startswith("<tessera.case.1b4e28ba-2fa1-11d2-883f-0016d3cca427.") and first.endswith(
        "@example.com>"
    )
    assert parse_tessera_message_id(first) == case
    assert parse_tessera_message_id(tessera_message_id("k", "example.com")) is None  # about no record


@pytest.mark.parametrize(
    "message_id",
    [
        "<abc@example.com>",
        "<tessera.case.42@example.com>",
        "tessera.case.42.0123456789abcdef@example.com",
        "",
    ],
)
def test_other_message_ids_name_no_record(message_id: str) -> None:
    assert parse_tessera_message_id(message_id) is None


def test_a_related_record_with_unsafe_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        tessera_message_id("k", "example.com", RecordRef("case", "1@2"))


def test_message_ids_of_references_and_the_thread_root() -> None:
    assert message_ids("<a@x>\r\n <b@y> <a@x> junk") == ["<a@x>", "<b@y>"]
    assert message_ids(None) == []
    assert thread_root("<c@z>", "<b@y>", ["<a@x>", "<b@y>"]) == "<a@x>"
    assert thread_root("<c@z>", "<b@y>", []) == "<b@y>"
    assert thread_root("<c@z>", None, []) == "<c@z>"


def test_parse_message_reads_addresses_bodies_and_threading() -> None:
    message = customer_mail("Re:  Broken   login", in_reply_to="<b@y>", references=["<a@x>", "<b@y>"])
    message["Cc"] = "Bob <BOB@Example.COM>"
    message.add_alternative("<p>Hello</p>", subtype="html")
    parsed = parse_message(message.as_bytes())
    assert parsed.subject == "Re: Broken login"
    assert parsed.sender_address == ANN
    assert parsed.addresses("cc") == ["BOB@example.com"]
    assert parsed.text == "Hello\n" and parsed.html == "<p>Hello</p>\n"
    assert parsed.date is not None and parsed.date.utcoffset() is not None
    assert (parsed.in_reply_to, parsed.references, parsed.thread_id) == ("<b@y>", ("<a@x>", "<b@y>"), "<a@x>")


def test_a_message_without_message_id_gets_a_stable_one() -> None:
    raw = b"From: ann@example.com\r\nSubject: no id\r\n\r\nbody\r\n"
    assert parse_message(raw).message_id == parse_message(raw).message_id
    assert parse_message(raw).message_id.endswith("@no-message-id.tessera>")


# --- check, against the real servers ------------------------------------------------------------
def test_check_passes_with_both_servers(mail_servers: MailServers) -> None:
    result = EmailConnector().check(mail_servers.config())
    assert result.ok, result.message


@pytest.mark.parametrize(
    ("overrides", "words", "path"),
    [
        (
            {"smtp_port": "free"},
            "Cannot connect to the SMTP server 127.0.0.1:{port}: the connection was refused",
            "smtp_host",
        ),
        ({"ca_certificate": None}, "The TLS connection to the SMTP server", "smtp_security"),
        ({"smtp_password": "wrong"}, "refused the login of 'crm' (535", "smtp_password"),
        (
            {"imap_port": "free"},
            "Cannot connect to the IMAP server 127.0.0.1:{port}: the connection was refused",
            "imap_host",
        ),
        ({"imap_security": "tls"}, "The TLS connection to the IMAP server", "imap_security"),
        (
            {"imap_password": "wrong"},
            "The IMAP server 127.0.0.1:{imap} refused the login of 'support'",
            "imap_password",
        ),
        (
            {"folders": ["INBOX", "Archive"]},
            "The IMAP folder 'Archive' does not exist on 127.0.0.1:{imap} (folders: INBOX, Sent)",
            "folders",
        ),
        ({"sent_folder": "Outbox"}, "The sent folder 'Outbox' does not exist", "sent_folder"),
    ],
)
def test_check_says_what_is_wrong_in_plain_words(
    mail_servers: MailServers, overrides: dict[str, Any], words: str, path: str
) -> None:
    port = free_port()
    config = mail_servers.config(**{k: port if v == "free" else v for k, v in overrides.items()})
    if config["ca_certificate"] is None:
        del config["ca_certificate"]
    if overrides.get("imap_security") == "tls":  # the TLS port, but with the certificate untrusted
        config.update(imap_port=mail_servers.dovecot.imaps_port, ca_certificate=None)
        del config["ca_certificate"]
        config["smtp_security"] = "none"  # get past SMTP: aiosmtpd then refuses MAIL, not the check
        config.pop("smtp_username")
    result = EmailConnector().check(config)
    assert not result.ok
    assert words.format(port=port, imap=mail_servers.dovecot.imap_port) in result.message
    assert result.path == (path,)


def test_imap_over_implicit_tls_with_the_ca_certificate(mail_servers: MailServers) -> None:
    config = mail_servers.config(imap_security="tls", imap_port=mail_servers.dovecot.imaps_port)
    assert EmailConnector().check(config).ok


# --- send ----------------------------------------------------------------------------------------
def test_send_email_through_smtp_lmtp_into_dovecot_and_the_sent_folder(
    mail_servers: MailServers, records: FakeRecords
) -> None:
    case = records.create("case", {"number": "CASE-7", "subject": "Login broken", "status": "pending"})
    connector = connector_with(records)
    payload = {
        "to": "Ann Lee <ann@example.com>",
        "cc": [BOB],
        "subject": "[{{ record.number }}] {{ record.subject }}",
        "text": "Hello {{ data.name }}, we are on it.",
        "html": "<p>Hello {{ data.name }}</p>",
        "data": {"name": "Ann"},
        "attachments": [
            {
                "filename": "log.txt",
                "content": base64.b64encode(b"trace").decode(),
                "content_type": "text/plain",
            }
        ],
        "related_object": "case",
        "related_record_id": case["id"],
    }

    output = connector.execute(mail_servers.config(), "send_email", payload, "run-1:reply")

    assert output["sent"] is True and output["subject"] == "[CASE-7] Login broken"
    assert parse_tessera_message_id(output["message_id"]) == RecordRef("case", case["id"])
    assert output["message_id"].endswith(f"@{DOMAIN}>")
    [delivered] = mail_servers.dovecot.wait_for_messages("ann", 1)
    mail_servers.dovecot.wait_for_messages("bob", 1)
    received = parse(delivered)
    assert received["Message-ID"] == output["message_id"]
    assert received["Cc"] == BOB
    body = received.get_body(("plain",))
    assert body is not None and "Hello Ann, we are on it." in body.get_content()
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "log.txt" and attachment.get_content() == "trace"
    [filed] = mail_servers.dovecot.messages("support", "Sent")
    assert parse(filed)["Message-ID"] == output["message_id"]
    # AUTH happened after STARTTLS: the server requires both
    [envelope] = mail_servers.relay.delivered
    assert envelope.rcpt_tos == [ANN, BOB]
    [stored] = records.find("email_message")
    assert stored["id"] == output["email_record_id"]
    assert stored["direction"] == "outbound" and stored["folder"] == "Sent"
    assert stored["person"] == records.find("person")[0]["id"]
    assert (stored["case"], stored["related_object"], stored["related_record_id"]) == (
        case["id"],
        "case",
        case["id"],
    )


def test_send_email_is_idempotent_per_key(mail_servers: MailServers, records: FakeRecords) -> None:
    connector = connector_with(records)
    payload = {"to": ANN, "subject": "Your quote", "text": "Attached."}
    config = mail_servers.config()

    first = connector.execute(config, "send_email", payload, "run-9:send")
    again = connector.execute(config, "send_email", payload, "run-9:send")

    assert first["message_id"] == again["message_id"]
    assert (first["sent"], again["sent"]) == (True, False)
    assert again["email_record_id"] == first["email_record_id"]
    mail_servers.dovecot.wait_for_messages("ann", 1)
    assert len(mail_servers.dovecot.messages("support", "Sent")) == 1
    assert len(mail_servers.relay.delivered) == 1
    assert len(records.find("email_message")) == 1


def test_a_retry_after_the_message_was_filed_does_not_send_it_again(mail_servers: MailServers) -> None:
    # No workspace: the Sent folder alone tells that an earlier attempt sent the message.
    connector = EmailConnector()
    payload = {"to": ANN, "subject": "Once", "text": "Only once."}
    first = connector.execute(mail_servers.config(), "send_email", payload, "run-3:send")
    again = connector.execute(mail_servers.config(), "send_email", payload, "run-3:send")
    assert (first["sent"], again["sent"]) == (True, False)
    assert len(mail_servers.relay.delivered) == 1


def test_send_email_refuses_what_it_cannot_send(mail_servers: MailServers, records: FakeRecords) -> None:
    connector = connector_with(records)
    config = mail_servers.config()
    with pytest.raises(PermanentError, match="not a valid email address") as bad_address:
        connector.execute(config, "send_email", {"to": "not-an-address", "subject": "x"}, "k1")
    assert bad_address.value.path == ("to",)
    with pytest.raises(PermanentError, match="There is no case record"):
        connector.execute(
            config,
            "send_email",
            {"to": ANN, "subject": "x", "related_object": "case", "related_record_id": "9"},
            "k2",
        )
    with pytest.raises(PermanentError, match="not base64"):
        connector.execute(
            config,
            "send_email",
            {"to": ANN, "subject": "x", "attachments": [{"filename": "a", "content": "%%"}]},
            "k3",
        )
    with pytest.raises(AuthenticationError, match="refused the login"):
        connector.execute(
            mail_servers.config(smtp_password="wrong"), "send_email", {"to": ANN, "subject": "x"}, "k4"
        )
    assert mail_servers.relay.delivered == []


# --- receive -------------------------------------------------------------------------------------
def test_receive_is_incremental_by_uid(mail_servers: MailServers, records: FakeRecords) -> None:
    connector = connector_with(records)
    config = mail_servers.config()
    mail_servers.dovecot.deliver(customer_mail("First"), SUPPORT)
    mail_servers.dovecot.deliver(customer_mail("Second"), SUPPORT)

    first, state = read_all(connector, config, None)
    assert [r["subject"] for r in first] == ["First", "Second"]
    assert state is not None
    folder = state["folders"]["INBOX"]
    assert folder["last_uid"] == 2 and folder["uidvalidity"] > 0 and folder["highestmodseq"] > 0

    mail_servers.dovecot.deliver(customer_mail("Third"), SUPPORT)
    second, state = read_all(connector, config, state)
    assert [r["subject"] for r in second] == ["Third"]
    third, _ = read_all(connector, config, state)
    assert third == []


def test_a_known_sender_links_the_person(mail_servers: MailServers, records: FakeRecords) -> None:
    mail_servers.dovecot.deliver(customer_mail("Question"), SUPPORT)
    [message], _ = read_all(connector_with(records), mail_servers.config(), None)
    assert message["direction"] == "inbound"
    assert message["person"] == records.find("person")[0]["id"]
    assert message["sent_at"] == "2025-04-01T07:30:00+00:00"
    assert records.find("lead") == []


def test_a_flag_change_is_read_through_condstore(mail_servers: MailServers, records: FakeRecords) -> None:
    connector = connector_with(records)
    config = mail_servers.config()
    mail_servers.dovecot.deliver(customer_mail("Flag me"), SUPPORT)
    mail_servers.dovecot.deliver(customer_mail("Leave me"), SUPPORT)
    first, state = read_all(connector, config, None)
    assert [r["seen"] for r in first] == [False, False]

    with mail_servers.dovecot.imap("support") as imap:
        imap.select("INBOX")
        imap.uid("STORE", "1", "+FLAGS", "(\\Seen \\Flagged)")

    changed, state = read_all(connector, config, state)
    assert [(r["subject"], r["seen"], r["flagged"], r["uid"]) for r in changed] == [
        ("Flag me", True, True, 1)
    ]
    assert read_all(connector, config, state)[0] == []


def test_a_new_uidvalidity_resyncs_the_folder_without_duplicates(
    mail_servers: MailServers, records: FakeRecords
) -> None:
    connector = connector_with(records)
    config = mail_servers.config(folders=["Support"])
    dovecot = mail_servers.dovecot
    kept = [customer_mail("One"), customer_mail("Two")]
    with dovecot.imap("support") as imap:
        imap.create("Support")
        for message in kept:
            imap.append("Support", "", None, message.as_bytes())
    items, state = read_all(connector, config, None)
    records.store([Record(item) for item in items])
    assert state is not None
    before = state["folders"]["Support"]["uidvalidity"]

    # The folder is deleted and made again: same messages, new UIDVALIDITY, UIDs from 1.
    with dovecot.imap("support") as imap:
        imap.delete("Support")
        imap.create("Support")
        for message in [*kept, customer_mail("Three")]:
            imap.append("Support", "", None, message.as_bytes())
    again, state = read_all(connector, config, state)
    assert state is not None and state["folders"]["Support"]["uidvalidity"] != before

    assert [r["subject"] for r in again] == ["One", "Two", "Three"]  # everything, read again
    records.store([Record(item) for item in again])
    assert sorted(r["subject"] for r in records.find("email_message")) == ["One", "Three", "Two"]


def test_the_same_message_in_two_folders_is_read_once(
    mail_servers: MailServers, records: FakeRecords
) -> None:
    message = customer_mail("Twice")
    mail_servers.dovecot.deliver(message, SUPPORT)
    with mail_servers.dovecot.imap("support") as imap:
        imap.append("Sent", "", None, message.as_bytes())
    items, _ = read_all(connector_with(records), mail_servers.config(folders=["INBOX", "Sent"]), None)
    assert [(r["subject"], r["folder"]) for r in items] == [("Twice", "INBOX")]


def test_a_reply_is_threaded_to_the_message_it_answers(
    mail_servers: MailServers, records: FakeRecords
) -> None:
    connector = connector_with(records)
    config = mail_servers.config(folders=["INBOX", "Sent"])
    sent = connector.execute(
        config, "send_email", {"to": ANN, "subject": "Welcome", "text": "Hi"}, "run-4:welcome"
    )
    mail_servers.dovecot.deliver(
        customer_mail("Re: Welcome", in_reply_to=sent["message_id"], references=[sent["message_id"]]), SUPPORT
    )
    items, _ = read_all(connector, config, None)
    stored = {r["subject"]: r for r in records.store([Record(item) for item in items])}

    assert stored["Re: Welcome"]["thread_id"] == sent["message_id"] == stored["Welcome"]["thread_id"]
    assert stored["Re: Welcome"]["in_reply_to"] == sent["message_id"]
    assert stored["Welcome"]["direction"] == "outbound"  # read back from the Sent folder
    assert len(records.find("email_message")) == 2


def test_a_reply_to_a_case_email_updates_the_case(mail_servers: MailServers, records: FakeRecords) -> None:
    case = records.create("case", {"subject": "Login broken", "status": "pending"})
    connector = connector_with(records)
    config = mail_servers.config()
    sent = connector.execute(
        config,
        "send_email",
        {"to": ANN, "subject": "Can you retry?", "related_object": "case", "related_record_id": case["id"]},
        "run-5:ask",
    )
    # The customer's mail client quotes only In-Reply-To.
    mail_servers.dovecot.deliver(customer_mail("Re: Can you retry?", in_reply_to=sent["message_id"]), SUPPORT)

    [reply], _ = read_all(connector, config, None)

    assert reply["case"] == case["id"] and reply["related_object"] == "case"
    updated = records.get("case", case["id"])
    assert updated is not None
    assert updated["status"] == "open"
    assert updated["mail_last_customer_reply_at"] == "2025-04-01T07:30:00+00:00"
    # Read again after a resync: the case is not updated twice.
    records.store([Record(reply)])
    writes = list(records.writes)
    read_all(connector, config, None)
    assert [w for w in records.writes[len(writes) :] if w[1] == "case"] == []


def test_a_reply_deeper_in_a_case_thread_finds_the_case(
    mail_servers: MailServers, records: FakeRecords
) -> None:
    case = records.create("case", {"subject": "Invoice", "status": "open"})
    records.create(
        "email_message",
        {
            "message_id": "<first@customer.example.com>",
            "thread_id": "<first@customer.example.com>",
            "case": case["id"],
        },
    )
    mail_servers.dovecot.deliver(
        customer_mail(
            "Re: Invoice",
            in_reply_to="<first@customer.example.com>",
            references=["<first@customer.example.com>"],
        ),
        SUPPORT,
    )
    [reply], _ = read_all(connector_with(records), mail_servers.config(), None)
    assert reply["case"] == case["id"] and reply["thread_id"] == "<first@customer.example.com>"
    updated = records.get("case", case["id"])
    assert updated is not None and updated["status"] == "open" and updated["mail_last_customer_reply_at"]


@pytest.mark.parametrize("enabled", [True, False])
def test_an_unknown_sender_creates_a_lead_when_enabled(
    mail_servers: MailServers, records: FakeRecords, enabled: bool
) -> None:
    config = mail_servers.config(create_leads_for_unknown_senders=enabled)
    mail_servers.dovecot.deliver(
        customer_mail("Pricing?", sender="Zoe Quinn <zoe@Newco.example.com>"), SUPPORT
    )

    [message], _ = read_all(connector_with(records), config, None)

    leads = records.find("lead")
    if not enabled:
        assert leads == [] and message["lead"] is None
        return
    [lead] = leads
    assert (lead["first_name"], lead["last_name"], lead["email"]) == ("Zoe", "Quinn", "zoe@newco.example.com")
    assert lead["company_name"] == "newco.example.com"
    assert message["lead"] == lead["id"] and message["person"] is None


def test_read_without_a_workspace_leaves_the_links_to_the_message_ids(mail_servers: MailServers) -> None:
    mail_servers.dovecot.deliver(
        customer_mail("Re", in_reply_to="<tessera.deal.77.0123456789abcdef@x.com>"), SUPPORT
    )
    [message], _ = read_all(EmailConnector(), mail_servers.config(), None)
    assert (message["deal"], message["related_object"], message["person"]) == ("77", "deal", None)


def test_a_missing_folder_stops_the_read(mail_servers: MailServers) -> None:
    with pytest.raises(ConfigurationError, match="'Nope' does not exist"):
        read_all(EmailConnector(), mail_servers.config(folders=["Nope"]), None)


# --- the connector contract ----------------------------------------------------------------------
class TestEmailContract(ConnectorContract):
    connector_class = EmailConnector

    @pytest.fixture
    def config(self, mail_servers: MailServers) -> Mapping[str, Any]:
        mail_servers.dovecot.deliver(customer_mail("Contract one"), SUPPORT)
        mail_servers.dovecot.deliver(customer_mail("Contract two"), SUPPORT)
        return mail_servers.config()

    @pytest.fixture
    def bad_config(self, mail_servers: MailServers) -> tuple[Mapping[str, Any], str]:
        return mail_servers.config(imap_password="wrong"), "refused the login of 'support'"

    @pytest.fixture
    def action_inputs(self) -> Mapping[str, Mapping[str, Any]]:
        return {"send_email": {"to": ANN, "subject": "Contract", "text": "Hello"}}


# --- end to end: the connector runtime, the record service, SQLite -------------------------------
def test_end_to_end_through_the_runtime_and_the_record_service(
    mail_servers: MailServers, engine: Any, workspace: str, box: Any, clock: Any, tmp_path: Any
) -> None:
    from tessera.connectors.runtime import ConnectorRuntime
    from tessera.platform.packages import PackageManager, open_package
    from tessera.platform.records import RecordService

    PackageManager(engine, export_dir=tmp_path).install(
        workspace, open_package("standard-crm"), sample_data=False
    )
    runtime = ConnectorRuntime(engine, box, connectors={"email": EmailConnector}, clock=clock)
    config = mail_servers.config(folders=["INBOX", "Sent"], create_leads_for_unknown_senders=True)
    runtime.create_connection(workspace, "mail", "email", config)  # installs the email package
    service = RecordService(engine)
    ann = service.create(workspace, "person", {"first_name": "Ann", "last_name": "Lee", "email": ANN})
    case = service.create(
        workspace, "case", {"subject": "Login broken", "status": "pending", "person": ann["id"]}
    )
    assert runtime.check(workspace, "mail")[0]

    sent = runtime.execute(
        workspace,
        "mail",
        "send_email",
        {
            "to": ANN,
            "subject": "Re: {{ record.subject }}",
            "text": "Can you retry?",
            "related_object": "case",
            "related_record_id": str(case["id"]),
        },
        "run-e2e:ask",
    )
    mail_servers.dovecot.wait_for_messages("ann", 1)
    mail_servers.dovecot.deliver(
        customer_mail("Re: Re: Login broken", in_reply_to=sent["message_id"]), SUPPORT
    )
    mail_servers.dovecot.deliver(customer_mail("Hello?", sender=f"Zoe Quinn <zoe@{DOMAIN}>"), SUPPORT)

    runs = runtime.sync_now(workspace, "mail")
    assert [(r.status, r.records_failed, r.errors) for r in runs] == [("succeeded", 0, [])]
    again = runtime.sync_now(workspace, "mail")
    assert (again[0].records_read, again[0].status) == (0, "succeeded")

    messages = {str(m["subject"]): m for m in service.find(workspace, "email_message", {})}
    assert sorted(messages) == ["Hello?", "Re: Login broken", "Re: Re: Login broken"]
    outbound, reply = messages["Re: Login broken"], messages["Re: Re: Login broken"]
    assert outbound["direction"] == "outbound" and outbound["message_id"] == sent["message_id"]
    assert str(outbound["id"]) == sent["email_record_id"]
    assert str(reply["case"]) == str(case["id"]) == str(outbound["case"])
    assert str(reply["person"]) == str(ann["id"])
    assert reply["thread_id"] == sent["message_id"]
    [lead] = service.find(workspace, "lead", {})
    assert lead["email"] == f"zoe@{DOMAIN}" and str(messages["Hello?"]["lead"]) == str(lead["id"])
    updated = service.get(workspace, "case", case["id"])
    assert updated is not None and updated["status"] == "open"
    assert updated["mail_last_customer_reply_at"] is not None
