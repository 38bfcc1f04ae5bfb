"""A small IMAP client over :mod:`imaplib`: connect (plain, STARTTLS or TLS) and log in
with errors in plain words, select a folder for its UIDVALIDITY and HIGHESTMODSEQ, fetch
by UID (CONDSTORE's CHANGEDSINCE when the server has it), search by Message-ID, append.

Failures are the connector SDK's errors: a refused or timed-out connection is a
:class:`TransientError`, a TLS failure and a missing folder a :class:`ConfigurationError`,
refused credentials an :class:`AuthenticationError`.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from tessera.connectors.sdk import AuthenticationError, ConfigurationError, PermanentError, TransientError

Security = Literal["none", "starttls", "tls"]

_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delimiter>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')
_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_MODSEQ = re.compile(rb"\bMODSEQ \((\d+)\)")
_RESPONSE_START = re.compile(rb"^\d+ \(")


@dataclass(frozen=True)
class FolderStatus:
    """A selected folder: its UIDVALIDITY, next UID and HIGHESTMODSEQ (``None`` without CONDSTORE)."""

    name: str
    uidvalidity: int
    uidnext: int | None
    highestmodseq: int | None
    exists: int


@dataclass(frozen=True)
class FetchedMessage:
    """One message fetched by UID: its flags, its MODSEQ and, when asked for, its bytes."""

    uid: int
    flags: frozenset[str]
    modseq: int | None
    raw: bytes | None


def quote(name: str) -> str:
    """A mailbox name or search string as an IMAP quoted string."""
    if not name.isascii() or "\r" in name or "\n" in name:
        raise ConfigurationError(f"IMAP names and values are plain ASCII on one line here, not {name!r}.")
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _unquote(value: bytes) -> str:
    text = value.decode(errors="replace")
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


class ImapMailbox:
    """A logged-in IMAP session (use as a context manager: it logs out on exit)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security,
        username: str,
        password: str,
        ssl_context: ssl.SSLContext,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.server = f"{host}:{port}"
        self.capabilities: frozenset[str] = frozenset()
        self._conn: imaplib.IMAP4 | None = None

    # -- session ------------------------------------------------------------------------------
    def __enter__(self) -> ImapMailbox:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def conn(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise RuntimeError("The IMAP session is not open.")
        return self._conn

    def open(self) -> None:
        conn = self._connect()
        try:
            conn.login(self.username, self.password)
        except imaplib.IMAP4.error as error:
            _shutdown(conn)
            raise AuthenticationError(
                f"The IMAP server {self.server} refused the login of {self.username!r} "
                f"({_text(str(error))}). Check the IMAP username and password.",
                path=("imap_password",),
            ) from error
        except OSError as error:
            _shutdown(conn)
            raise self._unreachable(error) from error
        self._conn = conn
        _, data = self._call("CAPABILITY", lambda: conn.capability())
        words = b" ".join(item for item in data if isinstance(item, bytes)).upper().split()
        self.capabilities = frozenset(word.decode() for word in words)
        # QRESYNC implies CONDSTORE; enabling it makes SELECT report HIGHESTMODSEQ.
        if "ENABLE" in self.capabilities:
            if "QRESYNC" in self.capabilities:
                self._call("ENABLE", lambda: conn.enable("QRESYNC"))
            elif "CONDSTORE" in self.capabilities:
                self._call("ENABLE", lambda: conn.enable("CONDSTORE"))

    def close(self) -> None:
        if self._conn is not None:
            _shutdown(self._conn)
            self._conn = None

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.capabilities or "QRESYNC" in self.capabilities

    def _connect(self) -> imaplib.IMAP4:
        try:
            if self.security == "tls":
                return imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=self.ssl_context, timeout=self.timeout
                )
            conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
        except ssl.SSLError as error:
            raise self._tls_failed(error) from error
        except imaplib.IMAP4.error as error:  # a greeting that is not IMAP's
            raise ConfigurationError(
                f"The server at {self.server} does not speak IMAP ({error}). Check the IMAP host and port.",
                path=("imap_port",),
            ) from error
        except OSError as error:
            raise self._unreachable(error) from error
        if self.security == "starttls":
            try:
                conn.starttls(ssl_context=self.ssl_context)
            except ssl.SSLError as error:
                _shutdown(conn)
                raise self._tls_failed(error) from error
            except imaplib.IMAP4.error as error:
                _shutdown(conn)
                raise ConfigurationError(
                    f"The IMAP server {self.server} does not offer STARTTLS ({error}). "
                    "Set the IMAP security to the one it supports.",
                    path=("imap_security",),
                ) from error
            except OSError as error:
                _shutdown(conn)
                raise self._unreachable(error) from error
        return conn

    def _tls_failed(self, error: Exception) -> ConfigurationError:
        return ConfigurationError(
            f"The TLS connection to the IMAP server {self.server} failed: {error}. Check the IMAP security "
            "setting (tls: TLS from the start, usually port 993; starttls: upgrade after connecting, usually "
            "143) and that the server's certificate is trusted for that host (ca_certificate for a "
            "private CA).",
            path=("imap_security",),
        )

    def _unreachable(self, error: OSError) -> TransientError:
        if isinstance(error, ConnectionRefusedError):
            reason = "the connection was refused"
        elif isinstance(error, TimeoutError | socket.timeout):
            reason = f"it did not answer within {self.timeout:g} seconds"
        else:
            reason = str(error) or type(error).__name__
        return TransientError(
            f"Cannot connect to the IMAP server {self.server}: {reason}. "
            "Check the IMAP host and port, and that the server is running.",
            path=("imap_host",),
        )

    def _call(
        self, what: str, command: Callable[[], tuple[str, Any]], *, ok: Sequence[str] = ("OK",)
    ) -> tuple[str, list[Any]]:
        try:
            typ, data = command()
        except imaplib.IMAP4.abort as error:
            raise TransientError(
                f"The IMAP server {self.server} dropped the connection ({what}: {error})."
            ) from error
        except imaplib.IMAP4.error as error:
            raise PermanentError(f"The IMAP server {self.server} refused {what}: {error}.") from error
        except OSError as error:
            raise self._unreachable(error) from error
        if typ not in ok:
            detail = _text(data[0] if data and not isinstance(data[0], tuple) else None)
            raise PermanentError(
                f"The IMAP server {self.server} refused {what}: {typ} {detail}".rstrip() + "."
            )
        return typ, list(data)

    # -- folders ------------------------------------------------------------------------------
    def folders(self) -> list[str]:
        """The names of every folder."""
        conn = self.conn
        _, data = self._call("LIST", lambda: conn.list())
        names: list[str] = []
        for item in data:
            if isinstance(item, tuple):  # a name sent as a literal
                names.append(_text(item[1]))
                continue
            if item is None:
                continue
            match = _LIST_LINE.match(item)
            if match:
                names.append(_unquote(match.group("name")))
        return names

    def missing_folder(self, folder: str) -> ConfigurationError:
        known = ", ".join(sorted(self.folders())) or "none"
        return ConfigurationError(
            f"The IMAP folder {folder!r} does not exist on {self.server} (folders: {known}).",
            path=("folders",),
        )

    def select(self, folder: str) -> FolderStatus:
        """Open ``folder`` read-only (EXAMINE: reading sets no flag)."""
        conn = self.conn
        try:
            typ, data = conn.select(quote(folder), readonly=True)
        except imaplib.IMAP4.abort as error:
            raise TransientError(
                f"The IMAP server {self.server} dropped the connection ({error})."
            ) from error
        except imaplib.IMAP4.error as error:
            raise self.missing_folder(folder) from error
        if typ != "OK":
            raise self.missing_folder(folder)
        exists = int(_text(data[0]) or 0) if data and isinstance(data[0], bytes) else 0

        def number(code: str) -> int | None:
            _, values = conn.response(code)
            value = values[-1] if values else None
            return int(_text(value)) if value is not None else None

        uidvalidity = number("UIDVALIDITY")
        if uidvalidity is None:
            raise PermanentError(f"The IMAP server {self.server} sent no UIDVALIDITY for {folder!r}.")
        return FolderStatus(
            name=folder,
            uidvalidity=uidvalidity,
            uidnext=number("UIDNEXT"),
            highestmodseq=number("HIGHESTMODSEQ") if self.condstore else None,
            exists=exists,
        )

    def create(self, folder: str) -> None:
        conn = self.conn
        self._call(f"to create the folder {folder!r}", lambda: conn.create(quote(folder)))

    # -- messages -----------------------------------------------------------------------------
    def uids_after(self, last_uid: int) -> list[int]:
        """The UIDs above ``last_uid`` in the selected folder, ascending."""
        conn = self.conn
        _, data = self._call("UID SEARCH", lambda: conn.uid("SEARCH", f"UID {last_uid + 1}:*"))
        # "n:*" always matches the highest UID, even below n.
        return sorted(uid for uid in _numbers(data) if uid > last_uid)

    def changed_since(self, last_uid: int, modseq: int) -> list[int]:
        """The UIDs up to ``last_uid`` whose flags changed after ``modseq`` (CONDSTORE)."""
        if last_uid < 1:
            return []
        conn = self.conn
        _, data = self._call(
            "UID FETCH CHANGEDSINCE",
            lambda: conn.uid("FETCH", f"1:{last_uid}", "(UID FLAGS)", f"(CHANGEDSINCE {modseq})"),
        )
        return sorted({item.uid for item in _fetched(data) if item.uid <= last_uid})

    def fetch(self, uids: Iterable[int]) -> list[FetchedMessage]:
        """The messages with these UIDs, bytes included (BODY.PEEK: no \\Seen set)."""
        wanted = sorted(set(uids))
        if not wanted:
            return []
        items = "(UID FLAGS MODSEQ BODY.PEEK[])" if self.condstore else "(UID FLAGS BODY.PEEK[])"
        conn = self.conn
        _, data = self._call("UID FETCH", lambda: conn.uid("FETCH", ",".join(map(str, wanted)), items))
        found = {item.uid: item for item in _fetched(data) if item.raw is not None}
        return [found[uid] for uid in wanted if uid in found]

    def search_message_id(self, message_id: str) -> list[int]:
        """The UIDs of the selected folder's messages with this Message-ID."""
        conn = self.conn
        _, data = self._call(
            "UID SEARCH", lambda: conn.uid("SEARCH", "HEADER", "Message-ID", quote(message_id))
        )
        return sorted(_numbers(data))

    def append(
        self, folder: str, raw: bytes, *, flags: str = "(\\Seen)", when: dt.datetime | None = None
    ) -> None:
        """Add a message to ``folder``, creating the folder when the server says TRYCREATE."""
        conn = self.conn
        moment = imaplib.Time2Internaldate(when or dt.datetime.now(dt.UTC))
        typ, data = self._call(
            f"to append to {folder!r}",
            lambda: conn.append(quote(folder), flags, moment, raw),
            ok=("OK", "NO"),
        )
        if typ == "NO":
            detail = " ".join(_text(item) for item in data if isinstance(item, bytes))
            if "TRYCREATE" not in detail.upper():
                raise PermanentError(
                    f"The IMAP server {self.server} refused to append to {folder!r}: {detail}."
                )
            self.create(folder)
            self._call(f"to append to {folder!r}", lambda: conn.append(quote(folder), flags, moment, raw))


