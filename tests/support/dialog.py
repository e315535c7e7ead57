"""Drives the pure dialog core like a person would, for table and property tests."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from content.loader import Content
from content.localized import Lang
from dialogs import CheckinDue, Choice, Command, Context, Event, State, Text, step
from dialogs.actions import Action, Say
from dialogs.intents import Matcher


@dataclass
class DialogDriver:
    content: Content
    intents: Matcher
    now: datetime
    lang: Lang = "en"
    state: State | None = None
    actions: list[Action] = field(default_factory=list)  # of the last step
    log: list[Action] = field(default_factory=list)  # of all steps
    last_question: Say | None = None

    def ctx(self) -> Context:
        return Context(
            now=self.now,
            content=self.content,
            intents=self.intents,
            default_lang=self.lang,
            default_tz="Europe/Berlin",
        )

    def send(self, event: Event) -> list[Say]:
        transition = step(self.state, event, self.ctx())
        self.state = transition.state
        self.actions = list(transition.actions)
        self.log += self.actions
        for message in transition.messages:
            if message.question is not None:
                self.last_question = message
        return list(transition.messages)

    def text(self, text: str) -> list[Say]:
        return self.send(Text(text))

    def command(self, name: str) -> list[Say]:
        return self.send(Command(name))

    def pick(self, value: str) -> list[Say]:
        """Press the button with ``value`` on the last question."""
        assert self.last_question is not None, "no question was asked"
        values = [o.value for o in self.last_question.options]
        assert value in values or self.last_question.scale, f"{value!r} not in {values}"
        assert self.last_question.question is not None
        return self.send(Choice(self.last_question.question, value))

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def due(self) -> list[Say]:
        """Deliver the check-in the state has scheduled, if it is due now."""
        assert self.state is not None and self.state.episode is not None
        episode = self.state.episode
        assert episode.next_at is not None and episode.next_day is not None
        if episode.next_at > self.now:
            return []
        return self.send(CheckinDue(episode.seq, episode.next_day, episode.next_at))

    def texts(self, messages: list[Say]) -> str:
        return "\n".join(m.text for m in messages)

    def with_state(self, **changes: object) -> None:
        assert self.state is not None
        self.state = replace(self.state, **changes)  # type: ignore[arg-type]
