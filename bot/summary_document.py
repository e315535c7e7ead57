"""The one-page summary for the physiotherapist or doctor: text, PDF and PNG.

Built from an ``Export`` (what is stored, including every safety answer) and the content:
the page is the ``summary`` message of content/messages.yaml, filled with the episode's
start, triage answers, pain by day and what the coach advised (quoting the messages it
sent), then the pain chart and the content's closing line (self-reported, no diagnosis).
Only the few labels of the plan line are written here.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.charts import PHASES, draw_pain
from bot.db.models import EpisodeRow, TriageAnswer
from bot.export import Export
from content.loader import Content
from content.localized import Lang
from dialogs.dates import day_text
from dialogs.plan import RETURN_PHASE_FROM, improved_enough
from dialogs.schedule import local_date
from dialogs.states import PLAN_DAYS
from dialogs.texts import M

SORENESS_FIELDS = ("onset", "feel", "lift")
_CHECKIN_SIGN = re.compile(r"^checkin_(flag|emergency)_day(\d+)$")
_PLAN: dict[Lang, str] = {
    "de": "Plan: zuletzt eingecheckt an Tag {day} von {days} ({phases}).",
    "en": "Plan: last check-in on day {day} of {days} ({phases}).",
}
_NO_PLAN: dict[Lang, str] = {"de": "Kein Plan begonnen.", "en": "No plan started."}
_DAYS: dict[Lang, str] = {"de": "Tage {first}–{last}: {name}", "en": "days {first}–{last}: {name}"}
_ON_DAY: dict[Lang, str] = {"de": "Tag {day}: ", "en": "Day {day}: "}
A4 = (8.27, 11.69)


@dataclass(frozen=True)
class Summary:
    """One episode's summary: ``text`` for the chat, ``pdf_bytes``/``png_bytes`` as files."""

    lang: Lang
    text: str
    scores: tuple[tuple[int, int], ...]

    def pdf_bytes(self) -> bytes:
        # No creation date or producer: the same summary gives the same bytes.
        meta: dict[str, str | None] = {"Creator": None, "Producer": None, "CreationDate": None}
        return _save(self._page(), "pdf", meta)

    def png_bytes(self) -> bytes:
        return _save(self._page(), "png", {"Software": None})

    def _page(self) -> Figure:
        title, _, rest = self.text.partition("\n")
        body, _, closing = rest.rstrip().rpartition("\n")
        figure = Figure(figsize=A4, dpi=100)
        FigureCanvasAgg(figure)
        figure.text(0.07, 0.965, title, fontsize=14, weight="bold", va="top")
        _fit(figure, body.strip("\n"), top=0.935, bottom=0.40)
        draw_pain(figure.add_axes((0.1, 0.08, 0.84, 0.27)), self.scores, self.lang, title="")
        figure.text(0.07, 0.025, closing, fontsize=10, weight="bold")
        return figure


def build_summary(export: Export, content: Content, seq: int | None = None) -> Summary | None:
    """The summary of episode ``seq`` (default: the latest); None without any episode."""
    episode = next((e for e in reversed(export.episodes) if seq in (None, e.seq)), None)
    if episode is None:
        return None
    lang: Lang = "de" if export.profile.lang == "de" else "en"
    answers = [a for a in export.triage_answers if a.episode_seq == episode.seq]
    scores = tuple(export.scores(episode.seq))
    start = episode.start_date or local_date(episode.started_at, export.profile.tz)
    text = content.text(
        M.SUMMARY,
        lang,
        start=day_text(start, lang),
        answers="; ".join(_soreness(answers, content, lang)) or "–",
        flags="\n".join(f"- {line}" for line in _signs(answers, content, lang)) or "–",
        scores="\n".join(f"- {line}" for line in _scores(export, episode.seq, start, content, lang))
        or "–",
        escalated="\n\n".join(_advised(episode, answers, scores, content, lang)) or "–",
    )
    return Summary(lang, text, scores)


def _soreness(answers: Sequence[TriageAnswer], content: Content, lang: Lang) -> list[str]:
    given = {a.question: a.answer for a in answers}
    return [
        content.questions[field].label(given[field], lang)
        for field in SORENESS_FIELDS
        if field in given
    ]


