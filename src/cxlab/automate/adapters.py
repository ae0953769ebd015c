"""Delivery adapters: how a channel's messages leave (``[automate.delivery.<channel>]``).

- ``smtp``: the standard library's :mod:`smtplib` and :class:`email.message.EmailMessage` (a multipart
  text + HTML message when there is an HTML body), one connection per run, checked with NOOP before each
  message and reopened when the server dropped it (or closed it with a 421, the message then sent once more
  on the new one); STARTTLS verifies the server's certificate. The Message-ID is derived from the message's
  key, so it is the same on every try and a receiver can spot a duplicate. SMTP 4xx replies, connection
  errors and timeouts are transient; 5xx replies are permanent, except those asking for login or TLS (a
  setting to fix).
- ``webhook``: an HTTP POST (:mod:`urllib.request`, no extra dependency) of the message as JSON, signed with
  ``X-Cxlab-Signature: sha256=<HMAC-SHA256 of the raw body>`` under the secret in the variable named by
  ``secret_env``, with ``X-Cxlab-Timestamp`` and ``Idempotency-Key`` (the message key). 2xx is accepted;
  408, 429, 5xx and network errors are transient; other statuses (redirects included) are permanent.
- ``file``: one JSON line per message appended to ``<path>/outbox-YYYY-MM-DD.jsonl`` (the UTC day of the
  send) with a single ``write`` on an ``O_APPEND`` descriptor, then ``fsync``: each line is whole, and
  written before the outbox records the send.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from cxlab.automate import flows
from cxlab.automate.message import Adapter, Contact, Message, PermanentError, TransientError
from cxlab.config import ConfigError


def message_id(message: Message, sender: str) -> str:
    """An RFC 5322 Message-ID fixed by the message key (same on every try), in the sender's domain."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "cxlab.invalid"
    return f"<{hashlib.sha256(message.key.encode()).hexdigest()[:32]}.cxlab@{domain}>"


def payload(message: Message, contact: Contact) -> dict[str, Any]:
    """The JSON document the webhook and file adapters write for ``message``."""
    return {
        "key": message.key,
        "flow": message.flow,
        "customer_id": message.customer_id,
        "trigger_key": message.trigger_key,
        "channel": message.channel,
        "variant": message.variant,
        "language": message.language,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "to": {"email": contact.email, "phone": contact.phone, "first_name": contact.first_name},
    }


def _env(name: str | None, what: str, adapter: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"cxlab.toml: automate.delivery ({adapter}): the environment variable {name} holding the {what} is "
            "not set"
        )
    return value


