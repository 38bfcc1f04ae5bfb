"""The ``send_email`` action and the mail senders, against a real SMTP server on loopback."""

from __future__ import annotations

import email
import email.policy
import importlib.util
import logging
import shutil
import socket
import ssl
import subprocess
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tessera.workflows.actions import ActionCall, ActionFailed, ActionRegistry
from tessera.workflows.mail import (
    LogMailSender,
    MemoryMailSender,
    OutgoingEmail,
    SendEmailAction,
    SmtpMailSender,
    mail_sender_from_url,
    message_id_for,
)

USER = "crm"
PASSWORD = "s3cret:p@ss"


class CollectingHandler:
    """An aiosmtpd handler keeping every envelope; ``refuse`` maps an address to the reply
    its RCPT gets instead of 250."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse = refuse or {}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.envelopes:
            assert isinstance(envelope.content, bytes)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (USER.encode(), PASSWORD.encode())
    # handled=False: aiosmtpd sends the 235/535 reply itself
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    # The Controller connects to its own port once started, so it cannot be given port 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def start_smtp_server() -> Iterator[Callable[..., Controller]]:
    """Starts aiosmtpd controllers on loopback (keyword arguments go to its SMTP class) and
    stops them after the test."""
    controllers: list[Controller] = []

    def start(handler: CollectingHandler, **smtp_options: Any) -> Controller:
        # server_hostname spares a reverse DNS lookup (socket.getfqdn) per connection.
        controller = Controller(
            handler, hostname="127.0.0.1", port=free_port(), server_hostname="smtp.test", **smtp_options
        )
        controller.start()
        controllers.append(controller)
        return controller

    yield start
    for controller in controllers:
        controller.stop()


def outgoing(**overrides: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "to": ("ann@example.com", "Bob Ray <bob@example.com>"),
        "subject": "Your quote Q-1042",
        "text": "Hello, your quote is attached.",
        "html": "<p>Hello, your quote is <b>attached</b>.</p>",
        "sender": "Acme Sales <sales@example.com>",
        "message_id": message_id_for("run-1:step-send"),
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)


def call(idempotency_key: str = "run-1:send") -> ActionCall:
    return ActionCall(workspace="acme", run_id=uuid.uuid4(), step_key="send", idempotency_key=idempotency_key)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key) PEM files."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    if importlib.util.find_spec("cryptography") is not None:
        write_certificate_with_cryptography(cert, key)
    elif shutil.which("openssl") is not None:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    else:
        pytest.skip(
            "neither the cryptography package nor the openssl command is available to make a certificate"
        )
    return cert, key


def write_certificate_with_cryptography(cert_path: Path, key_path: Path) -> None:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        # Key identifiers: Python 3.13's default context verifies with X509_STRICT, which wants them.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def server_tls_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


# --- SmtpMailSender against a real server -------------------------------------------------


def test_smtp_sender_delivers_text_and_html(start_smtp_server: Callable[..., Controller]) -> None:
    handler = CollectingHandler()
    server = start_smtp_server(handler)
    message = outgoing(headers={"Reply-To": "support@example.com"})

    SmtpMailSender("127.0.0.1", server.port, timeout=5).send(message)

    [envelope] = handler.envelopes
    assert envelope.mail_from == "sales@example.com"
    assert envelope.rcpt_tos == ["ann@example.com", "bob@example.com"]
    [received] = handler.messages()
    assert received["Subject"] == "Your quote Q-1042"
    assert received["Message-ID"] == message.message_id
    assert received["To"] == "ann@example.com, Bob Ray <bob@example.com>"
    assert received["Reply-To"] == "support@example.com"
    assert received["Date"] is not None
    assert received.get_content_type() == "multipart/alternative"
    text, html = received.iter_parts()
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert text.get_content_type() == "text/plain"
    assert text.get_content().strip() == "Hello, your quote is attached."
    assert html.get_content_type() == "text/html"
    assert "<b>attached</b>" in html.get_content()


def test_smtp_sender_logs_in_with_good_credentials(start_smtp_server: Callable[..., Controller]) -> None:
    handler = CollectingHandler()
    server = start_smtp_server(handler, authenticator=authenticator, auth_require_tls=False)

    SmtpMailSender("127.0.0.1", server.port, username=USER, password=PASSWORD, timeout=5).send(outgoing())

    assert len(handler.envelopes) == 1


def test_smtp_sender_wrong_password_is_not_retried(start_smtp_server: Callable[..., Controller]) -> None:
    handler = CollectingHandler()
    server = start_smtp_server(handler, authenticator=authenticator, auth_require_tls=False)
    sender = SmtpMailSender("127.0.0.1", server.port, username=USER, password="wrong", timeout=5)

    with pytest.raises(ActionFailed) as failure:
        sender.send(outgoing())

    assert failure.value.code == "MAIL_AUTH_FAILED"
    assert failure.value.retryable is False
    assert "user name and password" in str(failure.value)
    assert handler.envelopes == []


def test_smtp_sender_starttls(
    start_smtp_server: Callable[..., Controller], certificate: tuple[Path, Path]
) -> None:
    handler = CollectingHandler()
    # require_starttls: the server refuses MAIL before STARTTLS, so delivery proves TLS was used
    server = start_smtp_server(handler, tls_context=server_tls_context(certificate), require_starttls=True)
    trusting = ssl.create_default_context(cafile=str(certificate[0]))

    SmtpMailSender("127.0.0.1", server.port, security="starttls", ssl_context=trusting, timeout=5).send(
        outgoing()
    )

    [received] = handler.messages()
    assert received["Subject"] == "Your quote Q-1042"


def test_smtp_sender_untrusted_certificate_is_not_retried(
    start_smtp_server: Callable[..., Controller], certificate: tuple[Path, Path]
) -> None:
    server = start_smtp_server(CollectingHandler(), tls_context=server_tls_context(certificate))
    sender = SmtpMailSender("127.0.0.1", server.port, security="starttls", timeout=5)

    with pytest.raises(ActionFailed) as failure:
        sender.send(outgoing())

    assert failure.value.code == "MAIL_TLS_FAILED"
    assert failure.value.retryable is False


def test_smtp_sender_connection_refused_is_retryable() -> None:
    sender = SmtpMailSender("127.0.0.1", free_port(), timeout=5)

    with pytest.raises(ActionFailed) as failure:
        sender.send(outgoing())

    assert failure.value.code == "MAIL_UNAVAILABLE"
    assert failure.value.retryable is True
    assert "127.0.0.1" in str(failure.value)


def test_smtp_sender_silent_server_times_out_retryably() -> None:
    # The kernel accepts the connection into the backlog, but nobody ever sends a greeting.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        sender = SmtpMailSender("127.0.0.1", silent.getsockname()[1], timeout=0.2)
        with pytest.raises(ActionFailed) as failure:
            sender.send(outgoing())

    assert failure.value.code == "MAIL_UNAVAILABLE"
    assert failure.value.retryable is True


def test_smtp_sender_recipient_refused_with_550_is_not_retried(
    start_smtp_server: Callable[..., Controller],
) -> None:
    handler = CollectingHandler(refuse={"ghost@example.com": "550 5.1.1 No such user"})
    server = start_smtp_server(handler)

    with pytest.raises(ActionFailed) as failure:
        SmtpMailSender("127.0.0.1", server.port, timeout=5).send(outgoing(to=("ghost@example.com",)))

    assert failure.value.code == "MAIL_REJECTED"
    assert failure.value.retryable is False
    assert "ghost@example.com: 550 5.1.1 No such user" in str(failure.value)
    assert handler.envelopes == []


def test_smtp_sender_some_recipients_refused_is_not_retried(
    start_smtp_server: Callable[..., Controller],
) -> None:
    handler = CollectingHandler(refuse={"ghost@example.com": "550 5.1.1 No such user"})
    server = start_smtp_server(handler)

    with pytest.raises(ActionFailed) as failure:
        SmtpMailSender("127.0.0.1", server.port, timeout=5).send(
            outgoing(to=("ann@example.com", "ghost@example.com"))
        )

    # Ann got it: a retry would send it to her again.
    assert failure.value.code == "MAIL_REJECTED"
    assert failure.value.retryable is False
    assert [envelope.rcpt_tos for envelope in handler.envelopes] == [["ann@example.com"]]


def test_smtp_sender_recipient_deferred_with_4xx_is_retryable(
    start_smtp_server: Callable[..., Controller],
) -> None:
    handler = CollectingHandler(refuse={"ann@example.com": "451 4.3.0 Try again later"})
    server = start_smtp_server(handler)

    with pytest.raises(ActionFailed) as failure:
        SmtpMailSender("127.0.0.1", server.port, timeout=5).send(outgoing(to=("ann@example.com",)))

    assert failure.value.code == "MAIL_UNAVAILABLE"
    assert failure.value.retryable is True


# --- OutgoingEmail, message ids, the other senders -----------------------------------------


def test_message_id_is_deterministic_per_idempotency_key() -> None:
    first = message_id_for("run-1:send")
    assert first == message_id_for("run-1:send")
    assert first != message_id_for("run-2:send")
    assert first.startswith("<") and first.endswith("@tessera.local>")
    assert message_id_for("run-1:send", "mail.example.com").endswith("@mail.example.com>")


def test_outgoing_email_html_only_and_text_only() -> None:
    html_only = outgoing(text="").to_message()
    assert html_only.get_content_type() == "text/html"
    text_only = outgoing(html=None, subject="Line\nbreak").to_message()
    assert text_only.get_content_type() == "text/plain"
    assert text_only["Subject"] == "Line break"


def test_outgoing_email_refuses_headers_it_sets_itself() -> None:
    with pytest.raises(ValueError, match="Message-ID"):
        outgoing(headers={"Message-ID": "<other@example.com>"})


def test_memory_sender_drops_a_repeated_message_id() -> None:
    sender = MemoryMailSender()
    sender.send(outgoing())
    sender.send(outgoing(subject="retried"))
    sender.send(outgoing(message_id=message_id_for("run-2:send")))

    assert [message.subject for message in sender.sent] == ["Your quote Q-1042", "Your quote Q-1042"]


def test_log_sender_logs_and_keeps_nothing(caplog: pytest.LogCaptureFixture) -> None:
    message = outgoing()
    with caplog.at_level(logging.INFO, logger="tessera.mail"):
        LogMailSender().send(message)

    [record] = caplog.records
    assert "ann@example.com" in record.getMessage()
    assert "Your quote Q-1042" in record.getMessage()
    assert message.message_id in record.getMessage()


# --- mail_sender_from_url ------------------------------------------------------------------


def test_sender_from_log_and_memory_urls() -> None:
    log = mail_sender_from_url("log://")
    assert isinstance(log, LogMailSender)
    assert log.default_sender == "tessera@localhost"
    memory = mail_sender_from_url("memory://?from=crm@example.com")
    assert isinstance(memory, MemoryMailSender)
    assert memory.default_sender == "crm@example.com"


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "username", "password"),
    [
        ("smtp://mail.example.com", "mail.example.com", 25, "none", None, None),
        ("smtp://mail.example.com:2525?starttls=true", "mail.example.com", 2525, "starttls", None, None),
        (
            "smtp+starttls://app%40acme:p%3Ass%2F@mail.example.com",
            "mail.example.com",
            587,
            "starttls",
            "app@acme",
            "p:ss/",
        ),
        ("smtps://app:secret@mail.example.com", "mail.example.com", 465, "tls", "app", "secret"),
        ("smtps://mail.example.com:2465", "mail.example.com", 2465, "tls", None, None),
    ],
)
def test_sender_from_smtp_urls(
    url: str, host: str, port: int, security: str, username: str | None, password: str | None
) -> None:
    sender = mail_sender_from_url(url)

    assert isinstance(sender, SmtpMailSender)
    assert (sender.host, sender.port, sender.security) == (host, port, security)
    assert (sender.username, sender.password) == (username, password)
    assert sender.default_sender == "tessera@localhost"


def test_sender_from_url_takes_the_sender_address() -> None:
    sender = mail_sender_from_url("smtp://mail.example.com?from=Acme%20CRM%20%3Ccrm%40example.com%3E")
    assert sender.default_sender == "Acme CRM <crm@example.com>"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://mail.example.com", "Use log://, memory://, smtp://"),
        ("mail.example.com", "Use log://"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.com:port", "invalid port"),
        ("smtps://mail.example.com?starttls=true", "unknown parameters starttls"),
        ("smtp://mail.example.com?starttls=maybe", "true or false"),
    ],
)
def test_sender_from_invalid_url(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        mail_sender_from_url(url)


def test_invalid_url_error_hides_the_password() -> None:
    with pytest.raises(ValueError) as error:
        mail_sender_from_url("smtp://app:hunter2@mail.example.com?frm=x@example.com")
    assert "hunter2" not in str(error.value)


# --- SendEmailAction -----------------------------------------------------------------------


def test_send_email_sends_once_per_idempotency_key() -> None:
    sender = MemoryMailSender(default_sender="crm@example.com")
    action = SendEmailAction(sender)
    payload = {"to": "ann@example.com, Bob Ray <Bob@Example.COM>", "subject": "Hi", "body": "Hello"}

    first = action.execute(call("run-1:send"), payload)
    second = action.execute(call("run-1:send"), payload)

    assert (
        first
        == second
        == {
            "message_id": message_id_for("run-1:send"),
            "to": ["ann@example.com", "Bob Ray <Bob@example.com>"],
            "subject": "Hi",
        }
    )
    [sent] = sender.sent
    assert sent.sender == "crm@example.com"
    assert sent.text == "Hello" and sent.html is None


def test_send_email_takes_a_list_and_a_sender() -> None:
    sender = MemoryMailSender()
    registry = ActionRegistry([SendEmailAction(sender)])

    result = registry.call(
        "send_email",
        call(),
        {
            "to": ["ann@example.com", "bob@example.com"],
            "subject": "Hi",
            "html": "<p>Hi</p>",
            "from": "Acme <sales@example.com>",
        },
    )

    assert result["to"] == ["ann@example.com", "bob@example.com"]
    [sent] = sender.sent
    assert sent.sender == "Acme <sales@example.com>"
    assert sent.html == "<p>Hi</p>" and sent.text == ""


@pytest.mark.parametrize(
    ("payload", "bad"),
    [
        ({"to": "ann@example.com, not-an-address", "subject": "Hi"}, "'not-an-address'"),
        ({"to": ["ann@example"], "subject": "Hi"}, "'ann@example'"),
        ({"to": " , ", "subject": "Hi"}, "holds no email address"),
        ({"to": "ann@example.com", "subject": "Hi", "from": "sales@@example.com"}, "from"),
    ],
)
def test_send_email_invalid_address(payload: dict[str, Any], bad: str) -> None:
    sender = MemoryMailSender()

    with pytest.raises(ActionFailed) as failure:
        SendEmailAction(sender).execute(call(), payload)

    assert failure.value.code == "INVALID_EMAIL"
    assert failure.value.retryable is False
    assert bad in str(failure.value)
    assert sender.sent == []


@pytest.mark.parametrize(
    "payload",
    [
        {"subject": "Hi"},
        {"to": "ann@example.com"},
        {"to": [], "subject": "Hi"},
        {"to": 42, "subject": "Hi"},
        {"to": "ann@example.com", "subject": "Hi", "cc": "bob@example.com"},
    ],
)
def test_send_email_input_breaking_the_schema(payload: dict[str, Any]) -> None:
    sender = MemoryMailSender()

    with pytest.raises(ActionFailed) as failure:
        ActionRegistry([SendEmailAction(sender)]).call("send_email", call(), payload)

    assert failure.value.code == "INVALID_INPUT"
    assert failure.value.retryable is False
    assert sender.sent == []
