"""The articles library: longer reading in German and English, checked when it loads.

Each ``<slug>.yaml`` in the articles directory is one article; ``_tags.yaml`` holds the
tags articles may use. Bodies are Markdown-light (paragraphs split by blank lines, ``- ``
bullets, ``**bold**``) so every transport can render them with a few rules.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from content.localized import Lang, LocalText
from content.source import ContentError, Source, read_yaml

ARTICLES_DIR = Path(__file__).resolve().parent / "articles"
TAGS_FILE = "_tags.yaml"
SUMMARY_MAX = 140
# Telegram allows 4096 characters a message; the margin leaves room for a title and "1/3".
PAGE_MAX = 3500

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# Where a too long text may be cut, best first; each level joins its pieces back with
# the matching separator. The last level cuts between words.
_BREAKS = (_PARAGRAPH_BREAK, re.compile(r"\n"), re.compile(r"\s+"))
_JOINERS = ("\n\n", "\n", " ")


Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ArticleText(_Strict):
    """An article in one language."""

    title: str = Field(min_length=1, max_length=80)
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    body: str = Field(min_length=1)

    @field_validator("title", "summary")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value:
            raise ValueError("must be one line")
        return value

    @field_validator("body")
    @classmethod
    def _markdown_light(cls, value: str) -> str:
        for paragraph in _PARAGRAPH_BREAK.split(value):
            # Pages break between paragraphs, so bold must open and close in one paragraph.
            if paragraph.count("**") % 2:
                raise ValueError(f"unclosed **bold** in paragraph {paragraph[:40]!r}")
        for line in value.splitlines():
            if line.lstrip().startswith("#"):
                raise ValueError(f"no headings, use a **bold** paragraph: {line[:40]!r}")
            if line.lstrip().startswith(("* ", "+ ")):
                raise ValueError(f"bullets start with '- ': {line[:40]!r}")
        return value


class ArticleSource(_Strict):
    """Where an article comes from: the article it is cut from, the guidelines behind
    any medical statement the source article does not make itself."""

    article: str = Field(min_length=3)
    guidelines: tuple[Annotated[str, Field(min_length=3)], ...] = ()


class Article(_Strict):
    """One article in both languages."""

    slug: Slug
    date: dt.date
    tags: tuple[str, ...] = Field(min_length=1)
    source: ArticleSource
    de: ArticleText
    en: ArticleText

    def text(self, lang: Lang) -> ArticleText:
        return self.de if lang == "de" else self.en


class _Tags(RootModel[dict[Slug, LocalText]]):
    """Tag name to its label in both languages."""


@dataclass(frozen=True)
class ArticleLibrary:
    """All articles, newest first, and the tag vocabulary with labels."""

    articles: tuple[Article, ...]
    tags: Mapping[str, LocalText]
    _by_slug: dict[str, Article] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_slug", {a.slug: a for a in self.articles})

    def __iter__(self) -> Iterator[Article]:
        return iter(self.articles)

    def __len__(self) -> int:
        return len(self.articles)

    def __contains__(self, slug: object) -> bool:
        return slug in self._by_slug

    def __getitem__(self, slug: str) -> Article:
        return self._by_slug[slug]

    def get(self, slug: str) -> Article | None:
        return self._by_slug.get(slug)

    def with_tag(self, tag: str) -> tuple[Article, ...]:
        return tuple(a for a in self.articles if tag in a.tags)

    def pages(self, slug: str, lang: Lang, max_chars: int = PAGE_MAX) -> list[str]:
        """The body of ``slug`` in ``lang`` cut into pages shorter than ``max_chars``."""
        return paginate(self[slug].text(lang).body, max_chars)


def load_articles(directory: Path) -> ArticleLibrary:
    """Read every article in ``directory``; all problems are raised as one ContentError."""
    problems: list[str] = []
    tags = _load_tags(directory / TAGS_FILE, problems)
    paths = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    paths = [path for path in paths if not path.name.startswith("_")]
    if not paths:
        problems.append(f"{directory}:1: no article files (*.yaml)")
    found: dict[str, Source] = {}
    articles: list[Article] = []
    for path in paths:
        loaded = _load_article(path, tags, problems)
        if loaded is None:
            continue
        article, source = loaded
        if article.slug in found:
            first = found[article.slug].where(("slug",))
            problems.append(source.problem(("slug",), f"duplicate slug, first used at {first}"))
            continue
        found[article.slug] = source
        articles.append(article)
    if problems or tags is None:
        raise ContentError(problems)
    articles.sort(key=lambda a: (-a.date.toordinal(), a.slug))
    return ArticleLibrary(articles=tuple(articles), tags=tags)


def _load_tags(path: Path, problems: list[str]) -> dict[str, LocalText] | None:
    try:
        return read_yaml(path).validate(_Tags).root
    except ContentError as exc:
        problems.extend(exc.problems)
        return None


def _load_article(
    path: Path, tags: Mapping[str, LocalText] | None, problems: list[str]
) -> tuple[Article, Source] | None:
    try:
        source = read_yaml(path)
        article = source.validate(Article)
    except ContentError as exc:
        problems.extend(exc.problems)
        return None
    if article.slug != path.stem:
        message = f"slug {article.slug!r} differs from the file name {path.name!r}"
        problems.append(source.problem(("slug",), message))
    for index, tag in enumerate(article.tags):
        if tags is not None and tag not in tags:
            message = f"unknown tag {tag!r} (known: {', '.join(sorted(tags))})"
            problems.append(source.problem(("tags", index), message))
        if tag in article.tags[:index]:
            problems.append(source.problem(("tags", index), f"tag {tag!r} listed twice"))
    return article, source


def paginate(text: str, max_chars: int = PAGE_MAX) -> list[str]:
    """Cut ``text`` into pages shorter than ``max_chars``: between paragraphs where they
    fit, else between lines (a long bullet list), else between words. Only a single word
    longer than a page is cut inside, as nothing else would fit."""
    if max_chars < 2:
        raise ValueError("max_chars must be at least 2")
    text = text.strip()
    return _split(text, max_chars - 1, 0) if text else []


def _split(text: str, limit: int, level: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    if level == len(_BREAKS):
        return [text[start : start + limit] for start in range(0, len(text), limit)]
    parts = (part.strip() for part in _BREAKS[level].split(text))
    pieces = [piece for part in parts if part for piece in _split(part, limit, level + 1)]
    pages: list[str] = []
    joiner = _JOINERS[level]
    for piece in pieces:
        if pages and len(pages[-1]) + len(joiner) + len(piece) <= limit:
            pages[-1] += joiner + piece
        else:
            pages.append(piece)
    return pages