class SmtpAdapter:
    """Sends e-mail through one SMTP server (see the module docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ):
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password, self.timeout = starttls, username, password, timeout
        self.tls_context = tls_context
        """STARTTLS's context; None: the system's trusted CAs, host name checked (smtplib's own default
        checks nothing)."""
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.starttls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def build(self, message: Message, contact: Contact) -> EmailMessage:
        """The e-mail for ``message`` to ``contact`` (text, plus an HTML alternative when there is one)."""
        if not contact.email:
            raise PermanentError("no e-mail address for this customer")
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = contact.email
        mail["Subject"] = message.subject or ""
        mail["Message-ID"] = message_id(message, self.sender)
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.text)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: Message, contact: Contact) -> str:
        try:
            mail = self.build(message, contact)
        except (ValueError, TypeError) as e:  # a line break in a header (injection), a malformed address
            raise PermanentError(f"cannot build the e-mail: {e}") from e
        try:
            try:
                self._connection().send_message(mail)
            except smtplib.SMTPResponseException as e:
                if e.smtp_code != 421:
                    raise
                # 421: the server closes this connection (e.g. its messages-per-connection limit) and has not
                # accepted the message, so one more try on a fresh connection can't duplicate it
                self._drop()
                self._connection().send_message(mail)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            raise _smtp_error(code, text, f"recipient {contact.email} refused") from e
        except smtplib.SMTPAuthenticationError as e:  # a setting to fix, not this message's fault
            self._drop()
            raise TransientError(
                f"SMTP login refused ({e.smtp_code}): check username and password_env"
            ) from e
        except smtplib.SMTPResponseException as e:
            raise _smtp_error(e.smtp_code, e.smtp_error, "refused") from e
        except (smtplib.SMTPException, OSError) as e:  # dropped connection, refused, timeout, TLS failure
            self._drop()
            raise TransientError(f"SMTP {self.host}:{self.port}: {type(e).__name__}: {e}") from e
        return mail["Message-ID"]

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._drop()


SETTING_CODES = {530, 534, 535, 538}
"""SMTP replies that ask for authentication or encryption: the adapter's settings are wrong, not the message,
so they are transient (retried once the setting is fixed) rather than permanent."""


def _smtp_error(code: int, text: bytes | str, what: str) -> TransientError | PermanentError:
    reply = (text.decode(errors="replace") if isinstance(text, bytes) else str(text)).strip()
    msg = f"SMTP {what}: {code} {reply}"
    if code in SETTING_CODES:
        return TransientError(f"{msg} (check starttls, username and password_env)")
    return TransientError(msg) if 400 <= code < 500 else PermanentError(msg)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is reported as the 3xx it is: the url should name the final address


class WebhookAdapter:
    """POSTs each message as signed JSON (see the module docstring)."""

    def __init__(
        self, url: str, secret: str, *, timeout: float = 10.0, clock: Callable[[], float] = time.time
    ):
        self.url, self.secret, self.timeout, self.clock = url, secret.encode(), timeout, clock
        self._opener = urllib.request.build_opener(_NoRedirect)

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def send(self, message: Message, contact: Contact) -> str:
        body = json.dumps(payload(message, contact), ensure_ascii=False, separators=(",", ":")).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "cxlab-flows",
                "X-Cxlab-Signature": self.sign(body),
                "X-Cxlab-Timestamp": str(int(self.clock())),
                "Idempotency-Key": message.key,
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, reply = response.status, response.read(65536)
        except urllib.error.HTTPError as e:
            status, reply = e.code, e.read(2048)
        except OSError as e:  # URLError, refused, timeout
            raise TransientError(f"webhook {self.url}: {getattr(e, 'reason', None) or e}") from e
        if 200 <= status < 300:
            try:
                got = json.loads(reply) if reply else None
            except ValueError:
                got = None
            return str(got["id"]) if isinstance(got, dict) and got.get("id") is not None else message.key
        detail = reply.decode(errors="replace").strip().splitlines()[0][:200] if reply.strip() else ""
        text = f"webhook {self.url}: HTTP {status}" + (f": {detail}" if detail else "")
        if status in (408, 429) or status >= 500:
            raise TransientError(text)
        raise PermanentError(text)

    def close(self) -> None:
        return None


class FileAdapter:
    """Appends each message as one JSON line to a dated file in a folder (see the module docstring)."""

    def __init__(self, folder: Path, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.folder, self.clock = folder, clock

    def send(self, message: Message, contact: Contact) -> str:
        now = self.clock().astimezone(UTC)
        doc = {**payload(message, contact), "written_at": now.isoformat(timespec="seconds")}
        line = (json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        path = self.folder / f"outbox-{now:%Y-%m-%d}.jsonl"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                written = os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:  # disk full, permissions: may be fixed before the next try
            raise TransientError(f"file outbox {path}: {e.strerror or e}") from e
        if written != len(line):
            raise TransientError(f"file outbox {path}: short write ({written} of {len(line)} bytes)")
        return f"{path.name}:{message.key}"

    def close(self) -> None:
        return None


def make_adapter(cfg: flows.Adapter, project_dir: Path | None = None) -> Adapter:
    """The adapter ``cfg`` declares; secrets are read from their environment variables now (a missing one
    is a :class:`ConfigError`); nothing connects until the first message. ``project_dir`` anchors a file
    adapter's relative ``path`` (default: the working folder)."""
    if cfg.adapter == "smtp":
        assert cfg.sender is not None
        return SmtpAdapter(
            cfg.host,
            cfg.port,
            cfg.sender,
            starttls=cfg.starttls,
            username=cfg.username,
            password=_env(cfg.password_env, "SMTP password", "smtp"),
            timeout=cfg.timeout_s,
        )
    if cfg.adapter == "webhook":
        assert cfg.url is not None
        secret = _env(cfg.secret_env, "webhook's HMAC key", "webhook")
        assert secret is not None
        return WebhookAdapter(cfg.url, secret, timeout=cfg.timeout_s)
    assert cfg.path is not None
    folder = Path(cfg.path)
    return FileAdapter(folder if folder.is_absolute() else (project_dir or Path.cwd()) / folder)


def make_adapters(delivery: dict[str, flows.Adapter], project_dir: Path | None = None) -> dict[str, Adapter]:
    """Channel → adapter for ``[automate] delivery``."""
    return {channel: make_adapter(cfg, project_dir) for channel, cfg in delivery.items()}
