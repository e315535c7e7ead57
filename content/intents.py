"""The intent file: which words mean back pain, an emergency, yes or no.

Operators edit ``intents.yaml``; this module checks it into typed rules. The matching
itself (and how text is normalised) lives in ``dialogs/intents.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from content.localized import Lang
from content.source import read_yaml

INTENTS_FILE = Path(__file__).resolve().with_name("intents.yaml")


def _check_phrase(phrase: str) -> str:
    # Imported here, not at the top: the dialogs package imports content while it loads.
    from dialogs.intents import split_phrase

    split_phrase(phrase)  # raises ValueError with the reason
    return phrase


def _check_word(word: str) -> str:
    from dialogs.intents import split_phrase

    if len(split_phrase(word)) != 1:
        raise ValueError(f"{word!r} must be a single word")
    return word


Phrase = Annotated[str, AfterValidator(_check_phrase)]
Word = Annotated[str, AfterValidator(_check_word)]
# Lists must not be empty when written; leaving a key out gives the empty default.
Phrases = Annotated[tuple[Phrase, ...], Field(min_length=1)]
Words = Annotated[tuple[Word, ...], Field(min_length=1)]

_CONFIG = ConfigDict(extra="forbid", frozen=True)


class Near(BaseModel):
    """A body word and a symptom word at most ``window`` words apart, in either order."""

    model_config = _CONFIG

    body: Phrases
    symptom: Phrases
    window: int = Field(default=3, ge=0, le=10)


class LangRules(BaseModel):
    """How one intent is said in one language."""

    model_config = _CONFIG

    phrases: Phrases = ()
    near: Annotated[tuple[Near, ...], Field(min_length=1)] = ()
    unless: Phrases = ()  # a match touching one of these does not count ("back squat")

    @model_validator(mode="after")
    def _something_to_match(self) -> LangRules:
        if not self.phrases and not self.near:
            raise ValueError("needs 'phrases' or 'near'")
        return self


class IntentRule(BaseModel):
    """One intent in both languages."""

    model_config = _CONFIG

    de: LangRules
    en: LangRules
    negatable: bool = False  # "no back pain" does not count
    max_words: int | None = Field(default=None, ge=1)  # only messages this short count

    def lang(self, lang: Lang) -> LangRules:
        return self.de if lang == "de" else self.en


class Intents(BaseModel):
    model_config = _CONFIG

    emergency: IntentRule
    back_pain: IntentRule
    yes: IntentRule
    no: IntentRule


class PerLang(BaseModel):
    """Single words in each language."""

    model_config = _CONFIG

    de: Words
    en: Words

    def get(self, lang: Lang) -> tuple[str, ...]:
        return self.de if lang == "de" else self.en


class LanguageHints(PerLang):
    """Common words that tell German from English; a word may only count for one side."""

    @model_validator(mode="after")
    def _disjoint(self) -> LanguageHints:
        from dialogs.intents import normalise

        both = {normalise(w) for w in self.de} & {normalise(w) for w in self.en}
        if both:
            raise ValueError(f"words in both languages: {sorted(both)}")
        return self


class Negation(PerLang):
    window: int = Field(ge=1, le=10)  # how many words before a match a negation reaches


class IntentRules(BaseModel):
    """Everything in intents.yaml."""

    model_config = _CONFIG

    language_hints: LanguageHints
    negation: Negation
    breaks: PerLang  # words that end a negation's reach ("but", "aber")
    intents: Intents


def load_intents(path: Path = INTENTS_FILE) -> IntentRules:
    """Read and check ``path``; a broken file raises ContentError naming file and line."""
    return read_yaml(path).validate(IntentRules)
