"""Articles in the chat: the list, one article page by page, and links from the dialogs.

Article buttons carry commands (``/read <slug> [page] [issue]``), not answers, so they
work from any message at any time: an old list, a digest two weeks later.
"""

from __future__ import annotations

from dataclasses import replace

from content.articles import Article
from dialogs.actions import Action, Option, RecordRead, Say
from dialogs.context import Context
from dialogs.render import say, text
from dialogs.states import State
from dialogs.texts import M

SORENESS = "soreness-or-injury"
PREVENTION = "protect-your-back-long-term"
POPULAR_SHOWN = 3
SAFE_TAG = "red-flags"  # articles about warning signs, not about training


def read_command(slug: str, page: int = 1, issue: int | None = None) -> str:
    parts = [f"/read {slug}"]
    if page > 1 or issue is not None:
        parts.append(str(page))
    if issue is not None:
        parts.append(str(issue))
    return " ".join(parts)


def link(state: State, ctx: Context, slug: str) -> tuple[Option, ...]:
    """A button that opens ``slug``; none if the operator removed that article."""
    article = ctx.content.articles.get(slug)
    if article is None:
        return ()
    return (Option(read_command(slug), _title(article, state)),)


def with_link(message: Say, state: State, ctx: Context, slug: str) -> Say:
    return replace(message, options=message.options + link(state, ctx, slug))


def listing(state: State, ctx: Context) -> list[Action]:
    """Every article, newest first, each with its one-line summary and a button."""
    library, lang = ctx.content.articles, state.profile.lang
    lines = [text(state, ctx, M.ARTICLES)]
    popular = [library[slug] for slug in ctx.popular if slug in library][:POPULAR_SHOWN]
    if popular:
        titles = ", ".join(_title(a, state) for a in popular)
        lines.append(text(state, ctx, M.ARTICLES_POPULAR, titles=titles))
    lines += [f"• **{_title(a, state)}**: {a.text(lang).summary}" for a in library]
    options = tuple(Option(read_command(a.slug), _title(a, state)) for a in library)
    return [Say("\n\n".join(lines), options=options)]


def read(state: State, ctx: Context, arg: str) -> list[Action]:
    """One page of an article; opening its first page counts as a read."""
    words = arg.split()
    slug = words[0] if words else ""
    article = ctx.content.articles.get(slug)
    if article is None:
        return [say(state, ctx, M.ARTICLE_NOT_FOUND), *listing(state, ctx)]
    pages = ctx.content.articles.pages(slug, state.profile.lang)
    page = min(max(_number(words, 1) or 1, 1), len(pages))
    heading = f"**{_title(article, state)}**"
    if len(pages) > 1:
        heading += f" ({page}/{len(pages)})"
    options: tuple[Option, ...] = ()
    if page < len(pages):
        label = text(state, ctx, M.NEXT_PAGE)
        options = (Option(read_command(slug, page + 1), label),)
    actions: list[Action] = [Say(f"{heading}\n\n{pages[page - 1]}", options=options)]
    episode = state.episode
    if page == 1 and episode is not None and episode.no_exercise and SAFE_TAG not in article.tags:
        # Reading is their choice; training again before a check-up is not our advice.
        actions.insert(0, say(state, ctx, M.GET_CHECKED))
    if page == 1:
        actions.insert(0, RecordRead(slug, issue=_number(words, 2)))
    return actions


def _number(words: list[str], index: int) -> int | None:
    if len(words) > index and words[index].isdigit() and len(words[index]) < 7:
        return int(words[index])
    return None


def _title(article: Article, state: State) -> str:
    return article.text(state.profile.lang).title
