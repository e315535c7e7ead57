"""What a step may consult besides the state: the time, the content, the defaults.

Passed in by the shell, so the core never reads a clock or a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from content.loader import Content
from content.localized import Lang


class IntentMatch(Protocol):
    @property
    def intent(self) -> str: ...
    @property
    def lang(self) -> Lang | None: ...


class Intents(Protocol):
    """Recognises what free text means: entry phrases, emergency signs, yes and no."""

    def detect(self, text: str) -> IntentMatch | None: ...
    def yes_no(self, text: str) -> bool | None: ...
    def guess_language(self, text: str) -> Lang | None: ...


@dataclass(frozen=True)
class Context:
    now: datetime  # aware, UTC
    content: Content
    intents: Intents
    default_lang: Lang = "de"
    default_tz: str = "Europe/Berlin"
    lang_hint: Lang | None = None  # e.g. the Telegram client's language on first contact
    popular: tuple[str, ...] = ()  # article slugs, most read in the last weeks first
