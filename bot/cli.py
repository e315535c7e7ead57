"""The ``backcoach`` command line: run, chat, demo, db, content."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import datetime
from typing import get_args

from bot.config import Config, ConfigError, load_config
from content.localized import Lang
from content.source import ContentError

log = logging.getLogger("backcoach")
LANG_CHOICES = list(get_args(Lang))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "doctor":  # reports a configuration problem itself, among others
        from bot.doctor import run_doctor

        return asyncio.run(run_doctor(quick=args.quick))
    try:
        config = load_config()
        from bot.serve import has_platform

        console = args.command in ("chat", "demo") or not has_platform(config)
        _logging(config, quiet=console and args.command in ("chat", "demo", "run", None))
        return asyncio.run(_dispatch(args, config))
    except ContentError as exc:
        print("The content files have problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"Configuration problem: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backcoach", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="serve the configured platforms (the console without any)")
    chat = sub.add_parser("chat", help="talk to the coach in this terminal")
    chat.add_argument("--lang", choices=LANG_CHOICES, help="language to start in")
    chat.add_argument("--user", default="local", help="who you are (one conversation each)")
    chat.add_argument(
        "--at", help="start a simulated clock at this ISO time (e.g. 2026-03-02T09:00+01:00)"
    )
    demo = sub.add_parser("demo", help="print a scripted 8-day episode")
    demo.add_argument("--lang", choices=LANG_CHOICES, default="en")
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade", "current"])
    content = sub.add_parser("content", help="content files")
    content.add_argument("action", choices=["check"])
    rules = sub.add_parser("rules", help="print the red-flag rule set for review")
    rules.add_argument("--lang", choices=[*LANG_CHOICES, "both"], default="both")
    stats = sub.add_parser("stats", help="users, outcomes, check-in response, pain by day")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    digest = sub.add_parser("digest", help="the biweekly articles digest")
    digest.add_argument("action", choices=["preview", "send-now"])
    articles = sub.add_parser("articles", help="articles and their reads")
    articles.add_argument("action", choices=["stats"])
    retention = sub.add_parser("retention", help="delete data past its retention period")
    retention.add_argument("--dry-run", action="store_true", help="only count what would go")
    doctor = sub.add_parser("doctor", help="check configuration, database, content, Telegram")
    doctor.add_argument("--quick", action="store_true", help="no network checks (health check)")
    return parser


async def _dispatch(args: argparse.Namespace, config: Config) -> int:
    if args.command == "demo":
        from bot.demo import run_demo

        await run_demo(args.lang, sys.stdout, config)
        return 0
    if args.command == "db":
        return await _db(args.action, config)
    if args.command == "content":
        return _content_check(config)
    if args.command in ("digest", "articles"):
        return await _digest(args, config)
    if args.command in ("rules", "stats", "retention"):
        return await _operator(args, config)
    if args.command in ("run", None):
        from bot.serve import has_platform

        if has_platform(config):
            return await _serve(config)
    if args.command in ("chat", "run", None):
        return await _chat(args, config)
    return 2


async def _serve(config: Config) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot.serve import serve

    try:
        return await serve(config)
    except InvalidToken:
        print("Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather.", file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(f"Cannot reach the Telegram Bot API: {exc.message}", file=sys.stderr)
        return 1


async def _digest(args: argparse.Namespace, config: Config) -> int:
    """digest preview | send-now, articles stats: they only read, or only queue."""
    from bot.app import load_all_content
    from bot.clock import SystemClock
    from bot.db.database import Database
    from bot.digest_report import articles_stats, preview, settings_of
    from scheduler.digest import run_digest

    content, _ = load_all_content(config.content_dir)
    db, now, settings = Database(config.db_url), SystemClock().now(), settings_of(config)
    try:
        if await db.current_revision() is None:
            print("The database has no schema yet: run `backcoach db upgrade`.", file=sys.stderr)
            return 2
        if args.command == "articles":
            print(await articles_stats(db, content, now, settings.every))
        elif args.action == "preview":
            print(await preview(db, content, now, settings))
        else:
            issue, queued = await run_digest(db, content, now, settings, force=True)
            number = issue.number if issue is not None else "?"
            print(
                f"Issue {number}: {queued} messages queued; the running bot sends each at the "
                "subscriber's local hour."
            )
        return 0
    finally:
        await db.dispose()


async def _operator(args: argparse.Namespace, config: Config) -> int:
    """rules, stats and retention: the operator's commands."""
    from bot.clock import SystemClock
    from bot.db.database import Database

    if args.command == "rules":
        from bot.app import load_all_content
        from bot.rules_report import rules_report

        print(rules_report(load_all_content(config.content_dir)[0].rules, args.lang), end="")
        return 0
    db, now = Database(config.db_url), SystemClock().now()
    try:
        if await db.current_revision() is None:
            print("The database has no schema yet: run `backcoach db upgrade`.", file=sys.stderr)
            return 2
        if args.command == "stats":
            from bot.stats import collect, stats_table

            stats = await collect(db, now)
            text = json.dumps(stats.as_json(), indent=2) + "\n" if args.json else stats_table(stats)
            print(text, end="")
            return 0
        from scheduler.retention import Policy, count_due, run_retention

        policy = Policy(closed_days=config.retention_days, inactive_days=config.inactive_days)
        if args.dry_run:
            print(f"would delete: {(await count_due(db, now, policy)).summary()}")
        else:
            print(f"deleted: {(await run_retention(db, now, policy)).summary()}")
        return 0
    finally:
        await db.dispose()


