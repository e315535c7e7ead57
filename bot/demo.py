"""``backcoach demo``: a scripted 8-day episode through the real stack on a simulated clock.

Two people write to the coach: Alex recovers over the week; Sam's pain does not ease,
so from day 4 the coach recommends a physiotherapist and offers a summary. Answers
are given by option value, so the script survives edits to the texts.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import Coach
from bot.clock import SimClock
from bot.config import Config
from bot.console import ConsoleTransport
from content.localized import Lang
from dialogs import Choice, Node, Text

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 24, 19, 30, tzinfo=TZ)  # a Tuesday; the week crosses the DST change
ALEX, SAM = "console:alex", "console:sam"
OPENING = {
    "en": {ALEX: "my back hurts after deadlifts yesterday", SAM: "lower back pain since squats"},
    "de": {
        ALEX: "Mein Rücken tut weh nach dem Kreuzheben",
        SAM: "Rückenschmerzen seit den Kniebeugen",
    },
}
# Alex: soreness that fades (check-in mornings). Sam: pain that stays (evenings), so the
# plan escalates on day 4.
TRIAGE = {
    ALEX: ["agree", *["no"] * 12, "later", "dull", "deadlift", "yes", "6", "morning"],
    SAM: ["agree", *["no"] * 12, "hours", "dull", "squat", "yes", "6", "evening"],
}
CHECKINS = {
    ALEX: [
        (6, "same"),
        (5, "better"),
        (4, "better"),
        (3, "better"),
        (2, "better"),
        (1, "better"),
        (1, "same"),
    ],
    SAM: [
        (6, "same"),
        (6, "same"),
        (6, "same"),
        (6, "same"),
        (6, "same"),
        (5, "better"),
        (6, "worse"),
    ],
}
VISIT = {ALEX: time(8, 30), SAM: time(18, 30)}  # half an hour after each one's check-in


@dataclass
class Transcript:
    coach: Coach
    console: ConsoleTransport
    clock: SimClock
    out: TextIO

    async def says(self, address: str, line: str) -> None:
        """``line`` is an option value when the last question offers it, else typed text."""
        last = self.console.last_options.get(address)
        option = next((o for o in last.options if o.value == line), None) if last else None
        who = address.split(":", 1)[1]
        event: Choice | Text = Text(line)
        if last is not None and last.question and option is not None:
            event = Choice(last.question, option.value)
        self.out.write(f"{who}> {option.label if option else line}\n\n")
        await self.coach.service.handle(address, event)
        await self.coach.sender.flush()

    async def at(self, moment: datetime) -> None:
        """Move the clock; the scheduler tick delivers whatever became due."""
        self.clock.set(moment)
        self.out.write(f"======== {moment:%a %d %b %Y, %H:%M} {moment.tzname()} ========\n\n")
        await self.coach.tick()
        await self.coach.sender.flush()

    async def node(self, address: str) -> Node | None:
        state = await self.coach.service.state_of(address)
        return state.node if state is not None else None


async def run_demo(lang: Lang, out: TextIO, config: Config) -> None:
    with tempfile.TemporaryDirectory(prefix="backcoach-demo-") as tmp:
        config = replace(config, data_dir=Path(tmp), database_url="", default_lang=lang)
        clock = SimClock(START)
        console = ConsoleTransport(out=out, show_recipient=True, files_dir=Path(tmp) / "files")
        coach = Coach(config, clock, [console])
        try:
            await coach.start()
            script = Transcript(coach, console, clock, out)
            await script.at(START)
            for address in (ALEX, SAM):
                await script.says(address, OPENING[lang][address])
                for answer in TRIAGE[address]:
                    await script.says(address, answer)
            for day in range(1, len(CHECKINS[ALEX]) + 1):
                for address in (ALEX, SAM):
                    local = datetime.combine(START.date() + timedelta(days=day), VISIT[address])
                    await script.at(local.replace(tzinfo=TZ))
                    await _answer_checkin(script, address, day)
        finally:
            await coach.close()


async def _answer_checkin(script: Transcript, address: str, day: int) -> None:
    if await script.node(address) is not Node.CHECKIN_PAIN:
        return
    score, trend = CHECKINS[address][day - 1]
    for answer in (str(score), trend, "no"):
        await script.says(address, answer)
    if await script.node(address) is Node.OFFER_SUMMARY:
        await script.says(address, "yes")  # the summary to show the physiotherapist
