"""Real parts for the message tests: an SMTP server (aiosmtpd) and an HTTP server on 127.0.0.1
standing in for the SMS provider's endpoint; both record what they receive."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import urllib.parse
from base64 import b64decode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Messages the SMTP server received, parsed (``email.message.EmailMessage``)."""

    def __init__(self) -> None:
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port
    try:
        yield box
    finally:
        controller.stop()


class SmsProvider(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        user, _, token = b64decode(self.headers["Authorization"].split()[1]).decode().partition(":")
        self.server.received.append({"path": self.path, "form": form, "account": user, "token": token})
        body = json.dumps({"sid": f"SM{len(self.server.received)}", "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def sms_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SmsProvider)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/2010-04-01"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
