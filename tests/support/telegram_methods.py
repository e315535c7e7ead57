"""The Bot API methods that work on chats and messages, with Telegram's checks and errors.

Everything here is synchronous bookkeeping; HTTP lives in telegram_api.py, long polling and
webhooks in telegram_updates.py. Error descriptions are the ones Telegram sends, because bots
match on them ("message is not modified", "bot was blocked by the user").
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from tests.support.telegram_formatting import check_reply_markup, rendered_text
from tests.support.telegram_limits import RateLimiter
from tests.support.telegram_model import (
    ApiError,
    BotMessage,
    JsonDict,
    TelegramUser,
    UploadedFile,
)

Method = Callable[[JsonDict, tuple[UploadedFile, ...]], Any]

_CHAT_ACTIONS = frozenset(
    {"typing", "choose_sticker", "find_location", "upload_document", "upload_photo"}
    | {"record_video", "upload_video", "record_voice", "upload_voice"}
    | {"record_video_note", "upload_video_note"}
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


def _not_modified() -> ApiError:
    return ApiError.bad_request(
        "message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )


class BotApiState:
    """Users, the messages the bot sent, its commands and the open button presses."""

    def __init__(
        self,
        bot: JsonDict,
        limiter: RateLimiter,
        wall_clock: Callable[[], float],
        require_known_chat: bool,
    ) -> None:
        self.bot = bot
        self.limiter = limiter
        self.require_known_chat = require_known_chat
        self.users: dict[int, TelegramUser] = {}
        self.blocked: set[int] = set()
        self.messages: dict[tuple[int, int], BotMessage] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.open_callbacks: set[str] = set()
        self._wall_clock = wall_clock
        # In a private chat the user's and the bot's messages share one id sequence.
        self._last_message_id: defaultdict[int, int] = defaultdict(int)
        self._files = 0

    def now(self) -> int:
        return int(self._wall_clock())

    def next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def message_json(self, message: BotMessage) -> JsonDict:
        return message.to_json(self.bot, self.users[message.chat_id].chat_json())

    def methods(self) -> dict[str, Method]:
        return {
            "getMe": lambda params, files: self.bot,
            "sendMessage": self.send_message,
            "sendDocument": lambda params, files: self.send_file("document", params, files),
            "sendPhoto": lambda params, files: self.send_file("photo", params, files),
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "answerCallbackQuery": self.answer_callback_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
        }

    def _chat(self, params: JsonDict) -> TelegramUser:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise ApiError.bad_request("chat_id is empty")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            if self.require_known_chat or not isinstance(chat_id, int):
                raise ApiError.bad_request("chat not found")
            user = self.users[chat_id] = TelegramUser(chat_id, f"user{chat_id}")
        return user

    def _store(self, method: str, chat: TelegramUser, params: JsonDict, **media: Any) -> JsonDict:
        """Check the limits, then keep the new message and answer it."""
        source = params.get("text")
        text = None if source is None else rendered_text(source, params.get("parse_mode"))
        check_reply_markup(params.get("reply_markup"))
        self.limiter.admit(method, chat.id)
        message = BotMessage(
            chat_id=chat.id,
            message_id=self.next_message_id(chat.id),
            date=self.now(),
            source_text=source,
            parse_mode=params.get("parse_mode"),
            text=text,
            reply_markup=params.get("reply_markup"),
            media={k: v for k, v in media.items() if v is not None},
        )
        self.messages[chat.id, message.message_id] = message
        return self.message_json(message)

    def send_message(self, params: JsonDict, files: tuple[UploadedFile, ...]) -> JsonDict:
        chat = self._chat(params)
        if not params.get("text"):
            raise ApiError.bad_request("message text is empty")
        return self._store("sendMessage", chat, params)

    def send_file(self, kind: str, params: JsonDict, files: tuple[UploadedFile, ...]) -> JsonDict:
        chat = self._chat(params)
        upload = next((f for f in files if f.field == kind), None)
        if upload is None and not isinstance(params.get(kind), str):
            raise ApiError.bad_request(f"there is no {kind} in the request")
        if upload is not None and upload.size == 0:
            raise ApiError.bad_request("file must be non-empty")
        caption = params.get("caption")
        if caption is not None:
            caption = rendered_text(caption, params.get("parse_mode"))
        self._files += 1
        described: JsonDict = {
            # A string parameter is a file_id or URL the bot reuses instead of uploading.
            "file_id": params.get(kind) or f"file-{self._files}",
            "file_unique_id": f"unique-{self._files}",
        }
        if upload is not None:
            described["file_size"] = upload.size
        if kind == "document":
            if upload is not None and upload.filename:
                described["file_name"] = upload.filename
            return self._store("sendDocument", chat, params, document=described, caption=caption)
        photo = [{**described, "width": 320, "height": 240}]
        return self._store("sendPhoto", chat, params, photo=photo, caption=caption)

    def send_chat_action(self, params: JsonDict, files: tuple[UploadedFile, ...]) -> bool:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError.bad_request("wrong parameter action in request")
        return True

    def _message_to_edit(self, method: str, params: JsonDict) -> BotMessage:
        chat = self._chat(params)
        message_id = params.get("message_id")
        message = self.messages.get((chat.id, message_id)) if isinstance(message_id, int) else None
        if message is None:
            raise ApiError.bad_request("message to edit not found")
        check_reply_markup(params.get("reply_markup"))
        self.limiter.admit(method, chat.id)  # edits count only if a test adds them to the limits
        return message

    def _edited(self, message: BotMessage, params: JsonDict) -> JsonDict:
        # Telegram drops the inline keyboard when an edit does not repeat it.
        message.reply_markup = params.get("reply_markup")
        message.edit_date = self.now()
        return self.message_json(message)

    def edit_message_text(self, params: JsonDict, files: tuple[UploadedFile, ...]) -> JsonDict:
        message = self._message_to_edit("editMessageText", params)
        if message.text is None:
            raise ApiError.bad_request("there is no text in the message to edit")
        text, parse_mode = params.get("text"), params.get("parse_mode")
        if not text:
            raise ApiError.bad_request("message text is empty")
        if (text, parse_mode, params.get("reply_markup")) == (
            message.source_text,
            message.parse_mode,
            message.reply_markup,
        ):
            raise _not_modified()
        message.text = rendered_text(text, parse_mode)
        message.source_text, message.parse_mode = text, parse_mode
        return self._edited(message, params)

    def edit_message_reply_markup(
        self, params: JsonDict, files: tuple[UploadedFile, ...]
    ) -> JsonDict:
        message = self._message_to_edit("editMessageReplyMarkup", params)
        if params.get("reply_markup") == message.reply_markup:
            raise _not_modified()
        return self._edited(message, params)

    def answer_callback_query(self, params: JsonDict, files: tuple[UploadedFile, ...]) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self.open_callbacks:
            # Also what a second answer to the same button press gets.
            raise ApiError.bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.open_callbacks.discard(query_id)
        return True

    @staticmethod
    def _commands_key(params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    def set_my_commands(self, params: JsonDict, files: tuple[UploadedFile, ...]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError.bad_request("can't parse commands JSON object")
        for command in commands:
            if not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise ApiError.bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError.bad_request("command description is empty")
        self.commands[self._commands_key(params)] = commands
        return True

    def get_my_commands(self, params: JsonDict, files: tuple[UploadedFile, ...]) -> list[JsonDict]:
        return self.commands.get(self._commands_key(params), [])
