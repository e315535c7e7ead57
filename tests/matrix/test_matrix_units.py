"""The Matrix transport's pure parts: settings, rendering, reaction numbers (no server)."""

import pytest

from bot.config import ConfigError
from bot.matrix import from_env
from bot.matrix.inbound import REPLY_FALLBACK, reaction_number
from bot.matrix.render import content, transaction_id
from bot.transport import Outgoing
from dialogs.actions import Option

BASE = {
    "MATRIX_HOMESERVER": "https://matrix.example.org/",
    "MATRIX_USER_ID": "@coach:example.org",
    "MATRIX_PASSWORD": "secret",
}


def test_settings_are_read_from_the_environment() -> None:
    settings = from_env({**BASE, "MATRIX_ALLOWED_SERVERS": "example.org, Other.net:8448"})
    assert settings is not None
    assert settings.homeserver == "https://matrix.example.org"
    assert settings.allowed_servers == {"example.org", "other.net:8448"}
    assert settings.allows("@a:example.org") and not settings.allows("@a:evil.org")
    assert "secret" not in repr(settings)
    assert from_env({}) is None  # Matrix not configured


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"MATRIX_HOMESERVER": "matrix.example.org"}, "MATRIX_HOMESERVER"),
        ({"MATRIX_USER_ID": "coach"}, "MATRIX_USER_ID"),
        ({"MATRIX_PASSWORD": ""}, "MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN"),
        ({"MATRIX_ALLOWED_SERVERS": "example.org, not a server"}, "MATRIX_ALLOWED_SERVERS"),
    ],
)
def test_bad_settings_name_the_setting(change: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        from_env({**BASE, **change})


def test_options_are_a_numbered_list_in_plain_text_and_escaped_html() -> None:
    message = Outgoing(
        text="Pain <now>?\nPick one.",
        question="3",
        options=(Option("a", "Better & easier"), Option("b", "Worse")),
    )
    event = content(message)
    assert event["body"] == "Pain <now>?\nPick one.\n\n1. Better & easier\n2. Worse"
    assert event["formatted_body"] == (
        "<p>Pain &lt;now&gt;?<br>Pick one.</p><ol><li>Better &amp; easier</li><li>Worse</li></ol>"
    )


def test_transaction_ids_are_stable_per_outbox_key() -> None:
    assert transaction_id("checkin:1:3") == transaction_id("checkin:1:3")
    assert transaction_id("checkin:1:3") != transaction_id("checkin:1:4")
    assert transaction_id("") != transaction_id("")  # no key: nothing to repeat


@pytest.mark.parametrize(
    ("key", "number"),
    [("1\ufe0f\u20e3", 1), ("7\u20e3", 7), ("0\ufe0f\u20e3", 0), ("\U0001f51f", 10)],
)
def test_number_reactions_are_numbers(key: str, number: int) -> None:
    assert reaction_number(key) == number


@pytest.mark.parametrize("key", ["👍", "1", "#\ufe0f\u20e3", ""])
def test_other_reactions_are_not(key: str) -> None:
    assert reaction_number(key) is None


def test_a_reply_is_read_without_its_quote() -> None:
    body = "> <@coach:example.org> Safety question 1/12: ...\n> 1. Yes\n\n2"
    assert REPLY_FALLBACK.sub("", body) == "2"


def test_a_stalled_upload_gives_up_before_its_outbox_lease_runs_out() -> None:
    # Leases are not renewed: a send that outlives one may be taken over and go twice.
    from bot.leases import LEASE_SECONDS
    from bot.matrix.files import UPLOAD_TIMEOUT_S

    assert UPLOAD_TIMEOUT_S < LEASE_SECONDS / 1.2
