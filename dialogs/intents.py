"""What a free-text message means: back pain, an emergency, yes or no.

Pure and fast: ``compile_rules`` turns the rules from content/intents.yaml into regular
expressions once; every message is then normalised once and scanned by them.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Literal, NamedTuple

from content.intents import IntentRule, IntentRules, LangRules
from content.localized import LANGS, Lang

IntentName = Literal["emergency", "back_pain", "yes", "no"]
Span = tuple[int, int]  # word indices [start, end)

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
# "back's killing me", "geht's": the clitic s carries nothing we match on. Other
# apostrophes join their word ("don't" → "dont"), so negations stay one word.
_CLITIC_S = re.compile(r"['’ʼ]s\b")
_APOSTROPHES = re.compile(r"['’ʼ`´]")
_NON_WORD = re.compile(r"[\W_]+")
# Negation does not reach across these ("No, my back hurts").
_CLAUSE_END = re.compile(r"[.,;:!?…\n\r–—]+")


def normalise(text: str) -> str:
    """Lower-case words joined by single spaces; no punctuation, emoji, ß or umlauts.

    "Rücken", "RUECKEN" and "rücken!!" all become "ruecken", so rules need one spelling.
    """
    text = unicodedata.normalize("NFKC", text).casefold().translate(_UMLAUTS)  # casefold: ß→ss
    text = _APOSTROPHES.sub("", _CLITIC_S.sub("", text))
    return " ".join(_NON_WORD.sub(" ", text).split())


class PhraseWord(NamedTuple):
    text: str
    prefix: bool  # written with a trailing "*": any ending matches ("schmerz*")


def split_phrase(phrase: str) -> tuple[PhraseWord, ...]:
    """The normalised words of a rule phrase; ValueError if there are none."""
    words: list[PhraseWord] = []
    for token in phrase.split():
        core = token.removesuffix("*")
        parts = normalise(core).split()
        if "*" in core or (core != token and not parts):
            raise ValueError(f"'*' may only end a word: {token!r}")
        words += [PhraseWord(part, False) for part in parts]
        if core != token:
            words[-1] = PhraseWord(words[-1].text, True)
    if not words:
        raise ValueError(f"{phrase!r} has no words left after normalising")
    return tuple(words)


def _pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One expression for all ``phrases``, matching whole words only."""
    alternatives = {
        " ".join(re.escape(w.text) + (r"\w*" if w.prefix else "") for w in split_phrase(p))
        for p in phrases
    }
    if not alternatives:
        return None
    # Longest first, so "lower back" is taken rather than "back" at the same place.
    ordered = sorted(alternatives, key=lambda a: (-len(a), a))
    return re.compile(r"(?<!\S)(?:" + "|".join(ordered) + r")(?!\S)")


@dataclass(frozen=True)
class _WordSet:
    exact: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, words: Iterable[str]) -> _WordSet:
        parsed = [w for word in words for w in split_phrase(word)]
        return cls(
            frozenset(w.text for w in parsed if not w.prefix),
            tuple(w.text for w in parsed if w.prefix),
        )

    def has(self, word: str) -> bool:
        return word in self.exact or word.startswith(self.prefixes)


@dataclass(frozen=True)
class _Text:
    """A message as normalised words, with the clause each word is in."""

    joined: str
    words: tuple[str, ...]
    starts: tuple[int, ...]  # offset of each word in ``joined``
    clauses: tuple[int, ...]

    @classmethod
    def of(cls, raw: str) -> _Text:
        words: list[str] = []
        clauses: list[int] = []
        for number, part in enumerate(_CLAUSE_END.split(raw)):
            found = normalise(part).split()
            words += found
            clauses += [number] * len(found)
        starts: list[int] = []
        offset = 0
        for word in words:
            starts.append(offset)
            offset += len(word) + 1
        return cls(" ".join(words), tuple(words), tuple(starts), tuple(clauses))

    def spans(self, pattern: re.Pattern[str] | None) -> Iterator[Span]:
        if pattern is not None:
            for m in pattern.finditer(self.joined):
                yield bisect_left(self.starts, m.start()), bisect_left(self.starts, m.end())


@dataclass(frozen=True)
class _Near:
    body: re.Pattern[str] | None
    symptom: re.Pattern[str] | None
    window: int


@dataclass(frozen=True)
class _LangMatcher:
    phrases: re.Pattern[str] | None
    near: tuple[_Near, ...]
    unless: re.Pattern[str] | None

    @classmethod
    def of(cls, rules: LangRules) -> _LangMatcher:
        near = tuple(_Near(_pattern(n.body), _pattern(n.symptom), n.window) for n in rules.near)
        return cls(_pattern(rules.phrases), near, _pattern(rules.unless))


@dataclass(frozen=True)
class _IntentMatcher:
    negatable: bool
    max_words: int | None
    langs: tuple[tuple[Lang, _LangMatcher], ...]


@dataclass(frozen=True)
class IntentMatch:
    intent: IntentName
    lang: Lang | None  # language of the words that matched; None if both and unclear


