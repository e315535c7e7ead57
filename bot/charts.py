"""/progress: the pain curve of a plan as a small PNG, and a one-line summary of it.

Drawn on a bare ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot, no display,
no global state, so it is safe in a server and gives the same bytes for the same input.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from content.localized import Lang
from dialogs.states import PLAN_DAYS

MAX_PAIN = 10
# The plan's phases (dialogs/plan.py): days 1–3 pause training but keep moving,
# days 4–7 a careful return.
PHASES: tuple[tuple[int, int, dict[Lang, str], str], ...] = (
    (1, 3, {"de": "Pause, in Bewegung bleiben", "en": "rest, keep moving"}, "#dbe9f6"),
    (4, PLAN_DAYS, {"de": "vorsichtiger Wiedereinstieg", "en": "gentle return"}, "#e2f2df"),
)
_LABELS: dict[Lang, dict[str, str]] = {
    "de": {
        "x": "Plantag (0 = Start)",
        "y": "Schmerz (0 = keiner, 10 = schlimmster)",
        "title": "Deine Rückenschmerzen im Plan",
        "empty": "Noch keine Schmerzwerte",
    },
    "en": {
        "x": "Plan day (0 = start)",
        "y": "Pain (0 = none, 10 = worst)",
        "title": "Your back pain during the plan",
        "empty": "No pain scores yet",
    },
}
Scores = Sequence[tuple[int, int]]


def pain_chart_png(scores: Scores, lang: Lang, *, title: str | None = None) -> bytes:
    """An 800×450 PNG: plan day 0–7 across, pain 0–10 up, phases shaded, scores marked.

    Without scores it is the same frame with the note "No pain scores yet", so a caller
    can always send it. Scores outside day 0–7 or pain 0–10 raise ValueError.
    """
    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    draw_pain(figure.add_subplot(), scores, lang, title=title)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def draw_pain(axes: Axes, scores: Scores, lang: Lang, *, title: str | None = None) -> None:
    """Draw the chart into ``axes`` (the summary document puts it on its page)."""
    points = _checked(scores)
    labels = _LABELS[lang]
    for first, last, name, colour in PHASES:
        axes.axvspan(first - 0.5, last + 0.5, color=colour, zorder=0, linewidth=0)
        axes.text(
            (first + last) / 2, MAX_PAIN + 0.35, name[lang], ha="center", va="bottom", fontsize=9
        )
    if points:
        days, values = zip(*points, strict=True)
        axes.plot(days, values, color="#1f4e79", linewidth=2, marker="o", markersize=7, zorder=3)
        for day, value in points:
            axes.annotate(
                str(value), (day, value), textcoords="offset points", xytext=(0, 8),
                ha="center", fontsize=9, zorder=4,
            )  # fmt: skip
    else:
        note = {"facecolor": "white", "edgecolor": "#999999", "boxstyle": "round,pad=0.5"}
        axes.text(PLAN_DAYS / 2, MAX_PAIN / 2, labels["empty"], ha="center", va="center", bbox=note)
    axes.set_xlim(-0.5, PLAN_DAYS + 0.5)
    axes.set_ylim(-0.3, MAX_PAIN + 1.3)
    axes.set_xticks(range(PLAN_DAYS + 1))
    axes.set_yticks(range(0, MAX_PAIN + 1, 2))
    axes.set_xlabel(labels["x"])
    axes.set_ylabel(labels["y"])
    axes.set_title(title if title is not None else labels["title"], fontsize=11)
    axes.grid(axis="y", color="#cccccc", linewidth=0.5)
    axes.spines[["top", "right"]].set_visible(False)


def progress_line(scores: Scores, lang: Lang) -> str:
    """E.g. "Day 0: 6 → day 5: 2, down 4 points" (first and latest score)."""
    points = _checked(scores)
    if not points:
        return "Noch keine Schmerzwerte." if lang == "de" else "No pain scores yet."
    (first_day, first), (last_day, last) = points[0], points[-1]
    if len(points) == 1:
        return f"Tag {first_day}: {first}" if lang == "de" else f"Day {first_day}: {first}"
    change = last - first
    size = abs(change)
    if lang == "de":
        unit = "Punkt" if size == 1 else "Punkte"
        how = (
            "unverändert" if change == 0 else f"{size} {unit} {'mehr' if change > 0 else 'weniger'}"
        )
        return f"Tag {first_day}: {first} → Tag {last_day}: {last}, {how}"
    unit = "point" if size == 1 else "points"
    how = "unchanged" if change == 0 else f"{'up' if change > 0 else 'down'} {size} {unit}"
    return f"Day {first_day}: {first} → day {last_day}: {last}, {how}"


def _checked(scores: Scores) -> list[tuple[int, int]]:
    points = sorted(scores)
    for day, value in points:
        if not 0 <= day <= PLAN_DAYS or not 0 <= value <= MAX_PAIN:
            raise ValueError(f"not a plan day 0–{PLAN_DAYS} and pain 0–10: {(day, value)}")
    return points
