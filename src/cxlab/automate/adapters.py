"""Delivery adapters: how a channel's messages leave (``[automate.delivery.<channel>]``).

Every adapter answers one of four ways: sent (the receiver's id), :class:`TransientError` (the message surely
did not leave: retried), :class:`PermanentError` (refused: given up) or :class:`InDoubt` (it may have left but
no answer said so: never sent again, so delivery stays at most once). Error texts hold reply codes and fixed
words, never contact data (server text is kept only with addresses and phone numbers removed) nor the webhook
URL (it may hold a token).

- ``smtp``: the standard library's :mod:`smtplib` and :class:`email.message.EmailMessage` (a multipart
  text + HTML message when there is an HTML body), one connection per run, checked with NOOP before each
  message and reopened when the server dropped it (or closed it with a 421, the message then sent once more
  on the new one). TLS is STARTTLS (port 587) or implicit (SMTP_SSL, port 465), the server's certificate
  and host name verified against the system's CAs or ``cafile``; ``none`` is for a local relay. The
  Message-ID is derived from the message's key, so it is the same on every try and a receiver can spot a
  duplicate. The contact's e-mail must be exactly one address (the only envelope recipient). ``List-Unsubscribe``
  from the composer's headers is sent through, with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
  (RFC 8058) when it offers an https URL. A definite 4xx reply, a failed connection or a failure before the
  message's final "." was written is transient; 5xx replies are permanent, except those asking for login or
  TLS (a setting to fix); a timeout or a dropped connection after the final "." is in doubt.
- ``webhook``: an HTTP POST (:mod:`http.client`, no extra dependency, no redirects followed) of the message as
  JSON, with only the contact field its channel needs (``email`` or ``phone``) and ``first_name``. Headers:
  ``X-Cxlab-Timestamp: <unix seconds>``, ``Idempotency-Key: <message key>`` (the same on every try) and
  ``X-Cxlab-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`` under the secret in the variable
  named by ``secret_env``. A receiver recomputes the signature over the timestamp header, a ".", and the raw
  body, compares in constant time, rejects a timestamp more than 5 minutes from its clock, and drops a
  repeated Idempotency-Key: a captured request can't be replayed later, nor a retry processed twice. 2xx is
  accepted; 408, 429, 5xx and a failure before the request was sent are transient; other statuses (redirects
  included) are permanent; no status after the request was sent (a timeout, a reset) is in doubt.
- ``file``: one JSON line per message appended to ``<path>/outbox-YYYY-MM-DD.jsonl`` (the UTC day of the
  send) with a single ``write`` on an ``O_APPEND`` descriptor, then ``fsync``: each line is whole, and
  written before the outbox records the send.
"""

from __future__ import annotations

import contextlib
import email.policy
import hashlib
import hmac
import http.client
import json
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cxlab.automate import flows
from cxlab.automate.contacts import CHANNEL_FIELD, redact, single_address
from cxlab.automate.message import Adapter, Contact, InDoubt, Message, PermanentError, TransientError
from cxlab.config import ConfigError

RESERVED_HEADERS = frozenset(
    {"from", "sender", "to", "cc", "bcc", "subject", "message-id", "date", "return-path", "content-type"}
)
"""Headers the adapter sets itself (or that would add recipients): a composer's header may not set them."""
ONE_CLICK = ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
MAIL_POLICY = email.policy.default.clone(max_line_length=998)
"""RFC 5322's hard line limit rather than the default 78: a long header is then never folded, and a long
``List-Unsubscribe`` URL is never RFC 2047-encoded (which would break it)."""


def message_id(message: Message, sender: str) -> str:
    """An RFC 5322 Message-ID fixed by the message key (same on every try), in the sender's domain."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "cxlab.invalid"
    return f"<{hashlib.sha256(message.key.encode()).hexdigest()[:32]}.cxlab@{domain}>"


def payload(message: Message, contact: Contact) -> dict[str, Any]:
    """The JSON document the webhook and file adapters write for ``message``: the contact field its channel
    needs (``email`` or ``phone``) and ``first_name``, nothing more of the contact."""
    attr = CHANNEL_FIELD.get(message.channel, (message.channel, ""))[0]
    to = {attr: getattr(contact, attr, None)} if attr in ("email", "phone") else {}
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
        "to": {**to, "first_name": contact.first_name},
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


class _DataTracking(smtplib.SMTP):
    """An SMTP connection that notes when a message's body and its final "." have been written: a failure
    after that, without a reply, leaves the message's fate unknown (smtplib reports both cases alike)."""

    body_sent = False
    _in_data = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.body_sent, self._in_data = False, True
        try:
            return super().data(msg)
        finally:
            self._in_data = False

    def send(self, s: Any) -> None:
        super().send(s)
        if self._in_data and isinstance(s, bytes):  # DATA itself goes as str; after its 354, the body + "."
            self.body_sent = True


