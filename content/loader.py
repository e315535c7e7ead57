"""Loads and validates every content file into one typed ``Content`` object.

All problems across all files are collected and raised together as one
``ContentError``, each naming file, line and what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import RootModel

from content.articles import ArticleLibrary, load_articles
from content.localized import Lang, LocalText, placeholders
from content.model import Consent, QuestionText, Requirements, RuleSet
from content.source import ContentError, Source, read_yaml

CONTENT_DIR = Path(__file__).resolve().parent
T = TypeVar("T")


class _Messages(RootModel[dict[str, LocalText]]):
    pass


class _Questions(RootModel[dict[str, QuestionText]]):
    pass


@dataclass(frozen=True)
class Content:
    """Everything the dialogs say, validated."""

    consent: Consent
    rules: RuleSet
    questions: dict[str, QuestionText]
    messages: dict[str, LocalText]
    directory: Path
    articles: ArticleLibrary

    def text(self, key: str, lang: Lang, **params: object) -> str:
        return self.messages[key].format(lang, **params)


def load_content(
    directory: Path = CONTENT_DIR, requirements: Requirements | None = None
) -> Content:
    """Read and check the content in ``directory`` against what the dialogs need."""
    problems: list[str] = []

    def attempt(load: Callable[[], T]) -> T | None:
        try:
            return load()
        except ContentError as exc:
            problems.extend(exc.problems)
            return None

    sources = {
        name: attempt(lambda name=name: read_yaml(directory / f"{name}.yaml"))  # type: ignore[misc]
        for name in ("consent", "redflags", "questions", "messages")
    }
    consent = _validated(sources["consent"], Consent, attempt)
    rules = _validated(sources["redflags"], RuleSet, attempt)
    questions = _validated(sources["questions"], _Questions, attempt)
    messages = _validated(sources["messages"], _Messages, attempt)
    articles = attempt(lambda: load_articles(directory / "articles"))
    if requirements is not None:
        if questions is not None and sources["questions"] is not None:
            problems += _check_questions(sources["questions"], questions.root, requirements)
        if messages is not None and sources["messages"] is not None:
            problems += _check_keys(sources["messages"], messages.root, set(requirements.messages))
            problems += _check_params(sources["messages"], messages.root, requirements.messages, ())
    if (
        problems
        or consent is None
        or rules is None
        or questions is None
        or messages is None
        or articles is None
    ):
        raise ContentError(problems)
    return Content(
        consent=consent,
        rules=rules,
        questions=questions.root,
        messages=messages.root,
        directory=directory,
        articles=articles,
    )


def _validated(
    source: Source | None, model: type[T], attempt: Callable[[Callable[[], T]], T | None]
) -> T | None:
    if source is None:
        return None
    return attempt(lambda: source.validate(model))  # type: ignore[type-var]


def _check_keys(source: Source, found: Mapping[str, object], needed: set[str]) -> list[str]:
    problems = [source.problem((), f"missing text {key!r}") for key in sorted(needed - set(found))]
    problems += [
        source.problem((key,), "unknown text (not used by the dialogs; a typo?)")
        for key in sorted(set(found) - needed)
    ]
    return problems


def _check_params(
    source: Source,
    texts: Mapping[str, LocalText],
    allowed: Mapping[str, frozenset[str]],
    suffix: tuple[str, ...],
) -> list[str]:
    """Each text may use only the placeholders the dialogs fill in for it."""
    problems = []
    for key, text in texts.items():
        unknown = placeholders(text.de) - allowed.get(key, frozenset())
        if unknown:
            problems.append(
                source.problem((key, *suffix), f"unknown placeholders {sorted(unknown)}")
            )
    return problems


def _check_questions(
    source: Source, found: dict[str, QuestionText], requirements: Requirements
) -> list[str]:
    problems = _check_keys(source, found, set(requirements.questions))
    prompts = {node: q.prompt for node, q in found.items()}
    problems += _check_params(source, prompts, requirements.question_params, ("prompt",))
    for node, options in requirements.questions.items():
        question = found.get(node)
        if question is None:
            continue
        for value in sorted(set(options) - set(question.options)):
            problems.append(source.problem((node, "options"), f"missing option {value!r}"))
        for value in sorted(set(question.options) - set(options)):
            problems.append(source.problem((node, "options", value), "unknown option"))
    return problems
