"""Message-IDs and threads: the scheme of the Message-IDs Tessera sends, parsing received
messages, and the thread a message belongs to.

Tessera's Message-IDs name the record a message is about and the step that sent it::

    <tessera.case.8d0f…-…-….3f2a9c0b41d7e6a5@mail.example.com>
     ^^^^^^^ ^^^^ ^^^^^^^^^^^ ^^^^^^^^^^^^^^^^ ^^^^^^^^^^^^^^^^
     marker  object record id  idempotency key  domain (the From address's)
                               hash (16 hex)

A message sent about no record is ``<tessera.{hash}@{domain}>``. Replies carry the
Message-ID in In-Reply-To and References, so a reply names the record it answers even
when nothing else about it is known. A thread is identified by its root: the first
Message-ID of References, else In-Reply-To, else the message's own Message-ID.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

__all__ = [
    "ParsedMessage",
    "RecordRef",
    "message_ids",
    "parse_message",
    "parse_tessera_message_id",
    "tessera_message_id",
    "thread_root",
]

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_TESSERA = re.compile(
    r"^<tessera\.(?:(?P<object>[a-z][a-z0-9_]*)\.(?P<id>[A-Za-z0-9-]+)\.)?(?P<hash>[0-9a-f]{16})@(?P<domain>[^<>\s]+)>$"
)
_SAFE_ID = re.compile(r"^[A-Za-z0-9-]+$")
_OBJECT = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class RecordRef:
    """A Tessera record a message is about: its object and id."""

    object: str
    id: str


def tessera_message_id(idempotency_key: str, domain: str, related: RecordRef | None = None) -> str:
    """The Message-ID of the message sent under ``idempotency_key`` about ``related``: the
    same for every attempt of one step, and it names the record so replies link back.

    >>> tessera_message_id("run-1:send", "example.com", RecordRef("case", "42"))
    '<tessera.case.42.a52002fb11234159@example.com>'
    """
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
    if related is None:
        return f"<tessera.{digest}@{domain}>"
    if not _OBJECT.match(related.object) or not _SAFE_ID.match(related.id):
        raise ValueError(
            f"A related record is an object api name and an id of letters, digits and '-', "
            f"not {related.object!r} / {related.id!r}."
        )
    return f"<tessera.{related.object}.{related.id}.{digest}@{domain}>"


def parse_tessera_message_id(message_id: str) -> RecordRef | None:
    """The record a Message-ID of :func:`tessera_message_id` names (``None`` for any other)."""
    match = _TESSERA.match(message_id.strip())
    if match is None or match.group("object") is None:
        return None
    return RecordRef(match.group("object"), match.group("id"))


def message_ids(header: str | None) -> list[str]:
    """The Message-IDs in a References or In-Reply-To header, in order, each once.

    >>> message_ids("<a@x> <b@y>\\n <a@x>")
    ['<a@x>', '<b@y>']
    """
    found: list[str] = []
    for match in _MESSAGE_ID.finditer(header or ""):
        value = f"<{match.group(1)}>"
        if value not in found:
            found.append(value)
    return found


def thread_root(message_id: str, in_reply_to: str | None, references: Iterable[str]) -> str:
    """The Message-ID a thread is known by: the oldest reference, else the message replied
    to, else the message itself."""
    refs = list(references)
    if refs:
        return refs[0]
    return in_reply_to or message_id


@dataclass(frozen=True)
class ParsedMessage:
    """What Tessera keeps of a received message."""

    message_id: str
    subject: str
    sender: str
    sender_address: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: dt.datetime | None
    text: str | None
    html: str | None
    in_reply_to: str | None
    references: tuple[str, ...]

    @property
    def thread_id(self) -> str:
        return thread_root(self.message_id, self.in_reply_to, self.references)

    @property
    def related_ids(self) -> list[str]:
        """The Message-IDs this message answers: References, then In-Reply-To."""
        ids = list(self.references)
        if self.in_reply_to and self.in_reply_to not in ids:
            ids.append(self.in_reply_to)
        return ids

    def addresses(self, header: str) -> list[str]:
        """The bare addresses of ``to`` or ``cc``, lower-cased domains."""
        values = self.to if header == "to" else self.cc
        return [_address(bare) for _, bare in getaddresses(list(values)) if bare]


def _address(bare: str) -> str:
    local, at, domain = bare.rpartition("@")
    return f"{local}@{domain.lower()}" if at else bare


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse a message as received (RFC 5322 bytes). A message without a Message-ID gets one
    made from a hash of its bytes, so reading it again finds the same record."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    own = message_ids(_header(message, "Message-ID"))
    message_id = own[0] if own else f"<{hashlib.sha256(raw).hexdigest()[:32]}@no-message-id.tessera>"
    replied = message_ids(_header(message, "In-Reply-To"))
    senders = [(name, bare) for name, bare in getaddresses([_header(message, "From") or ""]) if bare]
    date: dt.datetime | None = None
    raw_date = _header(message, "Date")
    if raw_date:
        try:
            date = parsedate_to_datetime(raw_date)
        except (TypeError, ValueError):
            date = None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=dt.UTC)
    return ParsedMessage(
        message_id=message_id,
        subject=" ".join((_header(message, "Subject") or "").split()),
        sender=_header(message, "From") or "",
        sender_address=_address(senders[0][1]) if senders else None,
        to=tuple(_list_header(message, "To")),
        cc=tuple(_list_header(message, "Cc")),
        date=date,
        text=_body(message, "plain"),
        html=_body(message, "html"),
        in_reply_to=replied[0] if replied else None,
        references=tuple(message_ids(_header(message, "References"))),
    )


def sender_name(message: ParsedMessage) -> str:
    """The sender's display name, or an empty string."""
    for name, bare in getaddresses([message.sender]):
        if bare:
            return name
    return ""


def _header(message: EmailMessage, name: str) -> str | None:
    try:
        value = message.get(name)
    except (ValueError, IndexError):  # a header the default policy cannot parse
        value = message.get_all(name, failobj=[None])[0] if name in message else None
    return None if value is None else str(value)


def _list_header(message: EmailMessage, name: str) -> list[str]:
    value = _header(message, name)
    if not value:
        return []
    return [f"{n} <{a}>" if n else a for n, a in getaddresses([value]) if a]


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or not isinstance(part, EmailMessage):
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else None
    return content.replace("\r\n", "\n") if isinstance(content, str) else None