def _signs(answers: Sequence[TriageAnswer], content: Content, lang: Lang) -> list[str]:
    """Every safety question asked, with its answer, in the order asked."""
    rules = {rule.id: rule.question.get(lang) for rule in content.rules.rules}
    labels = content.questions["redflag"].options
    lines = []
    for answer in answers:
        label = labels[answer.answer].get(lang) if answer.answer in labels else answer.answer
        if answer.question in rules:
            lines.append(f"{rules[answer.question]} → {label}")
        elif match := _CHECKIN_SIGN.match(answer.question):
            kind, day = match.groups()
            prompt = " ".join(content.questions[f"checkin_{kind}"].prompt.get(lang).split())
            lines.append(_ON_DAY[lang].format(day=day) + f"{prompt} → {label}")
    return lines


def _scores(export: Export, seq: int, start: date, content: Content, lang: Lang) -> list[str]:
    trends = content.questions["checkin_trend"].options
    return [
        f"{day_text(start + timedelta(days=p.day), lang)}: {p.score}/10"
        + (f" ({trends[p.trend].get(lang)})" if p.trend in trends else "")
        for p in export.pain_scores
        if p.episode_seq == seq
    ]


def _advised(
    episode: EpisodeRow,
    answers: Sequence[TriageAnswer],
    scores: tuple[tuple[int, int], ...],
    content: Content,
    lang: Lang,
) -> list[str]:
    """What the coach said, in the words of the content: warnings, the plan, escalation."""
    tiers = {rule.id: rule.tier for rule in content.rules.rules}
    said: list[str] = []
    yes = [a.question for a in answers if a.answer == "yes"]
    for question in yes:
        if question in tiers:
            said.append(content.rules.tiers[tiers[question]].message.get(lang))
        elif question.startswith("checkin_emergency_"):
            said.append(content.text(M.EMERGENCY, lang))
    stop_said = any(tiers.get(question) == "stop" for question in yes)
    if episode.assessment == "injury" and not stop_said:
        # Assessed from the soreness answers (conversations of older content versions).
        said.append(content.text(M.ASSESS_INJURY, lang))
    said.append(_plan_line(scores, lang))
    if episode.escalated:
        said += _escalation(yes, scores, content, lang)
    if episode.red_flag is not None or episode.escalated:
        said.append(content.text(M.GET_CHECKED, lang))
    return said


def _plan_line(scores: tuple[tuple[int, int], ...], lang: Lang) -> str:
    if not scores:
        return _NO_PLAN[lang]
    phases = "; ".join(
        _DAYS[lang].format(first=first, last=last, name=name[lang])
        for first, last, name, _ in PHASES
    )
    return _PLAN[lang].format(day=max(day for day, _ in scores), days=PLAN_DAYS, phases=phases)


def _escalation(
    yes: list[str], scores: tuple[tuple[int, int], ...], content: Content, lang: Lang
) -> list[str]:
    """Why the plan escalated: a new warning sign at a check-in, or too little progress."""
    for question in yes:
        if match := _CHECKIN_SIGN.match(question):
            first_paragraph = content.text(M.ESCALATE_REDFLAG, lang).split("\n\n")[0]
            return [_ON_DAY[lang].format(day=match.group(2)) + first_paragraph]
    baseline = next((score for day, score in scores if day == 0), None)
    for day, score in scores:
        if (
            baseline is not None
            and day >= RETURN_PHASE_FROM
            and not improved_enough(baseline, score)
        ):
            said = content.text(M.ESCALATE_NO_PROGRESS, lang, first=baseline, now=score)
            return [_ON_DAY[lang].format(day=day) + said.split("\n\n")[0]]
    return []


def _fit(figure: Figure, body: str, *, top: float, bottom: float) -> None:
    """The body text, wrapped, at the largest size from 9 pt down that fits its space."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    height = (top - bottom) * figure.bbox.height
    size = 9.0
    while True:
        width = int(figure.bbox.width * 0.86 / (size * 0.55 * figure.dpi / 72))
        wrapped = "\n".join(_wrap(line, width) for line in body.split("\n"))
        text = figure.text(0.07, top, wrapped, fontsize=size, va="top", linespacing=1.3)
        if size <= 6 or text.get_window_extent(renderer).height <= height:
            return
        text.remove()
        size -= 0.5


def _wrap(line: str, width: int) -> str:
    indent = "  " if line.startswith("- ") else ""
    return textwrap.fill(line, width, subsequent_indent=indent) if line else ""


def _save(figure: Figure, kind: str, metadata: dict[str, str | None]) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format=kind, metadata=metadata)
    return out.getvalue()
