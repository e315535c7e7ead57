"""Table tests for the dialog core, driven like a person through the pure step()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs import Node
from dialogs.actions import ForgetUser, RecordConsent, RecordPain, RecordTriage
from dialogs.plan import improved_enough
from tests.support.dialog import DialogDriver

RULES = 12


def consent_and_clear_flags(d: DialogDriver) -> None:
    d.text("my back hurts")
    d.pick("agree")
    for _ in range(RULES):
        d.pick("no")


def enrol(d: DialogDriver, onset: str = "later", feel: str = "dull", baseline: int = 6) -> None:
    consent_and_clear_flags(d)
    d.pick(onset)
    d.pick(feel)
    d.pick("deadlift")
    d.pick("yes")
    d.text(str(baseline))
    d.pick("morning")


def checkin(d: DialogDriver, score: int, trend: str = "same", flag: str = "no") -> list[str]:
    d.advance(timedelta(days=1))
    asked = d.due()
    assert asked and d.state is not None and d.state.node is Node.CHECKIN_PAIN
    out = d.text(str(score)) + d.pick(trend) + d.pick(flag)
    return [m.text for m in out]


def test_entry_asks_consent_and_says_not_a_doctor(dialog: DialogDriver) -> None:
    messages = dialog.text("my back hurts")
    assert "not a doctor" in messages[0].text
    assert dialog.state is not None and dialog.state.node is Node.CONSENT


def test_declined_consent_gives_advice_and_stores_nothing(dialog: DialogDriver) -> None:
    dialog.text("my back hurts")
    advice = dialog.pick("decline")
    assert "112" in dialog.texts(advice)
    assert dialog.state is not None and dialog.state.episode is None
    assert not any(isinstance(a, RecordConsent | RecordTriage | RecordPain) for a in dialog.log)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_emergency_sign_is_answered_with_the_emergency_message_first(
    dialog: DialogDriver, index: int
) -> None:
    dialog.text("mein Rücken tut weh")
    dialog.pick("agree")
    for _ in range(index):
        dialog.pick("no")
    messages = dialog.pick("yes")
    assert messages[0].urgent and "112" in messages[0].text
    assert dialog.state is not None and dialog.state.episode is not None
    assert dialog.state.episode.outcome == "emergency"


@pytest.mark.parametrize("index", range(3, RULES))
def test_other_red_flags_stop_exercise_advice(dialog: DialogDriver, index: int) -> None:
    dialog.text("back pain")
    dialog.pick("agree")
    for _ in range(index):
        dialog.pick("no")
    dialog.pick("yes")
    assert dialog.state is not None and dialog.state.episode is not None
    assert dialog.state.episode.no_exercise
    assert dialog.state.node is Node.OFFER_PLAN


@pytest.mark.parametrize(
    ("onset", "feel", "assessment"),
    [
        ("later", "dull", "soreness"),  # the source's picture: 24-72 h, dull and tight
        ("hours", "dull", "unclear"),
        ("unsure", "dull", "unclear"),
        ("later", "other", "unclear"),
    ],
)
def test_soreness_or_unclear_after_a_clear_checklist(
    dialog: DialogDriver, onset: str, feel: str, assessment: str
) -> None:
    consent_and_clear_flags(dialog)
    dialog.pick(onset)
    dialog.pick(feel)
    dialog.pick("squat")
    episode = dialog.state.episode if dialog.state else None
    assert episode is not None
    assert (episode.assessment, episode.red_flag) == (assessment, None)


def test_the_soreness_questions_do_not_ask_again_what_the_checklist_asked(
    dialog: DialogDriver,
) -> None:
    consent_and_clear_flags(dialog)  # "pain during training?" and "sharp?" were both no
    assert dialog.last_question is not None
    onset = {o.value: o.label for o in dialog.last_question.options}
    assert set(onset) == {"hours", "later", "unsure"} and "During" not in str(onset)
    dialog.pick("later")
    feel = [o.value for o in dialog.last_question.options]
    assert feel == ["dull", "other"] and "Sore muscles are" in dialog.last_question.text
    assert "sharp" not in dialog.last_question.text.lower()


@pytest.mark.parametrize("sign", ["pain_during_training", "sharp_pain"])
def test_a_warning_sign_of_the_checklist_is_a_possible_injury(
    dialog: DialogDriver, sign: str
) -> None:
    dialog.text("my back hurts")
    dialog.pick("agree")
    ids = [rule.id for rule in dialog.content.rules.rules]
    for _ in range(ids.index(sign)):
        dialog.pick("no")
    said = dialog.texts(dialog.pick("yes"))
    episode = dialog.state.episode if dialog.state else None
    assert episode is not None
    assert (episode.assessment, episode.red_flag) == ("injury", "stop")
    assert "Stop training now, cool the painful area, and see a doctor" in said
    assert dialog.state is not None and dialog.state.node is Node.OFFER_PLAN


@pytest.mark.parametrize(("onset", "feel"), [("during", "dull"), ("later", "sharp")])
def test_soreness_answers_given_under_older_content_still_mean_injury(
    dialog: DialogDriver, onset: str, feel: str
) -> None:
    """Someone who answered the old options before an upgrade, and picks the lift after."""
    consent_and_clear_flags(dialog)
    dialog.pick("later")
    dialog.pick("dull")
    assert dialog.state is not None and dialog.state.episode is not None
    stored = dialog.state.with_episode(onset=onset, feel=feel)
    dialog.state = stored
    said = dialog.texts(dialog.pick("squat"))
    episode = dialog.state.episode
    assert episode is not None
    assert (episode.assessment, episode.red_flag) == ("injury", "stop")
    assert "assessment_injury" in episode.flags and "see a doctor" in said
    assert "For your squats" not in said  # no technique tip for a possible injury
    summary = dialog.command("summary")[0].text
    assert "signs of an injury" in summary and "assessment_injury" not in summary
    old_answer = onset if onset == "during" else feel  # its option is gone: shown as stored
    assert f"About the pain: {'during' if onset == 'during' else '1–3 days later'}" in summary
    assert old_answer in summary and "Squat" in summary


def test_enrolment_schedules_the_first_checkin_at_local_hour_next_day(
    dialog: DialogDriver,
) -> None:
    enrol(dialog)
    assert dialog.state is not None and dialog.state.node is Node.ENROLLED
    episode = dialog.state.episode
    assert episode is not None and episode.next_day == 1 and episode.next_at is not None
    local = episode.next_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date().isoformat(), local.hour) == ("2026-03-03", 8)


@pytest.mark.parametrize(
    ("baseline", "score", "improved"),
    [(6, 4, True), (6, 5, False), (10, 7, True), (10, 8, False), (3, 1, True), (2, 2, False)],
)
def test_improvement_rule(baseline: int, score: int, improved: bool) -> None:
    assert improved_enough(baseline, score) is improved


def test_no_progress_from_day_4_escalates_and_offers_a_summary(dialog: DialogDriver) -> None:
    enrol(dialog, baseline=6)
    for _ in range(3):
        texts = checkin(dialog, 6)
    assert dialog.state is not None and not dialog.state.episode.escalated  # type: ignore[union-attr]
    texts = checkin(dialog, 6)
    assert any("physio" in t.lower() for t in texts)
    assert dialog.state.node is Node.OFFER_SUMMARY
    summary = dialog.pick("yes")
    assert "not a diagnosis" in summary[0].text.lower()


def test_two_low_days_close_the_episode_as_recovered(dialog: DialogDriver) -> None:
    enrol(dialog, baseline=4)
    checkin(dialog, 1, "better")
    checkin(dialog, 0, "better")
    assert dialog.state is not None and dialog.state.episode is not None
    assert dialog.state.episode.outcome == "recovered"


def test_two_unanswered_checkins_give_one_reminder_then_quiet(dialog: DialogDriver) -> None:
    enrol(dialog)
    for _ in range(2):
        dialog.advance(timedelta(days=1))
        assert dialog.due()
    dialog.advance(timedelta(days=1))
    reminder = dialog.due()
    assert len(reminder) == 1 and dialog.state is not None
    assert dialog.state.episode is not None and dialog.state.episode.status == "paused"
    assert dialog.state.episode.next_at is None
    woke = dialog.text("hi")
    assert dialog.state.node is Node.CHECKIN_PAIN and len(woke) == 2


def test_a_checkin_whose_day_has_passed_is_skipped(dialog: DialogDriver) -> None:
    enrol(dialog)
    dialog.advance(timedelta(days=2))
    assert dialog.due() == []
    assert dialog.state is not None and dialog.state.episode is not None
    assert dialog.state.episode.next_day == 2


def test_dst_change_keeps_one_checkin_per_day_at_the_hour(dialog: DialogDriver) -> None:
    dialog.now = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # DST starts on Sunday 29 March
    enrol(dialog)
    hours = []
    for _ in range(5):
        checkin(dialog, 5)
        episode = dialog.state.episode if dialog.state else None
        assert episode is not None and episode.next_at is not None
        hours.append(episode.next_at.astimezone(ZoneInfo("Europe/Berlin")).hour)
    assert hours == [8] * 5


@pytest.mark.parametrize(
    "line", ["", "   ", "x" * 10_000, "🙂🙂🙂", "/nonsense", "7", "maybe tomorrow"]
)
def test_bad_input_in_a_yes_no_question_repeats_it_and_changes_nothing(
    dialog: DialogDriver, line: str
) -> None:
    dialog.text("my back hurts")
    dialog.pick("agree")
    before = dialog.state
    messages = dialog.text(line)
    assert dialog.state is not None and before is not None
    assert (dialog.state.node, dialog.state.index) == (before.node, before.index)
    assert dialog.state.episode == before.episode
    assert messages[-1].options and not any(isinstance(a, RecordTriage) for a in dialog.actions)


def test_a_stale_button_has_expired(dialog: DialogDriver) -> None:
    dialog.text("my back hurts")
    old = dialog.last_question
    dialog.pick("agree")
    assert old is not None and old.question is not None
    from dialogs import Choice

    messages = dialog.send(Choice(old.question, "decline"))
    assert "expired" in messages[0].text.lower()
    assert dialog.state is not None and dialog.state.has_consent


def test_transition_says_whether_a_button_was_taken(dialog: DialogDriver) -> None:
    """Transports mark a pressed button as chosen or expired from ``Transition.stale``."""
    from dialogs import Choice, Text, step

    dialog.text("my back hurts")
    current = dialog.last_question
    assert current is not None and current.question is not None
    taken = step(dialog.state, Choice(current.question, "agree"), dialog.ctx())
    tampered = step(dialog.state, Choice(current.question, "maybe"), dialog.ctx())
    old_turn = step(dialog.state, Choice(str(int(current.question) - 1), "agree"), dialog.ctx())
    typed = step(dialog.state, Text("agree"), dialog.ctx())
    assert not taken.stale and tampered.stale and old_turn.stale and not typed.stale
    assert tampered.state.node == dialog.state.node  # nothing changed but the turn


def test_delete_after_confirmation_forgets_everything(dialog: DialogDriver) -> None:
    enrol(dialog)
    dialog.command("delete")
    dialog.pick("yes")
    assert any(isinstance(a, ForgetUser) for a in dialog.actions)
    assert dialog.state is not None and dialog.state.episode is None


def test_language_follows_the_words(dialog: DialogDriver) -> None:
    messages = dialog.text("Mein Rücken tut weh nach dem Kreuzheben")
    assert dialog.state is not None and dialog.state.profile.lang == "de"
    assert "Arzt" in messages[0].text or "Ärztin" in messages[0].text


def test_settings_change_time_zone_reschedules(dialog: DialogDriver) -> None:
    enrol(dialog)
    dialog.command("settings")
    dialog.pick("timezone")
    dialog.text("America/New_York")
    episode = dialog.state.episode if dialog.state else None
    assert episode is not None and episode.next_at is not None
    assert episode.next_at.astimezone(ZoneInfo("America/New_York")).hour == 8


@pytest.mark.parametrize(
    ("typed", "hour"), [("1", 8), ("2", 12), ("3", 18), ("7", 7), ("1:00", 1), ("21 Uhr", 21)]
)
def test_the_checkin_hour_takes_an_option_number_or_a_time(
    dialog: DialogDriver, typed: str, hour: int
) -> None:
    consent_and_clear_flags(dialog)
    for answer in ("later", "dull", "deadlift", "yes"):
        dialog.pick(answer)
    dialog.text("5")
    dialog.text(typed)
    assert dialog.state is not None and dialog.state.profile.hour == hour


def test_the_summary_names_every_flag_in_words(dialog: DialogDriver) -> None:
    dialog.text("my back hurts")
    dialog.pick("agree")
    for _ in range(7):  # up to the first of the source's warning signs
        dialog.pick("no")
    dialog.pick("yes")  # pain already during training
    dialog.pick("yes")  # the plan, without exercises
    dialog.text("6")
    dialog.pick("morning")
    checkin(dialog, 6, "same", flag="yes")
    dialog.pick("no")  # not an emergency sign
    text = dialog.command("summary")[0].text
    assert "Did you already have the pain during training?" in text
    assert "Check-in day 1: new numbness" in text
    assert "pain_during_training" not in text and "checkin_flag" not in text
