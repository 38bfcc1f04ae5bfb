"""Real mail servers on loopback for the email connector's tests.

- **Dovecot** (IMAP with CONDSTORE/QRESYNC, STARTTLS and implicit TLS; LMTP on a unix
  socket) from a self-contained configuration in a temporary folder: its own base_dir,
  Maildir mail, a static passwd-file of test users, its own log. It runs in the
  foreground (``dovecot -F -c …``) as a child of the test and is stopped after it.
- **aiosmtpd** as the SMTP server (AUTH after STARTTLS) whose handler delivers each
  message over LMTP into Dovecot: Tessera → SMTP → LMTP → Dovecot → IMAP.

Without Dovecot the tests skip, saying why; under ``CI=true`` they fail instead. A test
module imports ``mail_servers_fixture`` (and ``tls_files_fixture``) to get the
``mail_servers`` fixture.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.workflows.test_mail import write_certificate_with_cryptography

PASSWORD = "pa55word"
DOMAIN = "example.com"
#: the mailbox users: the CRM's support mailbox and two customers
USERS = ("support", "ann", "bob")
SMTP_USER = "crm"
SMTP_PASSWORD = "smtp-s3cret"
#: how long to wait for a server to come up or a message to arrive
WAIT_SECONDS = 15.0


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None
    )


def require_dovecot() -> str:
    """The dovecot binary; skips the test without it (fails under ``CI=true``)."""
    binary = dovecot_binary()
    if binary is None:
        reason = (
            "Dovecot is not installed: the email connector's tests run a real IMAP server "
            "(apt-get install dovecot-imapd dovecot-lmtpd)."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Poll ``condition`` until it returns something truthy (delivery is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


@dataclass
class Dovecot:
    """A Dovecot instance in ``root`` (see the module's docstring)."""

    binary: str
    root: Path
    certificate: Path
    key: Path
    imap_port: int = field(default_factory=free_port)
    imaps_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def lmtp_socket(self) -> str:
        return str(self.root / "run" / "lmtp")

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def write_config(self) -> None:
        if os.geteuid() == 0:
            # Dovecot refuses mail access as root: mail processes run as its own user.
            internal, login = "dovecot", "dovenull"
            uid, gid = pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid
        else:
            internal = login = pwd.getpwuid(os.geteuid()).pw_name
            uid, gid = os.geteuid(), os.getegid()
        mail = self.root / "mail"
        for folder in (mail, self.root / "run", self.root / "state"):
            folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(mail, uid, gid)
        (self.root / "passwd").write_text(
            "".join(f"{user}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{mail / user}::\n" for user in USERS)
        )
        self.config_path.write_text(
            f"""
base_dir = {self.root / "run"}
state_dir = {self.root / "state"}
instance_name = tessera-test-{self.imap_port}
protocols = imap lmtp
listen = 127.0.0.1
log_path = {self.log_path}
info_log_path = {self.log_path}
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:~/Maildir
ssl = yes
ssl_cert = <{self.certificate}
ssl_key = <{self.key}
disable_plaintext_auth = no
auth_mechanisms = plain login
# Loopback counts as secure: allow many logins, do not delay failed ones.
auth_failure_delay = 0
protocol imap {{
  mail_max_userip_connections = 200
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {self.root / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {self.root / "passwd"}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
"""
        )

    def start(self) -> None:
        self.write_config()
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

        def up() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"dovecot exited at start:\n{self.log()}")
            return _port_open(self.imap_port) and os.path.exists(self.lmtp_socket)

        wait_until(up, "dovecot to listen")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            # The whole session at once (master, logins, mail processes): a test's data is
            # thrown away, so there is nothing for a graceful shutdown to save.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=WAIT_SECONDS)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    # -- helpers for tests ----------------------------------------------------------------
    def deliver(self, message: EmailMessage | bytes, *recipients: str) -> None:
        """Deliver a message straight into mailboxes over LMTP."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        for recipient in recipients:  # smtplib's LMTP reads one reply after DATA
            with smtplib.LMTP(self.lmtp_socket) as lmtp:
                lmtp.sendmail("sender@" + DOMAIN, [recipient], raw)

    @contextlib.contextmanager
    def imap(self, user: str) -> Iterator[imaplib.IMAP4]:
        """A logged-in plain IMAP session of ``user``."""
        conn = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=WAIT_SECONDS)
        try:
            conn.login(user, PASSWORD)
            yield conn
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """The raw messages of ``user``'s ``folder``, oldest first."""
        with self.imap(user) as conn:
            typ, _ = conn.select(f'"{folder}"', readonly=True)
            if typ != "OK":
                return []
            _, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
            return [item[1] for item in data if isinstance(item, tuple)]

    def wait_for_messages(self, user: str, count: int, folder: str = "INBOX") -> list[bytes]:
        def enough() -> list[bytes] | None:
            found = self.messages(user, folder)
            return found if len(found) >= count else None

        found: list[bytes] = wait_until(enough, f"{count} message(s) in {user}'s {folder}")
        return found


