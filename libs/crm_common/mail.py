"""Sending one email over SMTP: STARTTLS when asked for and offered, login when a user is set.

smtplib blocks, so `send` runs it in a worker thread; each call is one connection (a message at a time, as
reports and campaign deliveries are sent). smtplib's exceptions reach the caller unchanged, so it can tell a
refused recipient (``SMTPRecipientsRefused``) from a server it could not reach (``OSError``).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes out, and as whom."""

    host: str
    port: int
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    timeout: float = 30.0


class StartTlsUnavailable(smtplib.SMTPException):
    """STARTTLS was asked for and a password would follow, but the server did not offer it: the password is
    not sent in clear (a man in the middle strips STARTTLS from the EHLO answer to read it)."""


def send_blocking(smtp: SmtpSettings, message: EmailMessage) -> None:
    """Deliver ``message`` to its own recipients (From/To/Cc/Bcc headers)."""
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
        if smtp.starttls:
            client.ehlo()
            if client.has_extn("starttls"):
                # The system's trust store, with host name checks (SSL_CERT_FILE points it elsewhere).
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            elif smtp.user:
                raise StartTlsUnavailable("the SMTP server does not offer STARTTLS")
        if smtp.user:
            client.login(smtp.user, smtp.password)
        client.send_message(message)


async def send(smtp: SmtpSettings, message: EmailMessage) -> None:
    """`send_blocking` in a worker thread."""
    await asyncio.to_thread(send_blocking, smtp, message)
