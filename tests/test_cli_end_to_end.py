"""The installed command, run as a user would: demo, scripted chat, content check."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from content.loader import CONTENT_DIR

BACKCOACH = [sys.executable, "-m", "bot.cli"]


def run(
    args: list[str], tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "BACKCOACH_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [*BACKCOACH, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lang", "escalation", "recovered"),
    [("en", "physiotherapist", "Congratulations"), ("de", "Physiotherapeut", "Glückwunsch")],
)
def test_demo_plays_eight_days_with_an_escalation(
    tmp_path: Path, lang: str, escalation: str, recovered: str
) -> None:
    result = run(["demo", "--lang", lang], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("========") // 2 == 15  # start + two visits on each of 7 days
    for day in range(1, 8):
        assert f"{day}" in out
    assert escalation.lower() in out.lower()
    assert recovered.lower() in out.lower()
    assert "Traceback" not in out + result.stderr
    assert not re.search(r"^\[(alex|sam)\] *$", out, re.M), "an empty message was printed"
    assert re.search(r"^\[sam\] \[file\] .*summary-.*\.pdf$", out, re.M)  # the summary PDF


def test_scripted_chat_numbers_pick_options_and_time_advances(tmp_path: Path) -> None:
    script = "\n".join(
        ["my back hurts", "1", *["2"] * 12, "3", "1", "1", "1", "6", "1", "::advance 1d", "4"]
    )
    result = run(
        ["chat", "--lang", "en", "--at", "2026-03-02T10:00+01:00"], tmp_path, script + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert "[1] Yes, I agree" in result.stdout
    assert "Check-in, day 1" in result.stdout
    assert "compared with yesterday" in result.stdout.lower()

    again = run(["chat", "--at", "2026-03-03T10:05+01:00"], tmp_path, "2\n")
    assert again.returncode == 0 and "Any new numbness" in again.stdout  # state survived


def test_bad_lines_get_a_friendly_reply(tmp_path: Path) -> None:
    lines = ["", "x" * 10_000, "🙂", "/nonsense", "99", "my back hurts", "perhaps"]
    result = run(["chat", "--lang", "en"], tmp_path, "\n".join(lines) + "\n")
    assert result.returncode == 0 and "Traceback" not in result.stderr + result.stdout
    assert "/nonsense" in result.stdout


def test_content_check_names_file_and_line_of_a_broken_text(tmp_path: Path) -> None:
    broken = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, broken, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    messages = broken / "messages.yaml"
    lines = messages.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("help:"))
    lines[index] = "helpp:"
    messages.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(["content", "check"], tmp_path, BACKCOACH_CONTENT_DIR=str(broken))
    assert result.returncode == 2
    assert f"messages.yaml:{index + 1}: helpp: unknown text" in result.stderr
    assert "missing text 'help'" in result.stderr
    assert "Traceback" not in result.stderr

    ok = run(["content", "check"], tmp_path)
    assert ok.returncode == 0 and "content OK" in ok.stdout


def test_yaml_with_python_tags_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, broken, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (broken / "consent.yaml").write_text("version: !!python/object/apply:os.system ['true']\n")
    result = run(["content", "check"], tmp_path, BACKCOACH_CONTENT_DIR=str(broken))
    assert result.returncode == 2 and "consent.yaml:1" in result.stderr


def test_digest_preview_send_now_and_article_stats(tmp_path: Path) -> None:
    chat = run(
        ["chat", "--lang", "en"],
        tmp_path,
        stdin="/subscribe\n1\n/read soreness-or-injury\n/articles\n",
    )
    assert chat.returncode == 0 and "Soreness or injury?" in chat.stdout
    assert "**" not in chat.stdout  # the console shows bold as plain text
    preview = run(["digest", "preview"], tmp_path)
    assert preview.returncode == 0
    assert "Next issue: 1, to 1 confirmed subscribers" in preview.stdout
    assert "1. soreness-or-injury (1 reads)" in preview.stdout
    sent = run(["digest", "send-now"], tmp_path)
    assert sent.returncode == 0 and "Issue 1: 1 messages queued" in sent.stdout
    again = run(["digest", "preview"], tmp_path)
    assert "Next issue: 2" in again.stdout
    stats = run(["articles", "stats"], tmp_path)
    assert stats.returncode == 0
    assert any(
        line.split()[:3] == ["soreness-or-injury", "1", "1"] for line in stats.stdout.splitlines()
    )
    assert any(line.split()[:1] == ["1"] and " 1 " in line for line in stats.stdout.splitlines())
