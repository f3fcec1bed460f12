"""How messages leave: email over SMTP (plain text + HTML, an iCalendar attachment for the session)
and SMS through one small provider interface, with an HTTP adapter in the shape of Twilio's message
API (``POST {SMS_URL}/Accounts/{SMS_ACCOUNT}/Messages.json`` with ``To``, ``From``, ``Body`` and basic
auth). Without ``SMS_URL`` there is no SMS channel and SMS patients are reached by email.
"""

from __future__ import annotations

import base64
import json
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol


class DeliveryError(Exception):
    """The channel refused or could not take the message (retried with backoff)."""


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str
    text: str
    html: str | None = None
    ics: bytes | None = None


class Channel(Protocol):
    def send(self, message: Outgoing) -> str:
        """Deliver; answer the provider's id for the message. Raises DeliveryError."""


@dataclass(frozen=True)
class Email:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 15.0

    def send(self, message: Outgoing) -> str:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.to, message.subject
        mail["Message-ID"] = msgid = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        if message.ics:
            mail.add_attachment(message.ics, maintype="text", subtype="calendar", filename="appointment.ics")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        return msgid


@dataclass(frozen=True)
class TwilioSms:
    url: str
    account: str
    token: str
    sender: str
    timeout: float = 15.0

    def send(self, message: Outgoing) -> str:
        endpoint = f"{self.url.rstrip('/')}/Accounts/{urllib.parse.quote(self.account)}/Messages.json"
        body = urllib.parse.urlencode({"To": message.to, "From": self.sender, "Body": message.text}).encode()
        auth = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        request = urllib.request.Request(
            endpoint,
            data=body,
            method="POST",
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                payload = answer.read()
        except (OSError, urllib.error.URLError) as exc:
            raise DeliveryError(f"SMS provider: {exc}") from exc
        try:
            return str(json.loads(payload).get("sid", ""))
        except (ValueError, AttributeError):
            return ""


def from_config(config: Mapping) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if config.get("SMTP_HOST"):
        channels["email"] = Email(
            host=config["SMTP_HOST"],
            port=int(config.get("SMTP_PORT") or 25),
            sender=config.get("MAIL_FROM") or "scheduler@localhost",
            username=config.get("SMTP_USERNAME") or None,
            password=config.get("SMTP_PASSWORD") or None,
            starttls=bool(config.get("SMTP_STARTTLS")),
        )
    if config.get("SMS_URL"):
        channels["sms"] = TwilioSms(
            url=config["SMS_URL"],
            account=config.get("SMS_ACCOUNT") or "",
            token=config.get("SMS_TOKEN") or "",
            sender=config.get("SMS_FROM") or "",
        )
    return channels
