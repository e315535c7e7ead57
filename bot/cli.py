"""The ``backcoach`` command line: run, chat, demo, db, content."""

from __future__ import annotations

import argparse
import asyncio
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
    try:
        config = load_config()
        _logging(config, quiet=args.command in ("chat", "demo", "run", None))
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
    if args.command in ("chat", "run", None):
        return await _chat(args, config)
    return 2


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
    console = ConsoleTransport(out=sys.stdout)
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
    level = logging.WARNING if quiet else getattr(logging, config.log_level, logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Request URLs carry the bot token; never log them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
