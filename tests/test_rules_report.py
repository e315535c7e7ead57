"""``backcoach rules``: every rule, in order, with its question, source and action."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.rules_report import rules_report
from content.loader import Content
from content.model import RedFlagRule, RuleSet
from dialogs.intents import Matcher


def flat(text: str) -> str:
    """The report with wrapping undone, so a wrapped question reads as one line."""
    return " ".join(text.split())


def rules_of(shipped: tuple[Content, Matcher]) -> RuleSet:
    return shipped[0].rules


def test_every_rule_with_both_questions_source_and_action(shipped) -> None:  # type: ignore[no-untyped-def]
    rules = rules_of(shipped)
    report = rules_report(rules)
    text = flat(report)
    assert f"version {rules.version}" in report
    for rule in rules.rules:
        assert rule.id in report
        assert flat(rule.question.de) in text and flat(rule.question.en) in text
        assert rule.source in report
    for tier, action in rules.tiers.items():
        assert flat(action.message.de) in text and flat(action.message.en) in text
        assert action.source in report and f"  {tier} [" in report


def test_rows_follow_the_order_the_questions_are_asked(shipped) -> None:  # type: ignore[no-untyped-def]
    rules = rules_of(shipped)
    lines = rules_report(rules).splitlines()
    rows = [line.split() for line in lines if line[:2].strip().isdigit()]
    assert [(row[1], row[2]) for row in rows] == [(r.tier, r.id) for r in rules.rules]
    sources = {line.split("] ", 1)[1] for line in lines if line.startswith("  [")}
    assert sources == {r.source for r in rules.rules} | {a.source for a in rules.tiers.values()}


@pytest.mark.parametrize(("lang", "other"), [("en", "de"), ("de", "en")])
def test_one_language(shipped, lang: str, other: str) -> None:  # type: ignore[no-untyped-def]
    rules = rules_of(shipped)
    text = flat(rules_report(rules, lang))  # type: ignore[arg-type]
    first = rules.rules[0].question
    assert flat(first.get(lang)) in text  # type: ignore[arg-type]
    assert flat(first.get(other)) not in text  # type: ignore[arg-type]


def test_the_report_reflects_the_content_not_the_code(shipped) -> None:  # type: ignore[no-untyped-def]
    rules = rules_of(shipped)
    extra = RedFlagRule.model_validate(
        {
            "id": "new_rule",
            "tier": "stop",
            "question": {"de": "Eine neue Frage?", "en": "A new question?"},
            "source": "A reviewed source, 2026",
        }
    )
    changed = rules.model_copy(update={"version": 7, "rules": (*rules.rules, extra)})
    report = rules_report(changed, "en")
    assert "version 7: 13 yes/no questions" in report
    assert "new_rule" in report and "A new question?" in report
    assert "A reviewed source, 2026" in report


def test_cli_prints_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "saddle_numbness" in out and "Sources" in out and "Hast du" not in out
