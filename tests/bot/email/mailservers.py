"""Real mail servers for the email tests: Dovecot (IMAPS) and aiosmtpd, on 127.0.0.1 only.

Dovecot runs from a configuration written into the test's own folder: a self-signed
certificate made with openssl, one static test user, maildir storage in the folder, and an
IMAPS listener on a free port. It is started in the foreground (`dovecot -F`) and stopped by
the fixture. Debian's `dovecot-imapd` package provides it (.ci/run installs it when missing).
"""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from channels.email.settings import PROCESSED_KEYWORD
from tests.bot.servers import free_port

MAILBOX_USER = "support@union.example"
MAILBOX_PASSWORD = "mailbox-test-password-0123"  # noqa: S105 - a throwaway test account


def dovecot_binary() -> str | None:
    """Where dovecot is installed, if it is."""
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)), None
    )


@dataclass
class Mailbox:
    """The test mailbox, over the same IMAPS the poller uses."""

    host: str
    port: int
    ca_file: Path
    user: str = MAILBOX_USER
    password: str = MAILBOX_PASSWORD

    def env(self) -> dict[str, str]:
        """The MEMBERDESK_IMAP_* settings that point the poller here."""
        return {
            "MEMBERDESK_IMAP_HOST": self.host,
            "MEMBERDESK_IMAP_PORT": str(self.port),
            "MEMBERDESK_IMAP_USER": self.user,
            "MEMBERDESK_IMAP_PASSWORD": self.password,
            "MEMBERDESK_IMAP_CA_FILE": str(self.ca_file),
            "MEMBERDESK_IMAP_FOLDER": "INBOX",
        }

    @contextmanager
    def session(self) -> Iterator[imaplib.IMAP4_SSL]:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=30)
        client.login(self.user, self.password)
        client.select("INBOX")
        try:
            yield client
        finally:
            client.logout()

    def deliver(self, *raws: bytes) -> None:
        """Put messages in the INBOX as a mail server would."""
        with self.session() as client:
            for raw in raws:
                status, detail = client.append("INBOX", None, None, raw)
                assert status == "OK", detail

    def message_ids(self, *, processed: bool | None = None,
                    keyword: str | None = None) -> list[str]:
        """Message-IDs in the INBOX (not deleted), optionally only (un)processed ones, or only
        those with `keyword`."""
        criteria = ["NOT", "DELETED"]
        if processed is True:
            criteria += ["KEYWORD", PROCESSED_KEYWORD]
        elif processed is False:
            criteria += ["UNKEYWORD", PROCESSED_KEYWORD]
        if keyword is not None:
            criteria += ["KEYWORD", keyword]
        with self.session() as client:
            _, found = client.uid("SEARCH", *criteria)
            ids = []
            for uid in (found[0] or b"").decode().split():
                _, data = client.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                header = next(item[1] for item in data if isinstance(item, tuple))
                ids.append(header.decode().split(":", 1)[1].strip())
            return ids

    def unseen_count(self) -> int:
        """Messages no one has read: the poller peeks, so staff still see mail as new."""
        with self.session() as client:
            _, found = client.uid("SEARCH", "UNSEEN")
            return len((found[0] or b"").split())


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603, S607 - openssl with fixed arguments
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited with {process.returncode}:\n{log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"dovecot did not listen on {port}:\n{log.read_text()}")


@contextmanager
def dovecot(folder: Path) -> Iterator[Mailbox]:
    """A Dovecot IMAPS server holding one test mailbox, in `folder`."""
    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd)")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    cert, key = _certificate(folder)
    # Mail is stored as the dovecot system user (Dovecot refuses root; the package creates the
    # user), which cannot enter pytest's private temporary folders: the mail lives beside them.
    home = Path(tempfile.mkdtemp(prefix="memberdesk-test-mail-"))
    home.chmod(0o755)
    shutil.chown(home, "dovecot", "dovecot")
    port = free_port()
    config = folder / "dovecot.conf"
    config.write_text(f"""\
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = static
  args = password={MAILBOX_PASSWORD}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={home}/%u
}}
mail_location = maildir:~/Maildir
""")
    log = folder / "dovecot.out"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - the system's dovecot, our own config
            [binary, "-F", "-c", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_port(port, process, folder / "dovecot.log")
        yield Mailbox(host="127.0.0.1", port=port, ca_file=cert)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class SmtpSink:
    """A real SMTP server that keeps what it is sent."""

    port: int
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages sent to `address`."""
        return [message for recipients, message in self.received if address in recipients]


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """aiosmtpd on a free 127.0.0.1 port, stopped afterwards."""
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
