"""The articles library: the shipped articles, the loader's error reports, and paging."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content.articles import (
    ARTICLES_DIR,
    PAGE_MAX,
    ArticleLibrary,
    load_articles,
    paginate,
)
from content.localized import LANGS
from content.source import ContentError

SOURCE_TITLE = "Rückenschmerzen nach dem Krafttraining? Das machst du falsch"
SHIPPED = {
    "back-pain-after-strength-training",
    "soreness-or-injury",
    "seven-training-mistakes",
    "warm-up-the-right-way",
    "when-your-back-already-hurts",
    "protect-your-back-long-term",
}

# Line numbers below are those of this template: 1 slug, 3 tags, 6 de, 8 de.summary, 13 en.
ARTICLE = """\
slug: {slug}
date: 2026-01-02
tags: [soreness]
source:
  article: "Rückenschmerzen nach dem Krafttraining? Das machst du falsch"
de:
  title: Titel
  summary: Kurz.
  body: |
    Erster Absatz.

    - Punkt
en:
  title: Title
  summary: Short.
  body: |
    First paragraph.
"""
TAGS = "soreness:\n  de: Muskelkater\n  en: Soreness\n"


@pytest.fixture(scope="module")
def library() -> ArticleLibrary:
    return load_articles(ARTICLES_DIR)


def write_library(directory: Path, articles: dict[str, str], tags: str = TAGS) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "_tags.yaml").write_text(tags, encoding="utf-8")
    for name, text in articles.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def problems(directory: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_articles(directory)
    return caught.value.problems


def assert_reported(found: list[str], path: Path, line: int, fragment: str) -> None:
    prefix = f"{path}:{line}: "
    assert any(p.startswith(prefix) and fragment in p for p in found), (prefix, fragment, found)


# The shipped library


def test_shipped_library_has_the_six_articles_in_both_languages(library: ArticleLibrary) -> None:
    assert {article.slug for article in library} == SHIPPED
    assert len(library) == 6
    for article in library:
        for lang in LANGS:
            text = article.text(lang)
            assert text.title and text.summary and text.body
        assert article.source.article == SOURCE_TITLE


def test_shipped_translations_have_the_same_shape(library: ArticleLibrary) -> None:
    def shape(body: str) -> list[str]:
        # Per paragraph: a bullet list, a bold heading, or prose; a dropped paragraph shows.
        return [p[:2] if p[:2] in ("- ", "**") else "p" for p in body.split("\n\n")]

    for article in library:
        assert shape(article.de.body) == shape(article.en.body), article.slug


def test_newest_first_and_lookup_by_slug(library: ArticleLibrary) -> None:
    dates = [article.date for article in library]
    assert dates == sorted(dates, reverse=True)
    assert library["soreness-or-injury"].slug == "soreness-or-injury"
    assert "no-such-article" not in library
    assert library.get("no-such-article") is None
    with pytest.raises(KeyError):
        library.pages("no-such-article", "de")
    assert {a.slug for a in library.with_tag("red-flags")} == {
        "soreness-or-injury",
        "when-your-back-already-hurts",
    }


def test_full_article_is_faithful_without_embeds_and_footer(library: ArticleLibrary) -> None:
    full = library["back-pain-after-strength-training"]
    assert full.de.title == SOURCE_TITLE
    for lang in LANGS:
        body = full.text(lang).body
        assert all(f"**{n}. " in body for n in range(1, 8))
        assert "@" not in body and "#" not in body and "♬" not in body
        assert "Newsletter" not in body and "Empfohlene Artikel" not in body


def test_emergency_signs_and_guidelines_where_medical_advice_is_added(
    library: ArticleLibrary,
) -> None:
    for slug in ("soreness-or-injury", "when-your-back-already-hurts"):
        article = library[slug]
        assert any("NG59" in g for g in article.source.guidelines)
        assert any("Kreuzschmerz" in g for g in article.source.guidelines)
        for lang in LANGS:
            assert "112" in article.text(lang).body
        assert "Reithosen" in article.de.body and "saddle" in article.en.body


def test_shipped_articles_fit_telegram_pages(library: ArticleLibrary) -> None:
    for article in library:
        for lang in LANGS:
            pages = library.pages(article.slug, lang)
            assert all(len(page) < PAGE_MAX for page in pages)
            assert "\n\n".join(pages) == article.text(lang).body


# Problems name file, line and what is wrong


def test_valid_minimal_library_loads(tmp_path: Path) -> None:
    directory = write_library(tmp_path, {"a.yaml": ARTICLE.format(slug="a")})
    assert [a.slug for a in load_articles(directory)] == ["a"]


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [
        ("  title: Titel", "  title: Titel: mehr", 7, "invalid YAML"),
        ("tags: [soreness]", "tags:\n  - soreness\n  - nonsense", 5, "unknown tag 'nonsense'"),
        ("tags: [soreness]", "tags: [soreness, soreness]", 3, "listed twice"),
        ("  summary: Kurz.", "  summary: " + "x" * 141, 8, "at most 140 characters"),
        ("  summary: Kurz.", '  summary: "eins\\nzwei"', 8, "must be one line"),
        ("    Erster Absatz.", "    **Erster Absatz.", 9, "unclosed **bold**"),
        ("    First paragraph.", "    # First", 16, "no headings"),
        ("date: 2026-01-02", "date: soon", 2, "date"),
        ("slug: a", "slug: Not_Kebab", 1, "should match pattern"),
    ],
)
def test_broken_article_names_file_line_and_problem(
    tmp_path: Path, old: str, new: str, line: int, fragment: str
) -> None:
    text = ARTICLE.format(slug="a")
    assert old in text
    directory = write_library(tmp_path, {"a.yaml": text.replace(old, new)})
    assert_reported(problems(directory), directory / "a.yaml", line, fragment)


def test_missing_translation(tmp_path: Path) -> None:
    without_en = ARTICLE.format(slug="a").split("en:\n")[0]
    without_body = ARTICLE.format(slug="b").split("  body: |\n    First")[0]
    directory = write_library(tmp_path, {"a.yaml": without_en, "b.yaml": without_body})
    found = problems(directory)
    assert_reported(found, directory / "a.yaml", 1, "en: Field required")
    assert_reported(found, directory / "b.yaml", 13, "en.body: Field required")


def test_slug_must_equal_file_name(tmp_path: Path) -> None:
    directory = write_library(tmp_path, {"a.yaml": ARTICLE.format(slug="other")})
    assert_reported(problems(directory), directory / "a.yaml", 1, "differs from the file name")


def test_duplicate_slug_names_both_places(tmp_path: Path) -> None:
    same = ARTICLE.format(slug="a")
    directory = write_library(tmp_path, {"a.yaml": same, "b.yaml": same})
    found = problems(directory)
    assert_reported(
        found, directory / "b.yaml", 1, f"duplicate slug, first used at {tmp_path}/a.yaml:1"
    )


def test_problems_of_all_files_come_in_one_error(tmp_path: Path) -> None:
    articles = {
        "a.yaml": ARTICLE.format(slug="a").replace("[soreness]", "[unknown]"),
        "b.yaml": "slug: [b\n",
        "c.yaml": ARTICLE.format(slug="c").replace("Short.", "y" * 200),
        "d.yaml": ARTICLE.format(slug="d"),
    }
    found = problems(write_library(tmp_path, articles))
    assert len(found) == 3
    assert_reported(found, tmp_path / "a.yaml", 3, "unknown tag")
    assert_reported(found, tmp_path / "b.yaml", 2, "invalid YAML")
    assert_reported(found, tmp_path / "c.yaml", 15, "at most 140 characters")


def test_broken_tag_vocabulary(tmp_path: Path) -> None:
    tags = "soreness: {de: Muskelkater}\nBad Tag: {de: X, en: X}\n"
    directory = write_library(tmp_path, {"a.yaml": ARTICLE.format(slug="a")}, tags=tags)
    found = problems(directory)
    assert_reported(found, directory / "_tags.yaml", 1, "soreness.en: Field required")
    assert_reported(found, directory / "_tags.yaml", 2, "should match pattern")


def test_empty_or_missing_directory(tmp_path: Path) -> None:
    found = problems(tmp_path / "missing")
    assert any("_tags.yaml:1: cannot read file" in p for p in found)
    assert any("no article files" in p for p in found)


# Paging


def words(text: str) -> list[str]:
    return text.split()


def test_short_body_is_one_page() -> None:
    assert paginate("One paragraph.\n\nAnother one.") == ["One paragraph.\n\nAnother one."]


def test_long_body_breaks_only_between_paragraphs() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * (20 + i * 7 % 90) for i in range(60)]
    body = "\n\n".join(p.strip() for p in paragraphs)
    assert len(body) > 10_000
    pages = paginate(body, 1000)
    assert len(pages) > 10
    assert all(0 < len(page) < 1000 for page in pages)
    assert "\n\n".join(pages) == body


def test_one_huge_paragraph_breaks_between_words() -> None:
    body = " ".join(f"Wort{i}" for i in range(2500))
    assert len(body) > 10_000
    pages = paginate(body, 3500)
    assert all(len(page) < 3500 for page in pages)
    assert words(" ".join(pages)) == words(body)


def test_long_bullet_list_breaks_between_items() -> None:
    body = "Intro.\n\n" + "\n".join(f"- item {i} " + "x" * 30 for i in range(400))
    pages = paginate(body, 2000)
    assert all(len(page) < 2000 for page in pages)
    assert all(line.startswith("- ") for page in pages[1:] for line in page.splitlines())
    assert words(" ".join(pages)) == words(body)


def test_a_word_longer_than_a_page_is_the_only_thing_cut() -> None:
    assert paginate("short " + "x" * 25, 10) == ["short", "xxxxxxxxx", "xxxxxxxxx", "xxxxxxx"]


def test_library_pages_a_body_over_ten_thousand_chars(tmp_path: Path) -> None:
    long_body = "\n\n".join(f"    Absatz {i} " + "lang " * 60 for i in range(40))
    text = ARTICLE.format(slug="long").replace("    First paragraph.", long_body)
    library = load_articles(write_library(tmp_path, {"long.yaml": text}))
    body = library["long"].en.body
    assert len(body) > 10_000
    pages = library.pages("long", "en")
    assert len(pages) >= 3
    assert all(len(page) < PAGE_MAX for page in pages)
    assert words(" ".join(pages)) == words(body)


_WORD = st.text(alphabet="abcäöü**-.", min_size=1, max_size=12)
_SEPARATOR = st.sampled_from([" ", " ", "\n", "\n\n", "\n \n"])


@given(st.lists(st.tuples(_WORD, _SEPARATOR), min_size=1, max_size=300), st.integers(14, 400))
def test_pages_are_short_and_keep_every_word(parts: list[tuple[str, str]], limit: int) -> None:
    body = "".join(word + sep for word, sep in parts)
    pages = paginate(body, limit)
    assert all(0 < len(page) < limit for page in pages)
    assert words(" ".join(pages)) == words(body)
    assert all(page == page.strip() for page in pages)
