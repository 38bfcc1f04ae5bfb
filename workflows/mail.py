"""Outgoing email: the ``send_email`` action and the senders it delivers through.

A :class:`MailSender` takes an :class:`OutgoingEmail` and delivers it. Senders come from
a URL (:func:`mail_sender_from_url`): ``smtp://``, ``smtp+starttls://`` or ``smtps://``
for a real server, ``log://`` (the embedded default: log each message, send nothing) and
``memory://`` (keep each message, for tests).

Every message carries a Message-ID derived from the step's idempotency key
(:func:`message_id_for`), so a retried step sends the same Message-ID: the
:class:`MemoryMailSender` drops the repeat, and receiving systems that deduplicate on
Message-ID see one message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import smtplib
import ssl
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import parse_qs, unquote, urlsplit

from email_validator import EmailNotValidError, validate_email

from tessera.workflows.actions import Action, ActionCall, ActionFailed

logger = logging.getLogger("tessera.mail")

#: the sender address when neither the URL's ``?from=`` nor the step's ``from`` names one
DEFAULT_SENDER = "tessera@localhost"

Security = Literal["none", "starttls", "tls"]

#: headers the message builds itself; letting ``headers`` override them would make the
#: envelope and the Message-ID disagree with what the action returned
_RESERVED_HEADERS = frozenset(
    {
        "to",
        "cc",
        "from",
        "subject",
        "message-id",
        "date",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: its name, its bytes and its MIME type (``application/pdf``)."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"

    def __post_init__(self) -> None:
        maintype, _, subtype = self.content_type.partition("/")
        if not maintype or not subtype or "/" in subtype:
            raise ValueError(f"An attachment's content type is type/subtype, not {self.content_type!r}.")


@dataclass(frozen=True)
class OutgoingEmail:
    """One message to send. ``to``, ``cc`` and ``sender`` are addresses, optionally with a
    display name (``Ann Lee <ann@example.com>``). With ``html`` the message is
    multipart/alternative; an empty ``text`` then sends the HTML part alone. With
    ``attachments`` the body is the first part of a multipart/mixed message."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None
    sender: str
    message_id: str
    headers: Mapping[str, str] = field(default_factory=dict)
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    #: the Date header; the moment of :meth:`to_message` when ``None``
    date: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not self.to:
            raise ValueError("An email needs at least one recipient.")
        reserved = sorted(name for name in self.headers if name.lower() in _RESERVED_HEADERS)
        if reserved:
            raise ValueError(
                f"Extra headers cannot set {', '.join(reserved)}: use the fields of OutgoingEmail instead."
            )

    @property
    def recipients(self) -> list[str]:
        """The bare addresses of ``to`` and ``cc``, for the SMTP envelope."""
        return [address for _, address in getaddresses([*self.to, *self.cc]) if address]

    def to_message(self) -> EmailMessage:
        """The message as a stdlib :class:`~email.message.EmailMessage`, ready for SMTP."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        if self.cc:
            message["Cc"] = ", ".join(self.cc)
        # A template may render a line break into the subject; header folding rejects it.
        message["Subject"] = " ".join(self.subject.split())
        message["Date"] = format_datetime(self.date or dt.datetime.now(dt.UTC))
        message["Message-ID"] = self.message_id
        for name, value in self.headers.items():
            message[name] = value
        if self.html is None:
            message.set_content(self.text)
        elif self.text:
            message.set_content(self.text)
            message.add_alternative(self.html, subtype="html")
        else:
            message.set_content(self.html, subtype="html")
        for attachment in self.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(
                attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        return message


def message_id_for(idempotency_key: str, domain: str = "tessera.local") -> str:
    """The RFC 5322 Message-ID of the message sent under ``idempotency_key``: the same for
    every attempt of one step, different for every step and run."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


class MailSender:
    """Base class of mail senders. Subclasses override :meth:`send`, and :meth:`close`
    when they hold a connection."""

    #: the From address of messages whose step names none
    default_sender: str = DEFAULT_SENDER

    def __init__(self, *, default_sender: str = DEFAULT_SENDER) -> None:
        self.default_sender = default_sender

    def send(self, message: OutgoingEmail) -> None:  # pragma: no cover - abstract
        """Deliver ``message``, or raise :class:`ActionFailed`."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the sender holds; a no-op for senders that hold nothing."""