@dataclass(frozen=True)
class Matcher:
    """Compiled intent rules; implements ``dialogs.context.Intents``."""

    emergency: _IntentMatcher
    back_pain: _IntentMatcher
    yes: _IntentMatcher
    no: _IntentMatcher
    hints: tuple[tuple[Lang, _WordSet], ...]
    negation: _WordSet
    breaks: _WordSet
    negation_window: int

    def detect(self, text: str) -> IntentMatch | None:
        """The intent of a message: emergency before back pain before yes/no."""
        t = _Text.of(text)
        if langs := self._langs(self.emergency, t):
            return IntentMatch("emergency", self._pick(langs, t))
        if langs := self._langs(self.back_pain, t):
            return IntentMatch("back_pain", self._pick(langs, t))
        return self._answer(t)

    def yes_no(self, text: str) -> bool | None:
        """True or False for a short yes or no answer; None if unclear or both."""
        match = self._answer(_Text.of(text))
        return None if match is None else match.intent == "yes"

    def guess_language(self, text: str) -> Lang | None:
        return self._guess(_Text.of(text))

    def _answer(self, t: _Text) -> IntentMatch | None:
        yes, no = self._langs(self.yes, t), self._langs(self.no, t)
        if yes and not no:
            return IntentMatch("yes", self._pick(yes, t))
        if no and not yes:
            return IntentMatch("no", self._pick(no, t))
        return None

    def _pick(self, langs: tuple[Lang, ...], t: _Text) -> Lang | None:
        return langs[0] if len(langs) == 1 else self._guess(t)

    def _guess(self, t: _Text) -> Lang | None:
        scores = sorted(((sum(map(hints.has, t.words)), lang) for lang, hints in self.hints))
        (low, _), (high, best) = scores[0], scores[-1]
        return best if high > low else None

    def _langs(self, intent: _IntentMatcher, t: _Text) -> tuple[Lang, ...]:
        """The languages in which ``intent`` matches ``t``."""
        if not t.words or (intent.max_words is not None and len(t.words) > intent.max_words):
            return ()
        return tuple(lang for lang, rules in intent.langs if self._matches(rules, intent, t))

    def _matches(self, rules: _LangMatcher, intent: _IntentMatcher, t: _Text) -> bool:
        candidates = chain(t.spans(rules.phrases), *(self._near(n, t) for n in rules.near))
        vetoed: frozenset[int] | None = None  # word indices inside an "unless" phrase
        for start, end in candidates:
            if intent.negatable and self._negated(t, start, end):
                continue
            if rules.unless is not None:
                if vetoed is None:
                    vetoed = frozenset(i for s, e in t.spans(rules.unless) for i in range(s, e))
                if not vetoed.isdisjoint(range(start, end)):
                    continue
            return True
        return False

    def _near(self, near: _Near, t: _Text) -> Iterator[Span]:
        symptom_at = dict(t.spans(near.symptom))  # start → end
        if not symptom_at:
            return
        symptom_until = {end: start for start, end in symptom_at.items()}
        for start, end in t.spans(near.body):
            for gap in range(near.window + 1):
                if end + gap in symptom_at:
                    yield start, symptom_at[end + gap]
                # A contrast before the body word turns away from the symptom:
                # "knee hurts but my back is fine". After it, it is emphasis: "tut aber weh".
                before = symptom_until.get(start - gap)
                between = t.words[start - gap : start]
                if before is not None and not any(map(self.breaks.has, between)):
                    yield before, end

    def _negated(self, t: _Text, start: int, end: int) -> bool:
        """A negation inside the match, or shortly before it in the same clause."""
        if any(map(self.negation.has, t.words[start:end])):
            return True
        for i in range(start - 1, max(start - self.negation_window, 0) - 1, -1):
            if t.clauses[i] != t.clauses[start] or self.breaks.has(t.words[i]):
                return False
            if self.negation.has(t.words[i]):
                return True
        return False


def _intent(rule: IntentRule) -> _IntentMatcher:
    langs = tuple((lang, _LangMatcher.of(rule.lang(lang))) for lang in LANGS)
    return _IntentMatcher(rule.negatable, rule.max_words, langs)


def _build(rules: IntentRules) -> Matcher:
    intents = rules.intents
    return Matcher(
        emergency=_intent(intents.emergency),
        back_pain=_intent(intents.back_pain),
        yes=_intent(intents.yes),
        no=_intent(intents.no),
        hints=tuple((lang, _WordSet.of(rules.language_hints.get(lang))) for lang in LANGS),
        negation=_WordSet.of(w for lang in LANGS for w in rules.negation.get(lang)),
        breaks=_WordSet.of(w for lang in LANGS for w in rules.breaks.get(lang)),
        negation_window=rules.negation.window,
    )


# Rules are loaded once per process; keyed by identity, so a message costs no hashing.
_compiled: dict[int, tuple[IntentRules, Matcher]] = {}


def compile_rules(rules: IntentRules) -> Matcher:
    """The compiled form of ``rules``, built on first use and then reused."""
    cached = _compiled.get(id(rules))
    if cached is not None and cached[0] is rules:
        return cached[1]
    matcher = _build(rules)
    if len(_compiled) >= 8:
        _compiled.clear()
    _compiled[id(rules)] = (rules, matcher)
    return matcher


def detect(text: str, rules: IntentRules) -> IntentMatch | None:
    return compile_rules(rules).detect(text)


def guess_language(text: str, rules: IntentRules) -> Lang | None:
    return compile_rules(rules).guess_language(text)


def yes_no(text: str, rules: IntentRules) -> bool | None:
    return compile_rules(rules).yes_no(text)
