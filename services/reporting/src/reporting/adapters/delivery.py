"""Report files (CSV, XLSX, PNG chart) and their delivery by email (SMTP) and webhook (HTTP POST)."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import ipaddress
import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt
from openpyxl import Workbook

from crm_common import mail
from crm_common.mail import SmtpSettings
from reporting.domain import webhooks

MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
}


@dataclass(frozen=True)
class Table:
    """A report as rows under a header; the first column labels the chart's bars, ``value`` the bar height."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    value: str


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM, so spreadsheet programs open Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table) -> bytes:
    """One worksheet named after the report."""
    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31]  # Excel's limit
    sheet.append(list(table.header))
    for row in table.rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_png(table: Table) -> bytes:
    """A bar chart of the ``value`` column per first-column label."""
    column = table.header.index(table.value)
    labels = [str(r[0]) for r in table.rows]
    values = [float(r[column]) for r in table.rows]
    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    try:
        axes.bar(labels, values)
        axes.set_title(table.title)
        axes.set_ylabel(table.value)
        axes.tick_params(axis="x", labelrotation=45)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)


def render(table: Table, fmt: str) -> bytes:
    """The table as csv, xlsx or png."""
    return {"csv": to_csv, "xlsx": to_xlsx, "png": to_png}[fmt](table)


async def send_email(
    smtp: SmtpSettings, recipients: Sequence[str], subject: str, body: str, attachments: Sequence[tuple[str, bytes]]
) -> None:
    """One message to all recipients with the attachments (`SmtpSettings` is the shared `crm_common.mail` one)."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    for filename, content in attachments:
        maintype, subtype = MEDIA_TYPES[filename.rsplit(".", 1)[1]].split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    await mail.send(smtp, message)


async def resolve_host(host: str, port: int) -> list[webhooks.Address]:
    """Every address a host name resolves to (an address literal is itself); empty when it does not resolve."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    # A scope id ("fe80::1%eth0") is not part of the address.
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


async def check_webhook(url: str, allow: webhooks.AllowList) -> tuple[webhooks.WebhookUrl, webhooks.Address]:
    """Parse the URL, resolve its host and check every address; the address to connect to.

    Raises InvalidArgument naming ``webhook_url`` when the URL may not be called.
    """
    target = webhooks.parse_url(url)
    addresses = await resolve_host(target.host, target.port)
    webhooks.check_addresses(target.host, addresses, allow)
    return target, addresses[0]


async def post_webhook(
    url: str, document: dict[str, Any], attachments: Sequence[tuple[str, bytes]], allow: webhooks.AllowList
) -> None:
    """POST the report as JSON with base64 attachments; a non-2xx answer raises (the job retries).

    The host is resolved and checked now, and the request goes to the checked address (the URL's host
    still in the Host header and, for https, in SNI and certificate verification), so a name that resolved
    to a public address when the schedule was made cannot be pointed at an internal one later. Redirects
    are not followed: their target was never checked.
    """
    target, address = await check_webhook(url, allow)
    parts = urlsplit(url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    pinned = parts._replace(netloc=f"{literal}:{target.port}").geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    body = {
        **document,
        "attachments": [
            {
                "filename": name,
                "media_type": MEDIA_TYPES[name.rsplit(".", 1)[1]],
                "content_base64": base64.b64encode(content).decode(),
            }
            for name, content in attachments
        ],
    }
    async with httpx.AsyncClient(timeout=30, follow_redirects=False, trust_env=False) as client:
        response = await client.post(
            pinned,
            content=json.dumps(body, default=str).encode(),
            headers={"Content-Type": "application/json", "Host": host_header},
            auth=auth,
            extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
        )
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"webhook answered {response.status_code}")
