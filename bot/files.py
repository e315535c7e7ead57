"""Files a person asks for, built from what is stored and put in the outbox like messages.

The export (JSON and CSV), the pain chart (PNG) and the summary for a physio or doctor
(PDF) are made inside the same transaction as the step that asked for them, so they
show exactly what was stored at that moment. The outbox carries them base64-encoded;
they are deleted with everything else on /delete.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import store
from bot.charts import pain_chart_png, progress_line
from bot.export import export_user
from bot.summary_document import build_summary
from bot.transport import Attachment
from content.loader import Content
from content.localized import Lang
from dialogs.actions import FileKind


@dataclass(frozen=True)
class File:
    caption: str
    attachment: Attachment


async def build(
    session: AsyncSession,
    user_id: int,
    kind: FileKind,
    content: Content,
    lang: Lang,
    now: datetime,
) -> list[File]:
    export = await export_user(session, user_id, now)
    day = export.exported_at.date().isoformat()
    if kind == "export":
        return [
            File("", Attachment(f"backcoach-{day}.json", "application/json", export.json_bytes())),
            File("", Attachment(f"backcoach-pain-{day}.csv", "text/csv", export.pain_csv_bytes())),
        ]
    episodes = [e.seq for e in export.episodes]
    if not episodes:
        return []
    if kind == "progress":
        scores = export.scores(max(episodes))
        png = pain_chart_png(scores, lang)
        return [File(progress_line(scores, lang), Attachment(f"pain-{day}.png", "image/png", png))]
    summary = build_summary(export, content)
    if summary is None:
        return []
    pdf = Attachment(f"summary-{day}.pdf", "application/pdf", summary.pdf_bytes())
    return [File("", pdf)]


def outbox_row(
    *, user_id: int, address: str, key: str, file: File, now: datetime, undeliverable: str
) -> dict[str, Any]:
    """The outbox row of ``file``; ``undeliverable`` is what the person is told if the
    platform refuses the file for good (the sender has no content of its own to say it)."""
    attachment = file.attachment
    payload = {
        "text": file.caption,
        "undeliverable": undeliverable,
        "attachment": {
            "filename": attachment.filename,
            "mime": attachment.mime,
            "data": base64.b64encode(attachment.data).decode("ascii"),
        },
    }
    return store.payload_row(user_id, address, key, payload, store.REPLY, now)
