"""A local SMTP server (aiosmtpd) that keeps what it receives, for the delivery tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

TEST_CERT = """\
-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUNmRw+INVehgvRvhHD0v2x23GVEEwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMzEzMzAzNVoYDzIxMjYxMTA5
MTMzMDM1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATAORVc/jVpBb4y0AkxYcE8Koj8X9jnk0jqBV9/Fjxt/9gS4zOBT8he
h7UpzG/U7miJxBJziTdlv99KQ/kQ8wW/o28wbTAdBgNVHQ4EFgQUMZCxkeyg1DlD
w4ZRRspoovr7PggwHwYDVR0jBBgwFoAUMZCxkeyg1DlDw4ZRRspoovr7PggwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSAAwRQIhAPudMvZIoXsUo8A6P3GMCfeuOp4+w9VfrcLxkraXiC5uAiBe
iLN4vToOd/BlHmEl2KaEbGCp7LdcSLIX4JZeFL86+Q==
-----END CERTIFICATE-----
"""
"""A self-signed certificate for 127.0.0.1 and localhost, valid until 2126 (test use only)."""
TEST_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHT/2EZNK9RfcDZh9
3DDcgJJmslXZ4Rn7xNGibsxzWBmhRANCAATAORVc/jVpBb4y0AkxYcE8Koj8X9jn
k0jqBV9/Fjxt/9gS4zOBT8heh7UpzG/U7miJxBJziTdlv99KQ/kQ8wW/
-----END PRIVATE KEY-----
"""


def tls_contexts(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with the test certificate, client context trusting only it)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_text(TEST_CERT, encoding="ascii")
    key.write_text(TEST_KEY, encoding="ascii")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    """aiosmtpd handler: refuses the recipients in ``refuse`` (address → reply such as ``"451 later"``) at
    RCPT, answers ``data_reply`` to DATA when set, else keeps the message and calls ``on_message`` (with the
    message and how many came before it) before answering 250. ``data_delay`` seconds pass before that answer
    (a slow server: the client may time out after the message was kept); ``drop_after_data`` closes the
    connection instead of answering (the message kept)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.data_reply: str | None = None
        self.data_replies: list[str] = []
        """Replies to the next DATA commands, one each, before ``data_reply`` or acceptance."""
        self.on_message: Callable[[EmailMessage, int], None] | None = None
        self.data_delay = 0.0
        self.drop_after_data = False
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply is not None:
            return self.data_reply
        if self.data_replies:
            return self.data_replies.pop(0)
        msg = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        assert isinstance(msg, EmailMessage)
        with self.lock:
            before = len(self.messages)
            self.messages.append(msg)
        if self.on_message is not None:
            self.on_message(msg, before)
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.drop_after_data:
            server.transport.close()
        return "250 Message accepted for delivery"

    def by_message_id(self) -> dict[str, int]:
        """Message-ID → how many times it arrived."""
        out: dict[str, int] = {}
        for m in self.messages:
            out[str(m["Message-ID"])] = out.get(str(m["Message-ID"]), 0) + 1
        return out


def password_check(user: str, password: str) -> Callable[..., AuthResult]:
    """An aiosmtpd authenticator accepting only ``user``/``password`` (AUTH PLAIN/LOGIN)."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)  # the server answers 235 or 535

    return check


@contextmanager
def smtp_server(**server_kwargs: Any) -> Iterator[tuple[Recorder, int]]:
    """A running server on a free local port: (its handler, the port); ``server_kwargs`` go to aiosmtpd's
    SMTP (e.g. ``authenticator``, ``auth_required``)."""
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **server_kwargs)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
