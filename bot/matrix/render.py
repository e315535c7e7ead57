"""An outbox message as Matrix event content, and its transaction id.

Options become a numbered list, in the plain body for every client and as HTML for
those that render it; people answer with the number, the words or a number reaction.
A message's file is posted after it as an event of its own (``files``).
"""

from __future__ import annotations

import hashlib
import html
import uuid
from typing import Any

from bot.transport import Outgoing

HTML = "org.matrix.custom.html"


def content(message: Outgoing) -> dict[str, Any]:
    # A command option (open an article, unsubscribe) is typed, so show the command.
    labels = [
        f"{o.label}: {o.value}" if o.value.startswith("/") else o.label for o in message.options
    ]
    body = message.text
    if labels:
        body += "\n\n" + "\n".join(f"{i}. {label}" for i, label in enumerate(labels, 1))
    formatted = _paragraphs(message.text)
    if labels:
        items = "".join(f"<li>{html.escape(label)}</li>" for label in labels)
        formatted += f"<ol>{items}</ol>"
    return {"msgtype": "m.text", "body": body, "format": HTML, "formatted_body": formatted}


def transaction_id(key: str) -> str:
    """Stable for an outbox key, so a retried PUT is the same transaction (posts once).

    A hash, because keys may hold characters a URL path should not, and to keep it short.
    """
    if not key:
        return uuid.uuid4().hex  # no outbox row behind it: nothing to make idempotent
    return "bc-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def file_key(key: str) -> str:
    """The key of a message's file event: posted apart from its text, so its own id."""
    return f"{key}:file" if key else ""  # no key: a fresh id, as for the text


def _paragraphs(text: str) -> str:
    blocks = [block for block in text.split("\n\n") if block.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>"
        for block in blocks
    )
