"""Articles in the dialogs: the list, reading page by page, counted reads, links."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.telegram.markup import MAX_DATA
from dialogs import Command, Node, step
from dialogs.actions import RecordRead
from dialogs.articles import PREVENTION, SORENESS, read_command
from tests.support.dialog import DialogDriver
from tests.test_dialog_flow import checkin, consent_and_clear_flags, enrol


def reads(dialog: DialogDriver) -> list[RecordRead]:
    return [a for a in dialog.actions if isinstance(a, RecordRead)]


def test_articles_lists_every_article_newest_first(dialog: DialogDriver) -> None:
    messages = dialog.command("articles")
    library = dialog.content.articles
    listing = messages[0]
    assert [o.value for o in listing.options] == [read_command(a.slug) for a in library]
    assert all(a.en.summary in listing.text for a in library)
    dates = [a.date for a in library]
    assert dates == sorted(dates, reverse=True)
    assert not reads(dialog)


def test_the_most_read_are_named_when_known(dialog: DialogDriver) -> None:
    popular = (PREVENTION, SORENESS)
    transition = step(None, Command("articles"), replace(dialog.ctx(), popular=popular))
    text = transition.messages[0].text
    library = dialog.content.articles
    assert f"Most read: {library[PREVENTION].en.title}, {library[SORENESS].en.title}" in text


def test_reading_counts_once_and_pages_on(dialog: DialogDriver) -> None:
    long_one = max(dialog.content.articles, key=lambda a: len(a.en.body)).slug
    first = dialog.send(Command("read", long_one))
    assert reads(dialog) == [RecordRead(long_one)]
    assert "(1/" in first[0].text and first[0].options
    page_two = first[0].options[0].value
    assert page_two == read_command(long_one, 2)
    second = dialog.text(page_two)
    assert "(2/" in second[0].text and not reads(dialog)  # page 2 is not another read


def test_a_read_from_a_digest_names_its_issue(dialog: DialogDriver) -> None:
    dialog.text(read_command(SORENESS, 1, issue=7))
    assert reads(dialog) == [RecordRead(SORENESS, issue=7)]


def test_an_unknown_article_gets_the_list(dialog: DialogDriver) -> None:
    messages = dialog.text("/read no-such-thing")
    assert "can't find" in messages[0].text and len(messages[1].options) == len(
        dialog.content.articles
    )
    assert not reads(dialog)


def test_reading_mid_question_asks_the_question_again(dialog: DialogDriver) -> None:
    dialog.text("my back hurts")
    messages = dialog.text(read_command(SORENESS))
    assert messages[-1].question is not None and dialog.state is not None
    assert dialog.state.node is Node.CONSENT


def test_the_soreness_explanation_links_the_article(dialog: DialogDriver) -> None:
    consent_and_clear_flags(dialog)
    dialog.pick("later")
    dialog.pick("dull")
    messages = dialog.pick("row")
    linked = [m for m in messages if any(o.value == read_command(SORENESS) for o in m.options)]
    assert len(linked) == 1 and "soreness" in linked[0].text.lower()


def test_the_end_of_a_recovery_links_the_prevention_piece(dialog: DialogDriver) -> None:
    enrol(dialog, baseline=3)
    checkin(dialog, 1, "better")
    texts = checkin(dialog, 0, "better")
    assert dialog.state is not None and dialog.state.episode is not None
    assert dialog.state.episode.status == "closed" and texts
    assert any(o.value == read_command(PREVENTION) for o in dialog.log[-1].options)  # type: ignore[union-attr]


def test_after_a_red_flag_a_training_article_comes_with_get_checked(
    dialog: DialogDriver,
) -> None:
    dialog.text("back pain")
    dialog.pick("agree")
    dialog.pick("yes")  # the first emergency sign
    messages = dialog.text(read_command("warm-up-the-right-way"))
    assert "get" in messages[0].text.lower() and "check" in messages[0].text.lower()
    safe = dialog.text(read_command(SORENESS))
    assert safe[0].text.startswith("**")  # the article itself, nothing before it


@pytest.mark.parametrize("issue", [None, 999_999])
def test_every_article_button_fits_telegram(dialog: DialogDriver, issue: int | None) -> None:
    for article in dialog.content.articles:
        data = "x|" + read_command(article.slug, 99, issue)
        assert len(data.encode()) <= MAX_DATA, data