class MemoryMailSender(MailSender):
    """Keeps each message in :attr:`sent` instead of sending it; a message whose Message-ID
    is already there is dropped, as a retried step must not send twice."""

    def __init__(self, *, default_sender: str = DEFAULT_SENDER) -> None:
        super().__init__(default_sender=default_sender)
        self.sent: list[OutgoingEmail] = []
        # Workflow steps run on several worker threads at once.
        self._lock = threading.Lock()

    def send(self, message: OutgoingEmail) -> None:
        with self._lock:
            if any(sent.message_id == message.message_id for sent in self.sent):
                return
            self.sent.append(message)


class LogMailSender(MailSender):
    """Logs each message (logger ``tessera.mail``) and sends nothing: the embedded default
    when no SMTP server is configured."""

    def send(self, message: OutgoingEmail) -> None:
        logger.info(
            "Email not sent (no SMTP server configured): to=%s subject=%r message_id=%s",
            ", ".join(message.to),
            message.subject,
            message.message_id,
        )


class SmtpMailSender(MailSender):
    """Sends through an SMTP server with :mod:`smtplib`, one connection per message.

    ``security`` is ``"none"`` (plain SMTP, usually port 25), ``"starttls"`` (upgrade
    after connecting, usually 587) or ``"tls"`` (TLS from the start, usually 465).
    Failures become :class:`ActionFailed`: ``MAIL_UNAVAILABLE`` (retryable: the server
    cannot be reached or answered 4xx), ``MAIL_AUTH_FAILED``, ``MAIL_TLS_FAILED`` and
    ``MAIL_REJECTED`` (not retryable: sending again would fail the same way).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        default_sender: str = DEFAULT_SENDER,
    ) -> None:
        super().__init__(default_sender=default_sender)
        if security not in get_args(Security):
            raise ValueError(f"SMTP security must be 'none', 'starttls' or 'tls', not {security!r}.")
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ssl_context = ssl_context

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context if self.ssl_context is not None else ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def verify(self) -> None:
        """Connect, secure the connection and log in as :meth:`send` does, then quit without
        sending: a configuration check. Fails with the same :class:`ActionFailed` codes."""
        self._deliver(None)

    def send(self, message: OutgoingEmail) -> None:
        self._deliver(message)

    def _deliver(self, message: OutgoingEmail | None) -> None:
        server = f"{self.host}:{self.port}"
        recipients = message.recipients if message is not None else []
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self._context())
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                if message is None:
                    smtp.noop()
                    return
                refused = smtp.send_message(
                    message.to_message(), from_addr=_bare_address(message.sender), to_addrs=recipients
                )
        except smtplib.SMTPAuthenticationError as error:
            if _is_temporary(error.smtp_code):
                raise _unavailable(server, f"login failed for now ({_reply(error)})") from error
            raise ActionFailed(
                f"The mail server {server} refused the login of {self.username!r} ({_reply(error)}). "
                "Check the user name and password in the mail server URL.",
                "MAIL_AUTH_FAILED",
                retryable=False,
            ) from error
        except smtplib.SMTPNotSupportedError as error:
            # smtplib raises this for a server without AUTH or without STARTTLS.
            what = "STARTTLS" if "STARTTLS" in str(error) else "login (AUTH)"
            raise ActionFailed(
                f"The mail server {server} does not offer {what}. Use the security and credentials "
                "it supports in the mail server URL (smtp://, smtp+starttls:// or smtps://).",
                "MAIL_AUTH_FAILED" if what.startswith("login") else "MAIL_TLS_FAILED",
                retryable=False,
            ) from error
        except smtplib.SMTPRecipientsRefused as error:
            raise _refused(server, error.recipients, delivered=False) from error
        except smtplib.SMTPSenderRefused as error:
            if _is_temporary(error.smtp_code):
                raise _unavailable(server, f"it refused the sender for now ({_reply(error)})") from error
            raise ActionFailed(
                f"The mail server {server} refused the sender address {error.sender!r} ({_reply(error)}). "
                "Send from an address the server accepts (the step's 'from', or ?from= in the URL).",
                "MAIL_REJECTED",
                retryable=False,
            ) from error
        except smtplib.SMTPResponseException as error:
            if _is_temporary(error.smtp_code):
                raise _unavailable(server, f"it answered {_reply(error)}") from error
            raise ActionFailed(
                f"The mail server {server} rejected the message ({_reply(error)}).",
                "MAIL_REJECTED",
                retryable=False,
            ) from error
        except ssl.SSLError as error:
            # A certificate the context does not trust fails again on every retry.
            raise ActionFailed(
                f"The TLS connection to the mail server {server} failed: {error}. Check that the "
                "server's certificate is valid for that host name and that the port speaks the chosen "
                "security (smtps:// for implicit TLS, usually 465; smtp+starttls://, usually 587).",
                "MAIL_TLS_FAILED",
                retryable=False,
            ) from error
        except OSError as error:
            # Connection refused, timeouts, a dropped connection (SMTPServerDisconnected is an
            # OSError too): the server may be back on the next attempt.
            raise _unavailable(server, str(error) or type(error).__name__) from error
        if refused:
            # Some recipients got the message: sending again would repeat it for them.
            raise _refused(server, refused, delivered=True)


def _bare_address(address: str) -> str:
    parsed = [bare for _, bare in getaddresses([address]) if bare]
    return parsed[0] if parsed else address


def _is_temporary(code: int) -> bool:
    return 400 <= code < 500


def _reply(error: smtplib.SMTPResponseException) -> str:
    reply = error.smtp_error
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    return f"{error.smtp_code} {text}".strip()


def _unavailable(server: str, reason: str) -> ActionFailed:
    return ActionFailed(
        f"Could not send the email through the mail server {server}: {reason}. "
        "The step will be tried again; if this goes on, check that the server is running and "
        "that the mail server URL names the right host and port.",
        "MAIL_UNAVAILABLE",
        retryable=True,
    )


def _refused(server: str, refused: Mapping[str, tuple[int, bytes]], *, delivered: bool) -> ActionFailed:
    reasons = "; ".join(
        f"{address}: {code} {reply.decode(errors='replace')}" for address, (code, reply) in refused.items()
    )
    if not delivered and all(_is_temporary(code) for code, _ in refused.values()):
        return _unavailable(server, f"it refused the recipients for now ({reasons})")
    if delivered:
        return ActionFailed(
            f"The mail server {server} refused some recipients ({reasons}); the others received the "
            "message. Correct those addresses and send to them in a separate step.",
            "MAIL_REJECTED",
            retryable=False,
        )
    return ActionFailed(
        f"The mail server {server} refused every recipient ({reasons}). Correct the addresses in the "
        "step's 'to'.",
        "MAIL_REJECTED",
        retryable=False,
    )


_URL_FORMS = (
    "log://, memory://, smtp://[user:password@]host[:port] (add ?starttls=true for STARTTLS), "
    "smtp+starttls://[user:password@]host[:port] or smtps://[user:password@]host[:port], "
    "each optionally with ?from=address"
)
_SMTP_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


def mail_sender_from_url(url: str) -> MailSender:
    """The sender named by ``url``: ``log://``, ``memory://``,
    ``smtp://[user:password@]host[:port]`` (port 25; ``?starttls=true`` for STARTTLS),
    ``smtp+starttls://…`` (port 587) or ``smtps://…`` (TLS, port 465). ``?from=`` sets
    the default sender address.

    >>> mail_sender_from_url("smtps://app:s%40cret@mail.example.com?from=crm@example.com").port
    465
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
    allowed = {"from", "starttls"} if scheme == "smtp" else {"from"}
    unknown = sorted(set(query) - allowed)
    if scheme not in {"log", "memory", *_SMTP_SCHEMES}:
        raise ValueError(f"The mail server URL {_redact(url)!r} is not supported. Use {_URL_FORMS}.")
    if unknown:
        raise ValueError(
            f"The mail server URL {_redact(url)!r} has unknown parameters {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(allowed))}."
        )
    sender = query.get("from") or DEFAULT_SENDER
    if scheme == "log":
        return LogMailSender(default_sender=sender)
    if scheme == "memory":
        return MemoryMailSender(default_sender=sender)

    security, default_port = _SMTP_SCHEMES[scheme]
    starttls = query.get("starttls", "false").lower()
    if starttls not in {"true", "false", "1", "0", "yes", "no"}:
        raise ValueError(f"The mail server URL's starttls must be true or false, not {starttls!r}.")
    if starttls in {"true", "1", "yes"}:
        security = "starttls"
    try:
        port = parts.port or default_port
    except ValueError as error:
        raise ValueError(
            f"The mail server URL {_redact(url)!r} has an invalid port. Use {_URL_FORMS}."
        ) from error
    if not parts.hostname:
        raise ValueError(f"The mail server URL {_redact(url)!r} names no host. Use {_URL_FORMS}.")
    return SmtpMailSender(
        parts.hostname,
        port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        default_sender=sender,
    )