def _shutdown(conn: imaplib.IMAP4) -> None:
    try:
        if conn.state in ("AUTH", "SELECTED"):
            conn.logout()
        else:
            conn.shutdown()
    except (imaplib.IMAP4.error, OSError):
        pass


def _numbers(data: Sequence[bytes | tuple[bytes, bytes] | None]) -> list[int]:
    numbers: list[int] = []
    for item in data:
        if isinstance(item, bytes):
            numbers.extend(int(word) for word in item.split() if word.isdigit())
    return numbers


def _fetched(data: Sequence[bytes | tuple[bytes, bytes] | None]) -> Iterator[FetchedMessage]:
    """The FETCH responses in ``data``: a literal comes as (prefix, bytes), and what follows
    it on the line (``FLAGS`` may come after the body) as the next bytes item."""
    responses: list[tuple[bytes, bytes | None]] = []
    for item in data:
        if isinstance(item, tuple):
            responses.append((item[0], item[1]))
        elif isinstance(item, bytes):
            if _RESPONSE_START.match(item) or not responses:
                responses.append((item, None))
            else:
                meta, raw = responses[-1]
                responses[-1] = (meta + b" " + item, raw)
    for meta, raw in responses:
        uid = _UID.search(meta)
        if uid is None:
            continue  # an unsolicited FETCH (another session's flag change) without UID
        flags = _FLAGS.search(meta)
        modseq = _MODSEQ.search(meta)
        yield FetchedMessage(
            uid=int(uid.group(1)),
            flags=frozenset(flags.group(1).decode().split()) if flags else frozenset(),
            modseq=int(modseq.group(1)) if modseq else None,
            raw=raw,
        )