class _Smtp(_DataTracking):
    pass


class _SmtpSsl(_DataTracking, smtplib.SMTP_SSL):
    pass


class SmtpAdapter:
    """Sends e-mail through one SMTP server (see the module docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        tls: Literal["starttls", "implicit", "none"] = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ):
        self.host, self.port, self.sender, self.tls = host, port, sender, tls
        self.username, self.password, self.timeout = username, password, timeout
        self.tls_context = tls_context
        """The TLS context; None: the system's trusted CAs, host name checked (smtplib's own default for
        STARTTLS checks nothing)."""
        self._smtp: _DataTracking | None = None

    def _connection(self) -> _DataTracking:
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        context = self.tls_context or ssl.create_default_context()
        smtp: _DataTracking = (
            _SmtpSsl(self.host, self.port, timeout=self.timeout, context=context)
            if self.tls == "implicit"
            else _Smtp(self.host, self.port, timeout=self.timeout)
        )
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.tls == "starttls":
                smtp.starttls(context=context)
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
        try:
            to = single_address(contact.email)
        except ValueError as e:
            raise PermanentError(str(e)) from None
        mail = EmailMessage(policy=MAIL_POLICY)
        mail["From"] = self.sender
        mail["To"] = to
        mail["Subject"] = message.subject or ""
        mail["Message-ID"] = message_id(message, self.sender)
        for name, value in message.headers.items():
            if name.strip().lower() in RESERVED_HEADERS:
                raise ValueError(f"the composer may not set the {name.strip()} header")
            mail[name] = value
        unsubscribe = mail["List-Unsubscribe"]
        if unsubscribe is not None and "<https://" in str(unsubscribe) and ONE_CLICK[0] not in mail:
            mail[ONE_CLICK[0]] = ONE_CLICK[1]
        mail.set_content(message.text)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def _send_once(self, mail: EmailMessage) -> None:
        smtp = self._connection()
        smtp.body_sent = False  # a reused connection: the flag may still hold the previous message's
        try:
            smtp.send_message(mail, to_addrs=[str(mail["To"])])
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            raise  # a definite reply
        except (smtplib.SMTPException, OSError) as e:
            if smtp.body_sent:
                self._drop()
                raise InDoubt(
                    f"SMTP {self.host}:{self.port}: no reply after the message was sent ({type(e).__name__}); "
                    "it may have been delivered: not sent again"
                ) from e
            raise

    def send(self, message: Message, contact: Contact) -> str:
        try:
            mail = self.build(message, contact)
        except (ValueError, TypeError) as e:  # a line break in a header (injection), a reserved header
            raise PermanentError(f"cannot build the e-mail: {redact(str(e))}") from e
        try:
            try:
                self._send_once(mail)
            except smtplib.SMTPResponseException as e:
                if e.smtp_code != 421:
                    raise
                # 421: the server closes this connection (e.g. its messages-per-connection limit) and has not
                # accepted the message, so one more try on a fresh connection can't duplicate it
                self._drop()
                self._send_once(mail)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            raise _smtp_error(code, text, "recipient refused") from None
        except smtplib.SMTPAuthenticationError as e:  # a setting to fix, not this message's fault
            self._drop()
            raise TransientError(
                f"SMTP login refused ({e.smtp_code}): check username and password_env"
            ) from None
        except smtplib.SMTPResponseException as e:
            raise _smtp_error(e.smtp_code, e.smtp_error, "refused") from None
        except (smtplib.SMTPException, OSError) as e:  # no connection, refused, TLS failure, before the "."
            self._drop()
            detail = redact(str(e).strip().splitlines()[0][:200]) if str(e).strip() else ""
            raise TransientError(
                f"SMTP {self.host}:{self.port}: {type(e).__name__}" + (f": {detail}" if detail else "")
            ) from None
        return str(mail["Message-ID"])

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._drop()


SETTING_CODES = {530, 534, 535, 538}
"""SMTP replies that ask for authentication or encryption: the adapter's settings are wrong, not the message,
so they are transient (retried once the setting is fixed) rather than permanent."""


def _smtp_error(code: int, text: bytes | str, what: str) -> TransientError | PermanentError:
    """The error for a definite SMTP reply: its code and its text with addresses and numbers removed."""
    reply = (text.decode(errors="replace") if isinstance(text, bytes) else str(text)).strip()
    reply = redact(" ".join(reply.split())[:200])
    msg = f"SMTP {what}: {code} {reply}".rstrip()
    if code in SETTING_CODES:
        return TransientError(f"{msg} (check tls, username and password_env)")
    return TransientError(msg) if 400 <= code < 500 else PermanentError(msg)


class WebhookAdapter:
    """POSTs each message as signed JSON (see the module docstring)."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        tls_context: ssl.SSLContext | None = None,
    ):
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018  (raises on a malformed port)
        except ValueError:
            raise ValueError("the webhook url's port is not a number from 1 to 65535") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a webhook url must be http(s)://host/...")
        self.url, self.secret, self.timeout, self.clock = url, secret.encode(), timeout, clock
        self.tls_context = tls_context
        self._parts = parts
        self.name = f"webhook {parts.hostname}"
        """How errors name the receiver: its host only (the url's path or query may hold a token)."""

    def sign(self, timestamp: str, body: bytes) -> str:
        """``v1=`` and the hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
        signed = timestamp.encode() + b"." + body
        return "v1=" + hmac.new(self.secret, signed, hashlib.sha256).hexdigest()

    def _connection(self) -> http.client.HTTPConnection:
        p = self._parts
        if p.scheme == "https":
            context = self.tls_context or ssl.create_default_context()
            return http.client.HTTPSConnection(
                p.hostname or "", p.port, timeout=self.timeout, context=context
            )
        return http.client.HTTPConnection(p.hostname or "", p.port, timeout=self.timeout)

    def send(self, message: Message, contact: Contact) -> str:
        body = json.dumps(payload(message, contact), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "cxlab-flows",
            "X-Cxlab-Timestamp": timestamp,
            "X-Cxlab-Signature": self.sign(timestamp, body),
            "Idempotency-Key": message.key,
        }
        target = (self._parts.path or "/") + (f"?{self._parts.query}" if self._parts.query else "")
        conn = self._connection()
        try:
            try:
                conn.request("POST", target, body=body, headers=headers)
            except (OSError, http.client.HTTPException) as e:  # not connected, or the body not all written
                raise TransientError(f"{self.name}: request not sent ({_reason(e)})") from None
            try:
                response = conn.getresponse()
                status = response.status
            except (OSError, http.client.HTTPException) as e:
                raise InDoubt(
                    f"{self.name}: no HTTP status after the request was sent ({_reason(e)}); it may have been "
                    "delivered: not sent again"
                ) from None
            try:
                reply = response.read(65536) if 200 <= status < 300 else b""
            except (OSError, http.client.HTTPException):
                reply = b""  # the status said accepted; the id is only a nicety
        finally:
            conn.close()
        if 200 <= status < 300:
            try:
                got = json.loads(reply) if reply else None
            except ValueError:
                got = None
            return str(got["id"]) if isinstance(got, dict) and got.get("id") is not None else message.key
        text = f"{self.name}: HTTP {status}"
        if status in (408, 429) or status >= 500:
            raise TransientError(text)
        raise PermanentError(text)

    def close(self) -> None:
        return None


def _reason(e: BaseException) -> str:
    """A failure's kind, and its text when that is only the socket's words (no URL, no server text)."""
    if isinstance(e, ssl.SSLError | ssl.CertificateError | ConnectionError | TimeoutError):
        reason = getattr(e, "reason", None) or getattr(e, "strerror", None)
        return f"{type(e).__name__}: {reason}" if reason else type(e).__name__
    return type(e).__name__


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
    adapter's relative ``path`` and a relative ``cafile`` (default: the working folder)."""
    base = project_dir or Path.cwd()
    if cfg.adapter == "smtp":
        assert cfg.sender is not None
        context = None
        if cfg.cafile is not None:
            cafile = Path(cfg.cafile) if Path(cfg.cafile).is_absolute() else base / cfg.cafile
            try:
                context = ssl.create_default_context(cafile=str(cafile))
            except (OSError, ssl.SSLError) as e:
                raise ConfigError(
                    f"cxlab.toml: automate.delivery (smtp): cafile {cafile} can't be read as PEM CA "
                    f"certificates: {e}"
                ) from e
        return SmtpAdapter(
            cfg.host,
            cfg.port,
            cfg.sender,
            tls=cfg.tls,
            username=cfg.username,
            password=_env(cfg.password_env, "SMTP password", "smtp"),
            timeout=cfg.timeout_s,
            tls_context=context,
        )
    if cfg.adapter == "webhook":
        assert cfg.url is not None
        secret = _env(cfg.secret_env, "webhook's HMAC key", "webhook")
        assert secret is not None
        return WebhookAdapter(cfg.url, secret, timeout=cfg.timeout_s)
    assert cfg.path is not None
    folder = Path(cfg.path)
    return FileAdapter(folder if folder.is_absolute() else base / folder)


def make_adapters(delivery: dict[str, flows.Adapter], project_dir: Path | None = None) -> dict[str, Adapter]:
    """Channel → adapter for ``[automate] delivery``."""
    return {channel: make_adapter(cfg, project_dir) for channel, cfg in delivery.items()}