async def _db(action: str, config: Config) -> int:
    from bot.db.database import Database

    db = Database(config.db_url)
    try:
        if action == "upgrade":
            await db.upgrade()
        print(f"schema revision: {await db.current_revision() or 'none'}")
        return 0
    finally:
        await db.dispose()


def _content_check(config: Config) -> int:
    from bot.app import load_all_content

    content, _ = load_all_content(config.content_dir)
    print(
        f"content OK: {len(content.messages)} messages, {len(content.questions)} questions, "
        f"{len(content.rules.rules)} red-flag rules (version {content.rules.version})"
    )
    return 0


async def _chat(args: argparse.Namespace, config: Config) -> int:
    from dataclasses import replace

    from bot.app import Coach
    from bot.chat import HINT, run_chat, stdin_lines
    from bot.clock import OffsetClock, SimClock
    from bot.console import ConsoleTransport

    lang = getattr(args, "lang", None)
    if lang:
        config = replace(config, default_lang=lang)
    interactive = sys.stdin.isatty()
    at = getattr(args, "at", None)
    clock: SimClock | OffsetClock
    if at:
        try:
            start = datetime.fromisoformat(at)
        except ValueError:
            raise ConfigError(f"--at is not an ISO date and time: {at!r}") from None
        if start.tzinfo is None:
            raise ConfigError("--at needs a UTC offset, e.g. 2026-03-02T09:00+01:00")
        clock = SimClock(start)
    else:
        clock = OffsetClock() if interactive else SimClock()
    console = ConsoleTransport(out=sys.stdout, files_dir=config.data_dir / "files")
    coach = Coach(config, clock, [console])
    if interactive:
        print(f"backcoach — console chat. Data: {config.db_url}\n{HINT}")
    address = f"console:{getattr(args, 'user', 'local')}"
    try:
        lines = stdin_lines(interactive)
        await run_chat(coach, console, clock, lines, address, sys.stdout, live=interactive)
    finally:
        await coach.close()
    return 0


def _logging(config: Config, *, quiet: bool) -> None:
    from bot.logs import configure

    level = logging.WARNING if quiet else getattr(logging, config.log_level, logging.INFO)
    configure(level, config.log_format)  # httpx (URLs carry the token) stays at WARNING


if __name__ == "__main__":
    sys.exit(main())
