"""Report files (CSV, XLSX, PNG chart) and their delivery by email (SMTP) and webhook (HTTP POST)."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import smtplib
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt
from openpyxl import Workbook

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


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes out."""

    host: str
    port: int
    sender: str


def _send_mail(smtp: SmtpSettings, message: EmailMessage) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
        client.send_message(message)


async def send_email(
    smtp: SmtpSettings, recipients: Sequence[str], subject: str, body: str, attachments: Sequence[tuple[str, bytes]]
) -> None:
    """One message to all recipients with the attachments; smtplib blocks, so it runs in a thread."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    for filename, content in attachments:
        maintype, subtype = MEDIA_TYPES[filename.rsplit(".", 1)[1]].split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    await asyncio.to_thread(_send_mail, smtp, message)


def _post(url: str, payload: bytes) -> int:
    request = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


async def post_webhook(url: str, document: dict[str, Any], attachments: Sequence[tuple[str, bytes]]) -> None:
    """POST the report as JSON with base64 attachments; a non-2xx answer raises (the job retries)."""
    body = {
        **document,
        "attachments": [
            {"filename": name, "media_type": MEDIA_TYPES[name.rsplit(".", 1)[1]],
             "content_base64": base64.b64encode(content).decode()}
            for name, content in attachments
        ],
    }
    status = await asyncio.to_thread(_post, url, json.dumps(body, default=str).encode())
    if not 200 <= status < 300:
        raise RuntimeError(f"webhook answered {status}")
