"""The console transport and chat loop: the coach in a terminal, scriptable from stdin.

A line holding only a number picks that option of the last message that had options;
``::advance 1d`` (or ``3h``, ``30m``) moves the simulated clock and lets due check-ins
arrive; ``::now`` prints the simulated time.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol, TextIO

from bot.transport import Attachment, Delivery, Outgoing, SendResult
from dialogs import Choice, Event, Text

ADVANCE = re.compile(r"^::advance\s+(\d+)\s*([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class Advanceable(Protocol):
    def advance(self, delta: timedelta) -> object: ...


@dataclass
class ConsoleTransport:
    """Prints each message and its options as ``[1] Label`` lines."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    files_dir: Path = Path("data") / "files"
    prefix: str = "console"
    show_recipient: bool = False
    last_options: dict[str, Outgoing] = field(default_factory=dict)

    async def send(self, address: str, message: Outgoing) -> SendResult:
        head = f"[{address.split(':', 1)[1]}] " if self.show_recipient else ""
        text = message.text.replace("**", "")  # a terminal has no bold
        lines = [head + text] if text.strip() or message.attachment is None else []
        if message.attachment is not None:
            # A file without a caption (the export's, the summary's) stands on its own line.
            saved = f"[file] {self._save(address, message.attachment)}"
            lines.append(saved if lines else head + saved)
        lines += [f"[{i}] {option.label}" for i, option in enumerate(message.options, 1)]
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()
        if message.options:
            self.last_options[address] = message
        return SendResult(Delivery.SENT)

    def _save(self, address: str, attachment: Attachment) -> Path:
        """Files land in the data directory; the path is what the terminal shows."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        who = re.sub(r"[^A-Za-z0-9_-]", "_", address.split(":", 1)[-1])
        path = self.files_dir / f"{who}-{attachment.filename}"
        path.write_bytes(attachment.data)
        return path

    def to_event(self, address: str, line: str) -> Event:
        """A number picks an option of the last question; anything else is text."""
        last = self.last_options.get(address)
        number = line.strip()
        if last is not None and number.isdigit() and 1 <= int(number) <= len(last.options):
            value = last.options[int(number) - 1].value
            if value.startswith("/"):  # a command option, such as opening an article
                return Text(value)
            if last.question:
                return Choice(question=last.question, value=value)
        return Text(line)


def parse_advance(line: str) -> timedelta | None:
    match = ADVANCE.match(line.strip())
    if match is None:
        return None
    return timedelta(**{UNITS[match[2]]: int(match[1])})
