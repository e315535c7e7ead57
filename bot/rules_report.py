"""``backcoach rules``: the red-flag rule set as a table a clinician can review.

Sources are long and shared by many rules, so the table cites them by number and
lists them once below; each tier's action is printed in full once, in the legend.
"""

from __future__ import annotations

import textwrap
from typing import Literal

from content.localized import LANGS, Lang
from content.model import TIER_ORDER, RuleSet, Tier

LangChoice = Literal["de", "en", "both"]
QUESTION_WIDTH = 64

# What the dialog does after a "yes" besides sending the tier's message (dialogs/triage.py);
# the messages themselves come from the content, this is the part that lives in code.
EFFECT: dict[Tier, str] = {
    "emergency": "emergency message first; the checklist and the episode end",
    "doctor": "doctor message; a plan may follow, without exercise advice",
    "stop": "stop message; a plan may follow, without exercise advice",
}


def rules_report(rules: RuleSet, lang: LangChoice = "both") -> str:
    """The rule set as plain text: rules table, tier actions, numbered sources."""
    langs: tuple[Lang, ...] = LANGS if lang == "both" else (lang,)
    sources = _numbered_sources(rules)
    id_width = max(len(rule.id) for rule in rules.rules)
    tier_width = max(len(tier) for tier in TIER_ORDER)
    src_width = max(3, len(f"[{len(sources)}]"))
    head = f"{'#':>2}  {'tier':<{tier_width}}  {'rule':<{id_width}}  {'src':<{src_width}}  question"
    indent = " " * (2 + 2 + tier_width + 2 + id_width + 2 + src_width + 2)
    lines = [
        f"Red-flag rules, version {rules.version}: {len(rules.rules)} yes/no questions, "
        "asked in this order; a 'yes' triggers the action of the rule's tier.",
        "",
        head,
        "-" * (len(indent) + QUESTION_WIDTH),
    ]
    for number, rule in enumerate(rules.rules, start=1):
        first = f"{number:>2}  {rule.tier:<{tier_width}}  {rule.id:<{id_width}}  "
        first += f"{f'[{sources[rule.source]}]':<{src_width}}  "
        question = [
            wrapped
            for code in langs
            for wrapped in _wrap(rule.question.get(code), f"{code}: " if len(langs) > 1 else "")
        ]
        lines.append(first + question[0])
        lines += [indent + rest for rest in question[1:]]
    lines += ["", "Actions (what a 'yes' in each tier does)"]
    for tier in TIER_ORDER:
        action = rules.tiers[tier]
        lines.append(f"  {tier} [{sources[action.source]}]: {EFFECT[tier]}")
        for code in langs:
            text = " ".join(action.message.get(code).split())
            lines += ["    " + row for row in _wrap(text, f"{code}: ")]
    lines += ["", "Sources"]
    lines += [f"  [{number}] {source}" for source, number in sources.items()]
    return "\n".join(lines) + "\n"


def _numbered_sources(rules: RuleSet) -> dict[str, int]:
    """Each distinct source once, numbered in order of first use (rules, then tiers)."""
    found: dict[str, int] = {}
    cited = [rule.source for rule in rules.rules]
    cited += [rules.tiers[tier].source for tier in TIER_ORDER]
    for source in cited:
        found.setdefault(source, len(found) + 1)
    return found


def _wrap(text: str, label: str) -> list[str]:
    return textwrap.wrap(
        text, QUESTION_WIDTH, initial_indent=label, subsequent_indent=" " * len(label)
    )
