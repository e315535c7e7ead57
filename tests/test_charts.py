"""/progress: the pain chart PNG and its one-line summary."""

from __future__ import annotations

import struct

import pytest

from bot.charts import pain_chart_png, progress_line

WEEK = [(0, 6), (1, 5), (2, 5), (3, 4), (4, 4), (5, 2), (6, 2), (7, 1)]
PNG = b"\x89PNG\r\n\x1a\n"


def size_of(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG) and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_week_is_a_small_png(lang: str) -> None:
    png = pain_chart_png(WEEK, lang, title="Anna")  # type: ignore[arg-type]
    assert size_of(png) == (800, 450)
    assert 5_000 < len(png) < 100_000


def test_same_scores_same_bytes_and_languages_differ() -> None:
    assert pain_chart_png(WEEK, "en") == pain_chart_png(list(reversed(WEEK)), "en")
    assert pain_chart_png(WEEK, "en") != pain_chart_png(WEEK, "de")
    assert pain_chart_png(WEEK, "en") != pain_chart_png(WEEK[:3], "en")


def test_no_scores_give_the_frame_with_a_note() -> None:
    empty = pain_chart_png([], "de")
    assert size_of(empty) == (800, 450) and len(empty) < 100_000
    assert empty != pain_chart_png([(0, 0)], "de")


@pytest.mark.parametrize("bad", [[(8, 3)], [(-1, 3)], [(2, 11)], [(2, -1)]])
def test_scores_outside_the_plan_are_refused(bad: list[tuple[int, int]]) -> None:
    with pytest.raises(ValueError, match="plan day"):
        pain_chart_png(bad, "en")
    with pytest.raises(ValueError):
        progress_line(bad, "en")


@pytest.mark.parametrize(
    ("scores", "lang", "line"),
    [
        ([(0, 6), (5, 2)], "en", "Day 0: 6 → day 5: 2, down 4 points"),
        ([(5, 2), (0, 6)], "de", "Tag 0: 6 → Tag 5: 2, 4 Punkte weniger"),
        ([(0, 4), (1, 5)], "en", "Day 0: 4 → day 1: 5, up 1 point"),
        ([(0, 4), (1, 5)], "de", "Tag 0: 4 → Tag 1: 5, 1 Punkt mehr"),
        ([(0, 4), (3, 4)], "en", "Day 0: 4 → day 3: 4, unchanged"),
        ([(0, 4), (3, 4)], "de", "Tag 0: 4 → Tag 3: 4, unverändert"),
        ([(0, 7)], "en", "Day 0: 7"),
        ([], "en", "No pain scores yet."),
        ([], "de", "Noch keine Schmerzwerte."),
    ],
)
def test_progress_line(scores: list[tuple[int, int]], lang: str, line: str) -> None:
    assert progress_line(scores, lang) == line  # type: ignore[arg-type]
