"""Files on Matrix: uploaded, posted as m.file / m.image, encrypted where the room is."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from nio import MemoryDownloadResponse
from nio.crypto.attachments import decrypt_attachment

from bot.charts import pain_chart_png
from bot.clock import SimClock
from bot.matrix.files import png_size
from bot.transport import Attachment, Delivery, Outgoing
from tests.matrix.harness import DEADLINE_S, START, Bot, Chat, Person, World, until
from tests.support.synapse import Synapse


async def test_an_export_in_a_plain_room_downloads_from_its_url(
    synapse: Synapse, matrix_world: World
) -> None:
    bot, person = await _chat(synapse, matrix_world, "eva", encrypted=False)

    files = await _export(bot, person)

    assert [f["msgtype"] for f in files] == ["m.file", "m.file"]
    exported = next(f for f in files if f["body"].endswith(".json"))
    assert "file" not in exported  # a plain room: the url itself, no keys
    data = await _download(person, exported["url"])
    assert json.loads(data)["format"] == "backcoach-export"
    assert exported["info"] == {"mimetype": "application/json", "size": len(data)}
    table = next(f for f in files if f["body"].endswith(".csv"))
    assert (await _download(person, table["url"])).startswith(b"episode,day,score")


async def test_an_export_in_an_encrypted_room_is_stored_encrypted_and_decrypts(
    synapse: Synapse, matrix_world: World
) -> None:
    bot, person = await _chat(synapse, matrix_world, "jon", encrypted=True)

    files = await _export(bot, person)

    exported = next(f for f in files if f["body"].endswith(".json"))
    assert "url" not in exported  # the keys travel in `file`, inside the encrypted event
    secret = exported["file"]
    stored = await _download(person, secret["url"])
    with pytest.raises(ValueError):
        json.loads(stored)  # the server holds ciphertext only
    data = decrypt_attachment(stored, secret["key"]["k"], secret["hashes"]["sha256"], secret["iv"])
    assert json.loads(data)["format"] == "backcoach-export"
    assert exported["info"] == {"mimetype": "application/json", "size": len(data)}


async def test_a_retried_send_posts_its_text_and_picture_once(
    synapse: Synapse, matrix_world: World
) -> None:
    bot, person = await _chat(synapse, matrix_world, "ida", encrypted=False)
    png = pain_chart_png([(0, 6), (1, 5), (2, 3)], "en")
    chart = Outgoing(
        text="Your pain so far",
        key=f"test:{uuid4().hex}",
        attachment=Attachment("pain.png", "image/png", png),
    )
    address = Chat(bot, person).address

    # Sent, then sent again as after a timeout (all of it), then as after the text had
    # arrived (the file only): each repeat uploads again but must not post again.
    for attempt in (chart, chart, Outgoing(**{**chart.__dict__, "parts_sent": 1})):
        assert (await bot.transport.send(address, attempt)).delivery is Delivery.SENT
    done = Outgoing(text="done", key=f"test:{uuid4().hex}")
    assert (await bot.transport.send(address, done)).delivery is Delivery.SENT

    # "done" came last, so once it is here everything sent before it is here too.
    texts = await person.read(2)
    assert [m.body for m in texts] == ["Your pain so far", "done"]
    pictures = _bot_files(person)
    assert len(pictures) == 1
    picture = pictures[0]
    assert picture["msgtype"] == "m.image" and picture["body"] == "pain.png"
    width, height = png_size(png) or (0, 0)
    assert picture["info"] == {"mimetype": "image/png", "size": len(png), "w": width, "h": height}
    assert await _download(person, picture["url"]) == png


@pytest.fixture
def small_uploads(synapse: Synapse, tmp_path: Path) -> Iterator[Synapse]:
    """A homeserver that takes uploads of up to 1 KiB (``synapse`` first: it installs)."""
    with Synapse(tmp_path / "small", extra_config={"max_upload_size": "1K"}) as server:
        yield server


async def test_a_file_the_server_refuses_fails_after_its_text(
    small_uploads: Synapse, matrix_world: World
) -> None:
    bot, person = await _chat(small_uploads, matrix_world, "uma", encrypted=False)
    big = Attachment("big.pdf", "application/pdf", b"%PDF" + bytes(8192))

    result = await bot.transport.send(
        Chat(bot, person).address, Outgoing(text="Your summary", key="k1", attachment=big)
    )

    # Refused for good (never retried), the text delivered and counted, no traceback.
    assert result.delivery is Delivery.FAILED and "M_TOO_LARGE" in result.detail
    assert result.parts_sent == 1
    assert [m.body for m in await person.read(1)] == ["Your summary"]
    assert _bot_files(person) == []


async def test_a_file_refused_for_good_is_explained_to_the_person(
    small_uploads: Synapse, matrix_world: World
) -> None:
    """The export's JSON is over the server's limit, its CSV under it: the CSV arrives,
    and instead of the JSON, a line saying which file could not be sent, and why."""
    bot, person = await _chat(small_uploads, matrix_world, "ida", encrypted=False)
    chat = Chat(bot, person)
    await chat.say("my back hurts")
    await chat.answer("agree")  # consent and the first safety question: a JSON over 1 KiB
    before = len(person.received)

    await bot.handled(await person.say("/export"))
    await bot.coach.sender.flush()
    await bot.coach.sender.flush()  # the notice, queued when the refusal was settled
    texts = [m.body for m in await person.read(before + 3)][before:]

    assert texts[0].startswith("Here is everything I have stored about you")
    assert texts[1].startswith("Safety question 1/12")  # asked again after the export
    assert "couldn't send you the file backcoach-" in texts[2] and ".json" in texts[2]
    assert "too large" in texts[2]
    assert [f["body"].rsplit(".", 1)[1] for f in _bot_files(person)] == ["csv"]
    refused = [r for _, m, r in bot.recorder.log if m.attachment and r.delivery is Delivery.FAILED]
    assert len(refused) == 1 and "M_TOO_LARGE" in refused[0].detail


async def _chat(server: Synapse, world: World, name: str, *, encrypted: bool) -> tuple[Bot, Person]:
    bot_user = server.register(f"coach-{uuid4().hex[:8]}")
    bot = await world.bot(server, bot_user, SimClock(START))
    person = await world.person(server, name, bot_user.user_id, e2e=encrypted)
    room_id = await person.open_chat(encrypted=encrypted)

    async def bot_knows_the_room() -> bool:
        return room_id in bot.transport.client.rooms  # its own sync saw the join

    await until(bot_knows_the_room, "the bot's sync never showed the room")
    return bot, person


async def _export(bot: Bot, person: Person) -> list[dict[str, Any]]:
    """Ask for /export; the two files (JSON and CSV) as their events' contents."""
    await bot.handled(await person.say("/export"))
    await bot.coach.sender.flush()
    deadline = time.monotonic() + DEADLINE_S
    while len(_bot_files(person)) < 2 and time.monotonic() < deadline:
        await person.sync()
    files = _bot_files(person)
    assert len(files) == 2, files
    return files


def _bot_files(person: Person) -> list[dict[str, Any]]:
    """The contents of the bot's file and image events so far (decrypted where needed)."""
    contents = [
        event.source.get("content", {})
        for event in person.timeline
        if getattr(event, "sender", None) == person.bot_id
    ]
    return [c for c in contents if c.get("msgtype") in ("m.file", "m.image")]


async def _download(person: Person, url: str) -> bytes:
    response = await person.client.download(url)
    assert isinstance(response, MemoryDownloadResponse), response
    return response.body
