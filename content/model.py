"""Typed shapes of the coach's texts, questions and red-flag rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from content.localized import Lang, LocalText

Tier = Literal["emergency", "doctor", "stop"]
TIER_ORDER: tuple[Tier, ...] = ("emergency", "doctor", "stop")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuestionText(_Strict):
    """The prompt of a question and the label of each of its options."""

    prompt: LocalText
    options: dict[str, LocalText] = Field(default_factory=dict)

    def label(self, value: str, lang: Lang) -> str:
        """The label of ``value``; an answer stored under an older version of the
        content may have lost its option: it is shown as stored, not dropped."""
        option = self.options.get(value)
        return option.get(lang) if option is not None else value


class RedFlagRule(_Strict):
    """One yes/no question of the red-flag checklist; ``yes`` means the tier's action."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    tier: Tier
    question: LocalText
    source: str = Field(min_length=3)


class TierAction(_Strict):
    """What a 'yes' in a tier means, as said to the person, and its source."""

    message: LocalText
    source: str = Field(min_length=3)


class RuleSet(_Strict):
    """The versioned red-flag checklist: emergency signs first, then doctor, then stop."""

    version: int = Field(ge=1)
    tiers: dict[Tier, TierAction]
    rules: tuple[RedFlagRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered_and_unique(self) -> RuleSet:
        ids = [r.id for r in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule ids: {duplicates}")
        ranks = [TIER_ORDER.index(r.tier) for r in self.rules]
        if ranks != sorted(ranks):
            raise ValueError("rules must be ordered by tier: emergency, doctor, stop")
        missing = set(TIER_ORDER) - set(self.tiers)
        if missing:
            raise ValueError(f"missing tier actions: {sorted(missing)}")
        return self


class Consent(_Strict):
    """The consent text; raise ``version`` when it changes, so everyone is asked again."""

    version: int = Field(ge=1)
    text: LocalText


@dataclass(frozen=True)
class Requirements:
    """What the dialogs need from content.

    ``questions`` maps each question node to its option values; ``question_params`` and
    ``messages`` map each key to the placeholders its text may use.
    """

    questions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    question_params: dict[str, frozenset[str]] = field(default_factory=dict)
    messages: dict[str, frozenset[str]] = field(default_factory=dict)
