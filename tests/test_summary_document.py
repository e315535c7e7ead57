"""The one-page summary for the physio or doctor: its text, and the PDF and PNG of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.db.database import Database
from bot.db.models import EpisodeRow, PainScore, TriageAnswer, User
from bot.export import Export
from bot.summary_document import build_summary
from content.loader import Content
from dialogs.texts import M
from tests.test_export import export_of, full_week

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
PARAMS = ("start", "answers", "flags", "scores", "escalated")  # of the summary message


def export(
    lang: str,
    episodes: list[EpisodeRow],
    answers: list[tuple[int, str, str]],
    scores: list[tuple[int, int, int]],
) -> Export:
    """An export built in memory: (episode, question, answer) and (episode, day, score)."""
    user = User(id=1, address="console:x", lang=lang, tz="Europe/Berlin", unreachable=False)
    return Export(
        exported_at=START,
        profile=user,
        conversation=None,
        consents=[],
        episodes=episodes,
        triage_answers=[
            TriageAnswer(episode_seq=seq, question=q, answer=a, rules_version=1, at=START)
            for seq, q, a in answers
        ],
        pain_scores=[
            PainScore(episode_seq=seq, day=day, score=score, trend=None if day == 0 else "same")
            for seq, day, score in scores
        ],
        checkin_schedule=[],
        checkins=[],
        article_reads=[],
        digest_subscription=None,
        messages=[],
    )


def episode(seq: int, **columns: object) -> EpisodeRow:
    defaults: dict[str, object] = {"started_at": START, "status": "active", "escalated": False}
    return EpisodeRow(seq=seq, **(defaults | columns))


def all_clear(content: Content, seq: int = 1) -> list[tuple[int, str, str]]:
    rules = [(seq, rule.id, "no") for rule in content.rules.rules]
    return [*rules, (seq, "onset", "later"), (seq, "feel", "dull"), (seq, "lift", "squat")]


def test_no_progress_escalation_in_german(shipped) -> None:  # type: ignore[no-untyped-def]
    content: Content = shipped[0]
    scores = [(1, day, 6) for day in range(5)]
    escalated = episode(1, escalated=True, start_date=date(2026, 3, 2))
    data = export("de", [escalated], all_clear(content), scores)
    summary = build_summary(data, content)
    assert summary is not None and summary.lang == "de"
    text = summary.text
    lines = text.splitlines()
    assert lines[0] == content.text(M.SUMMARY, "de", **dict.fromkeys(PARAMS, "")).splitlines()[0]
    assert lines[-1] == "Selbst berichtete Angaben, keine Diagnose."
    assert "Beginn: Mo 02.03." in text
    assert "1–3 Tage danach; Dumpf wie Muskelkater; Kniebeugen" in text
    for rule in content.rules.rules:
        assert f"- {rule.question.de} → Nein" in text
    assert "- Fr 06.03.: 6/10 (Etwa gleich)" in text
    assert (
        "Tag 4: Deine Schmerzen sind seit dem Start nicht genug zurückgegangen: von 6 auf 6."
        in (text)
    )
    assert content.text(M.GET_CHECKED, "de") in text
    assert "zuletzt eingecheckt an Tag 4 von 7" in text


def test_a_warning_sign_at_triage_and_no_plan(shipped) -> None:  # type: ignore[no-untyped-def]
    content: Content = shipped[0]
    first = content.rules.rules[0]
    ep = episode(1, status="closed", red_flag=first.tier, outcome="emergency")
    summary = build_summary(export("en", [ep], [(1, first.id, "yes")], []), content)
    assert summary is not None
    assert f"- {first.question.en} → Yes" in summary.text
    assert content.rules.tiers[first.tier].message.en in summary.text
    assert "No plan started." in summary.text
    assert "Pain by day (0 = no pain, 10 = worst imaginable):\n–" in summary.text
    assert summary.text.endswith("Self-reported data, not a diagnosis.")
    assert summary.png_bytes().startswith(b"\x89PNG")  # the chart says: no scores yet


def test_a_stop_sign_is_said_once_and_old_answers_are_shown_as_stored(shipped) -> None:  # type: ignore[no-untyped-def]
    """A 'stop' sign of the checklist marks a possible injury; the summary gives its
    advice once. An episode of older content (the sign came from the soreness answer
    'during', an option since gone) still gets the injury advice and its answer."""
    content: Content = shipped[0]
    stop = next(rule for rule in content.rules.rules if rule.tier == "stop")
    flagged = episode(1, red_flag="stop", assessment="injury")
    summary = build_summary(export("en", [flagged], [(1, stop.id, "yes")], []), content)
    assert summary is not None
    assert summary.text.count(content.rules.tiers["stop"].message.en) == 1
    assert content.text(M.ASSESS_INJURY, "en") not in summary.text

    older = [*all_clear(content)[:-3], (1, "onset", "during"), (1, "feel", "dull")]
    summary = build_summary(export("en", [flagged], older, []), content)
    assert summary is not None
    assert "About the pain: during; Dull, like sore muscles" in summary.text
    assert content.text(M.ASSESS_INJURY, "en") in summary.text


def test_an_older_episode_and_none_at_all(shipped) -> None:  # type: ignore[no-untyped-def]
    content: Content = shipped[0]
    episodes = [episode(1, status="closed"), episode(2, started_at=START + timedelta(days=30))]
    scores = [(1, 0, 7), (1, 1, 5), (2, 0, 3)]
    data = export("en", episodes, all_clear(content, 1), scores)
    latest, older = build_summary(data, content), build_summary(data, content, seq=1)
    assert latest is not None and older is not None
    assert latest.scores == ((0, 3),) and older.scores == ((0, 7), (1, 5))
    assert "Started on: Mon 2 Mar" in older.text and "Started on: Wed 1 Apr" in latest.text
    assert build_summary(export("en", [], [], []), content) is None
    assert build_summary(data, content, seq=9) is None


async def test_documents_of_an_escalated_week(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    await full_week(database, shipped)
    data = await export_of(database, "console:bob")
    summary = build_summary(data, shipped[0])
    assert summary is not None
    assert "Day 1: That's a new warning sign." in summary.text
    assert summary.scores == ((0, 8), (1, 8))
    pdf = summary.pdf_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/Count 1" in pdf  # one page
    assert pdf == summary.pdf_bytes()  # no creation date: the same summary, the same bytes
    png = summary.png_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 400_000