def _redact(url: str) -> str:
    """``url`` without its password, which must not end up in logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{netloc}").geturl()


_ADDRESS_LIST: Mapping[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1, "description": "one address, or several separated by commas"},
        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    ]
}


class SendEmailAction(Action):
    """The ``send_email`` step: validates the addresses and sends through ``sender``.

    The Message-ID comes from the step's idempotency key, so a retried step sends the
    same message, not a second one.
    """

    name: ClassVar[str] = "send_email"
    description: ClassVar[str] = "Send an email (plain text, HTML, or both) to one or more addresses."
    input_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "required": ["to", "subject"],
        "additionalProperties": False,
        "properties": {
            "to": _ADDRESS_LIST,
            "subject": {"type": "string"},
            "body": {"type": "string", "description": "the plain-text body"},
            "html": {"type": "string", "description": "the HTML body, sent alongside the text"},
            "from": {"type": "string", "description": "the sender address; the server's default if absent"},
        },
    }
    output_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "required": ["message_id", "to", "subject"],
        "additionalProperties": False,
        "properties": {
            "message_id": {"type": "string"},
            "to": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": "string"},
        },
    }

    def __init__(self, sender: MailSender, *, message_id_domain: str = "tessera.local") -> None:
        self.sender = sender
        self.message_id_domain = message_id_domain

    def execute(self, call: ActionCall, payload: Mapping[str, Any]) -> dict[str, Any]:
        raw_to = payload["to"]
        to = _valid_addresses([raw_to] if isinstance(raw_to, str) else raw_to, "to")
        sender = self.sender.default_sender
        if "from" in payload:
            senders = _valid_addresses([payload["from"]], "from")
            if len(senders) != 1:
                raise ActionFailed(
                    f"send_email: from: give one sender address, not {payload['from']!r}.",
                    "INVALID_EMAIL",
                    retryable=False,
                )
            sender = senders[0]
        email = OutgoingEmail(
            to=tuple(to),
            subject=payload["subject"],
            text=payload.get("body", ""),
            html=payload.get("html"),
            sender=sender,
            message_id=message_id_for(call.idempotency_key, self.message_id_domain),
        )
        self.sender.send(email)
        return {"message_id": email.message_id, "to": to, "subject": email.subject}


def _valid_addresses(values: Iterable[str], where: str) -> list[str]:
    """The addresses in ``values``, normalised, display names kept; :class:`ActionFailed`
    (``INVALID_EMAIL``) naming the first bad one."""
    values = list(values)
    addresses: list[str] = []
    for name, address in getaddresses(values):
        if not address:
            continue  # an empty item between two commas
        try:
            normalized = validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise ActionFailed(
                f"send_email: {where}: {address!r} is not a valid email address: {error}",
                "INVALID_EMAIL",
                retryable=False,
            ) from error
        formatted = f"{_quote_display_name(name)} <{normalized}>" if name else normalized
        if formatted not in addresses:
            addresses.append(formatted)
    if not addresses:
        raise ActionFailed(
            f"send_email: {where}: {', '.join(values)!r} holds no email address. "
            "Give one address, or several separated by commas.",
            "INVALID_EMAIL",
            retryable=False,
        )
    return addresses


def _quote_display_name(name: str) -> str:
    # A display name with a comma or other specials must be quoted, or it reads as two addresses.
    if any(char in name for char in ',;:<>@()[]"\\.'):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return name
