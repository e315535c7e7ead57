"""Texts in both languages the bot speaks."""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

Lang = Literal["de", "en"]
LANGS: tuple[Lang, ...] = ("de", "en")


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields a text expects."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class LocalText(BaseModel):
    """One text in German and English; both must be present and use the same placeholders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    de: str
    en: str

    @field_validator("de", "en")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _same_placeholders(self) -> LocalText:
        if placeholders(self.de) != placeholders(self.en):
            raise ValueError(
                f"de and en use different placeholders: "
                f"{sorted(placeholders(self.de))} vs {sorted(placeholders(self.en))}"
            )
        return self

    def get(self, lang: Lang) -> str:
        return self.de if lang == "de" else self.en

    def format(self, lang: Lang, **params: object) -> str:
        return self.get(lang).format(**params)