class LmtpRelay:
    """An aiosmtpd handler delivering every accepted message into Dovecot over LMTP."""

    def __init__(self, lmtp_socket: str) -> None:
        self.lmtp_socket = lmtp_socket
        self.delivered: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        try:
            # smtplib's LMTP reads one reply after DATA: one transaction per recipient.
            for recipient in envelope.rcpt_tos:
                with smtplib.LMTP(self.lmtp_socket) as lmtp:
                    lmtp.sendmail(envelope.mail_from or "", [recipient], content)
        except smtplib.SMTPRecipientsRefused as error:
            return f"550 5.1.1 No such mailbox: {', '.join(error.recipients)}"
        except (smtplib.SMTPException, OSError) as error:
            return f"451 4.3.0 Delivery failed for now: {error}"
        self.delivered.append(envelope)
        return "250 2.0.0 Delivered"


def smtp_authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@dataclass
class MailServers:
    """Dovecot and the SMTP server in front of it, with the certificate both present."""

    dovecot: Dovecot
    smtp: Controller
    relay: LmtpRelay
    certificate_pem: str

    @property
    def smtp_port(self) -> int:
        port: int = self.smtp.port
        return port

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A working configuration of the email connector for the support mailbox."""
        config: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp_port,
            "smtp_security": "starttls",
            "smtp_username": SMTP_USER,
            "smtp_password": SMTP_PASSWORD,
            "from_address": f"Acme Support <support@{DOMAIN}>",
            "imap_host": "127.0.0.1",
            "imap_port": self.dovecot.imap_port,
            "imap_security": "starttls",
            "imap_username": "support",
            "imap_password": PASSWORD,
            "folders": ["INBOX"],
            "sent_folder": "Sent",
            "ca_certificate": self.certificate_pem,
            "timeout_seconds": 10,
        }
        config.update(overrides)
        return config


@pytest.fixture(scope="module", name="tls_files")
def tls_files_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("mail-tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    write_certificate_with_cryptography(cert, key)
    return cert, key


@pytest.fixture(name="mail_servers")
def mail_servers_fixture(tls_files: tuple[Path, Path]) -> Iterator[MailServers]:
    """Dovecot and aiosmtpd (AUTH after STARTTLS, delivering over LMTP), fresh for each test."""
    binary = require_dovecot()
    # Not under pytest's 0700 temporary folder: Dovecot's mail processes run as its own user.
    root = Path(tempfile.mkdtemp(prefix="tessera-dovecot-"))
    root.chmod(0o755)
    cert, key = root / "cert.pem", root / "key.pem"
    shutil.copy(tls_files[0], cert)
    shutil.copy(tls_files[1], key)
    dovecot = Dovecot(binary, root, cert, key)
    controller: Controller | None = None
    try:
        dovecot.start()
        relay = LmtpRelay(dovecot.lmtp_socket)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        controller = Controller(
            relay,
            hostname="127.0.0.1",
            port=free_port(),
            server_hostname="smtp.test",
            tls_context=tls,
            require_starttls=True,
            authenticator=smtp_authenticator,
            auth_require_tls=True,
        )
        controller.start()
        yield MailServers(dovecot, controller, relay, cert.read_text())
    finally:
        if controller is not None:
            controller.stop()
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)
