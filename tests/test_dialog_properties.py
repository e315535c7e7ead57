"""Random walks through the dialogs: the safety promises hold on every path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.codec import dump_state, load_state
from content.loader import Content
from dialogs import CheckinDue, Choice, Command, Node, Text
from dialogs.intents import Matcher
from dialogs.texts import ADVICE_BY_DAY, TIP_BY_LIFT
from tests.support.dialog import DialogDriver

MOVES = st.one_of(
    st.tuples(st.just("pick"), st.integers(0, 10)),
    st.tuples(st.just("text"), st.sampled_from(["my back hurts", "yes", "no", "5", "", "🙂", "8"])),
    st.tuples(
        st.just("command"),
        st.sampled_from(["start", "plan", "checkin", "help", "stop", "summary", "progress"]),
    ),
    st.tuples(st.just("restart"), st.just(0)),  # the state stored and read back
    st.tuples(st.just("time"), st.sampled_from([1, 6, 24, 49])),
    st.tuples(st.just("stale"), st.just(0)),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=st.lists(MOVES, max_size=60))
def test_random_paths_keep_the_safety_promises(
    shipped: tuple[Content, Matcher], moves: list[tuple[str, int | str]]
) -> None:
    content, intents = shipped
    d = DialogDriver(content, intents, now=datetime(2026, 3, 2, 9, tzinfo=UTC))
    exercise_texts = {content.messages[k].en for k in (*ADVICE_BY_DAY[4:], *TIP_BY_LIFT.values())}
    d.text("my back hurts")
    for kind, value in moves:
        before = d.state
        flagged = bool(before and before.episode and before.episode.no_exercise)
        seq = before.episode.seq if before and before.episode else None
        if kind == "pick" and d.last_question is not None:
            options = d.last_question.options
            assert d.last_question.question is not None
            if options:
                chosen = options[int(value) % len(options)].value
                messages = d.send(Choice(d.last_question.question, chosen))
            else:
                messages = d.send(Text(str(value)))
        elif kind == "text":
            messages = d.send(Text(str(value)))
        elif kind == "command":
            messages = d.send(Command(str(value)))
        elif kind == "stale":
            messages = d.send(Choice("0", "yes"))
        elif kind == "restart":
            assert d.state is not None
            d.state = load_state(dump_state(d.state))
            assert d.state == before
            continue
        else:
            d.advance(timedelta(hours=int(value)))
            episode = d.state.episode if d.state else None
            if episode is None or episode.next_at is None or episode.next_day is None:
                continue
            messages = d.send(CheckinDue(episode.seq, episode.next_day, episode.next_at))
        state = d.state
        assert state is not None and state.node in set(Node)
        if any(m.urgent for m in messages):
            assert messages[0].urgent, "the emergency message always comes first"
        same_episode = state.episode is not None and state.episode.seq == seq
        if flagged and same_episode:
            for message in messages:
                assert not any(t in message.text for t in exercise_texts), message.text
