"""A local, in-process emulator of the Telegram Bot API.

What it is for
--------------
* End-to-end tests: the real python-telegram-bot ``Application`` (or a bare ``telegram.Bot``) talks
  to this emulator through PTB's real network stack (httpx) on ``127.0.0.1``, so the whole request
  path -- parameter encoding, multipart uploads, long polling, error mapping -- is exercised
  without touching the internet.
* The product's "offline local chat" mode: when no bot token is configured, a terminal front end
  feeds user messages into the emulator (:meth:`BotApiEmulator.user_message`) and prints whatever
  the bot sends back (:meth:`BotApiEmulator.add_listener`).

The HTTP side is served by tornado (already a dependency through ``python-telegram-bot[webhooks]``)
inside the caller's asyncio event loop.  The server only ever binds to ``127.0.0.1`` on a free port.

Usage::

    async with BotApiEmulator(token="123456:TEST", bot_username="jianfu_test_bot") as emu:
        bot = telegram.Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url)
        alice = emu.new_user("Alice")
        emu.user_message(alice, text="/start")
        ...
        await emu.wait_for_calls("sendMessage")
        assert emu.sent_messages(alice["id"])[-1]["text"] == "..."

Behaviour follows the real Bot API closely where the bot under test could notice a difference:
response envelopes and error descriptions, ``getUpdates`` offset confirmation and long polling,
HTML ``parse_mode`` validation and entity extraction, "message is not modified" on edits, only
inline keyboards being echoed in messages, ``editMessageText`` without ``reply_markup`` removing the
inline keyboard, and so on.  The HTML validation is deliberately a little *stricter* than Telegram's
(an ``&`` that does not start ``&lt;``/``&gt;``/``&amp;``/``&quot;``/``&#NN;`` is rejected), so that
escaping bugs are caught in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import json
import logging
import mimetypes
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

__all__ = [
    "ApiCall",
    "ApiError",
    "BotApiEmulator",
    "Fault",
    "HtmlParseError",
    "StoredFile",
    "UploadedFile",
    "channel_chat",
    "group_chat",
    "make_user",
    "origin_channel",
    "origin_chat",
    "origin_hidden_user",
    "origin_user",
    "parse_html",
    "private_chat",
]

JSONDict = dict[str, Any]

_LOGGER = logging.getLogger(__name__)

#: Maximum length of a message text / media caption (in characters, after entity parsing).
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
#: Maximum size of a file uploaded by a bot (50 MB) and downloadable through getFile (20 MB).
MAX_UPLOAD_SIZE = 50 * 1024 * 1024
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024

FAULT_KINDS = frozenset({"429", "500", "502", "403", "400", "timeout", "drop"})

# Parameters whose values PTB sends verbatim as strings (never JSON encoded).  Every other form
# value is JSON decoded when possible (ints, bools, nested objects such as reply_markup).
_RAW_STRING_PARAMS = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "file_id",
        "language_code",
        "action",
        "secret_token",
        "ip_address",
        "description",
        "short_description",
        "name",
        "business_connection_id",
        "message_effect_id",
        "title",
        "question",
        "emoji",
        "document",
        "photo",
        "video",
        "audio",
        "voice",
        "animation",
        "sticker",
        "video_note",
        "thumbnail",
        "certificate",
        "address",
        "foursquare_id",
        "google_place_id",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
    ]
)
# Parameters that carry JSON objects; in a JSON request body they may still arrive as strings.
_JSON_PARAMS = frozenset(
    [
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "commands",
        "scope",
        "allowed_updates",
        "menu_button",
        "media",
        "message_ids",
    ]
)

_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_INLINE_BUTTON_ACTIONS = tuple(
    [
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ]
)
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=$|\s)")
_URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]}'，。；：！？）】」』]")
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")


# ---------------------------------------------------------------------------------------------
# Small data types
# ---------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API (``{"ok": false, ...}``).

    Raise it from a custom method registered with :meth:`BotApiEmulator.register_method`.
    """

    def __init__(self, error_code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        """The JSON body Telegram would answer with."""
        body: JSONDict = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class UploadedFile:
    """A file part of a ``multipart/form-data`` request."""

    field_name: str
    file_name: str
    mime_type: str
    data: bytes


@dataclass
class ApiCall:
    """One request received by the emulator.

    ``params`` holds the decoded parameters (ints, bools, dicts and lists are JSON-decoded; uploaded
    files appear as :class:`UploadedFile`).  ``status``/``result``/``error`` describe the answer;
    ``fault`` names the injected fault, if one was applied.
    """

    method: str
    params: JSONDict
    time: float
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int | None = None
    result: Any = None
    error: str | None = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the call was answered with ``{"ok": true}``."""
        return self.status == 200

    def summary(self) -> str:
        """A one-line human readable description (used in timeout messages)."""
        shown = []
        for key, value in self.params.items():
            text = repr(value)
            if len(text) > 40:
                text = text[:37] + "..."
            shown.append(f"{key}={text}")
        outcome = "pending" if self.status is None else str(self.status)
        if self.error:
            outcome += f" {self.error}"
        if self.fault:
            outcome += f" [fault {self.fault}]"
        return f"{self.method}({', '.join(shown)}) -> {outcome}"


@dataclass
class StoredFile:
    """A file known to the emulator (uploaded by the bot or registered by a test)."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_name: str | None
    mime_type: str | None
    file_path: str
    kind: str  # "document" or "photo"
    method: str | None = None  # the bot method that uploaded it, None for add_file/add_photo
    chat_id: int | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass
class Fault:
    """An injected fault, see :meth:`BotApiEmulator.inject`."""

    method: str
    kind: str
    remaining: int
    retry_after: int = 1
    delay: float = 30.0
    description: str | None = None


# ---------------------------------------------------------------------------------------------
# Builders for users, chats and forward origins
# ---------------------------------------------------------------------------------------------


def _now() -> int:
    return int(time.time())


def _drop_none(data: JSONDict) -> JSONDict:
    return {key: value for key, value in data.items() if value is not None}


def make_user(
    user_id: int,
    first_name: str = "Test",
    *,
    username: str | None = None,
    last_name: str | None = None,
    language_code: str | None = "zh-hans",
    is_bot: bool = False,
) -> JSONDict:
    """Build a Bot API ``User`` dict."""
    return _drop_none(
        {
            "id": user_id,
            "is_bot": is_bot,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
        }
    )


def private_chat(user: JSONDict) -> JSONDict:
    """The private chat between ``user`` and the bot (chat id == user id)."""
    return _drop_none(
        {
            "id": user["id"],
            "type": "private",
            "first_name": user.get("first_name"),
            "last_name": user.get("last_name"),
            "username": user.get("username"),
        }
    )


def group_chat(
    chat_id: int,
    title: str = "Test group",
    *,
    supergroup: bool = True,
    username: str | None = None,
    is_forum: bool | None = None,
) -> JSONDict:
    """A group (``supergroup=False``) or supergroup chat.  ``chat_id`` must be negative
    (supergroups conventionally look like ``-100xxxxxxxxxx``)."""
    if chat_id >= 0:
        raise ValueError("group chat ids are negative")
    return _drop_none(
        {
            "id": chat_id,
            "type": "supergroup" if supergroup else "group",
            "title": title,
            "username": username,
            "is_forum": is_forum,
        }
    )


def channel_chat(chat_id: int, title: str = "Test channel", *, username: str | None = None) -> JSONDict:
    """A channel chat (negative id, usually ``-100xxxxxxxxxx``)."""
    if chat_id >= 0:
        raise ValueError("channel chat ids are negative")
    return _drop_none({"id": chat_id, "type": "channel", "title": title, "username": username})


def origin_user(user: JSONDict, date: int | None = None) -> JSONDict:
    """``MessageOriginUser``: forwarded from a user who allows linking to their account."""
    return {"type": "user", "date": date or _now(), "sender_user": user}


def origin_hidden_user(sender_user_name: str, date: int | None = None) -> JSONDict:
    """``MessageOriginHiddenUser``: forwarded from a user who hides their account."""
    return {"type": "hidden_user", "date": date or _now(), "sender_user_name": sender_user_name}


def origin_chat(chat: JSONDict, date: int | None = None, author_signature: str | None = None) -> JSONDict:
    """``MessageOriginChat``: originally sent on behalf of a chat (anonymous admin)."""
    return _drop_none(
        {"type": "chat", "date": date or _now(), "sender_chat": chat, "author_signature": author_signature}
    )


def origin_channel(
    chat: JSONDict, message_id: int, date: int | None = None, author_signature: str | None = None
) -> JSONDict:
    """``MessageOriginChannel``: a message forwarded from a channel post."""
    return _drop_none(
        {
            "type": "channel",
            "date": date or _now(),
            "chat": chat,
            "message_id": message_id,
            "author_signature": author_signature,
        }
    )


# ---------------------------------------------------------------------------------------------
# HTML parse mode
# ---------------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """Raised by :func:`parse_html`; the message mimics Telegram's "can't parse entities" text."""


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_SIMPLE_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_ALLOWED_TAGS = frozenset({*_SIMPLE_TAG_ENTITIES, "a", "code", "pre", "blockquote"})
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass
class _OpenTag:
    tag: str
    offset: int  # in UTF-16 code units of the parsed text
    attrs: dict[str, str | None]
    byte_offset: int
    language: str | None = None


class _TelegramHTMLParser(HTMLParser):
    """Validates Telegram-style HTML and extracts plain text plus ``MessageEntity`` dicts."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._source = source
        self._line_starts = [0] + [index + 1 for index, char in enumerate(source) if char == "\n"]
        self._cursor = 0
        self._parts: list[str] = []
        self._length16 = 0
        self._stack: list[_OpenTag] = []
        self.entities: list[JSONDict] = []

    # -- helpers -----------------------------------------------------------------------------
    def _index(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _byte_offset(self, index: int) -> int:
        return len(self._source[:index].encode("utf-8"))

    def _fail(self, message: str) -> HtmlParseError:
        return HtmlParseError(message)

    def _gap_error(self, index: int) -> HtmlParseError:
        offset = self._byte_offset(index)
        if self._source.startswith("</", index):
            return self._fail(f"Unexpected end tag at byte offset {offset}")
        name = re.match(r"<?([^\s>]*)", self._source[index:])
        tag = name.group(1) if name else ""
        return self._fail(f'Unsupported start tag "{tag}" at byte offset {offset}')

    def _advance(self, start: int, end: int) -> None:
        # html.parser silently swallows some malformed markup (e.g. "</>"); Telegram rejects it.
        if start > self._cursor:
            raise self._gap_error(self._cursor)
        self._cursor = max(self._cursor, end)

    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._length16 += _utf16_len(text)

    # -- HTMLParser callbacks ----------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        index = self._index()
        raw = self.get_starttag_text() or ""
        self._advance(index, index + len(raw))
        offset = self._byte_offset(index)
        if tag not in _ALLOWED_TAGS:
            raise self._fail(f'Unsupported start tag "{tag}" at byte offset {offset}')
        attributes = {name.lower(): value for name, value in attrs}
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise self._fail('Tag "span" must have class "tg-spoiler"')
        self._stack.append(_OpenTag(tag, self._length16, attributes, offset))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        index = self._index()
        raise self._fail(f'Unsupported start tag "{tag}/" at byte offset {self._byte_offset(index)}')

    def handle_endtag(self, tag: str) -> None:
        index = self._index()
        end = self._source.find(">", index)
        self._advance(index, len(self._source) if end < 0 else end + 1)
        offset = self._byte_offset(index)
        if not self._stack:
            raise self._fail(f"Unexpected end tag at byte offset {offset}")
        top = self._stack[-1]
        if top.tag != tag:
            raise self._fail(f'Unmatched end tag at byte offset {offset}, expected "</{top.tag}>", found "</{tag}>"')
        self._stack.pop()
        self._close_entity(top)

    def _close_entity(self, opened: _OpenTag) -> None:
        length = self._length16 - opened.offset
        tag = opened.tag
        if tag == "code" and self._stack and self._stack[-1].tag == "pre":
            # <pre><code class="language-x">...</code></pre> is a single pre entity with a language.
            css_class = opened.attrs.get("class") or ""
            parent = self._stack[-1]
            if css_class.startswith("language-") and parent.offset == opened.offset:
                parent.language = css_class[len("language-") :]
                return
        if length <= 0:
            return
        entity: JSONDict = {"offset": opened.offset, "length": length}
        if tag in _SIMPLE_TAG_ENTITIES:
            entity["type"] = _SIMPLE_TAG_ENTITIES[tag]
        elif tag == "a":
            href = opened.attrs.get("href")
            if not href:
                return
            entity["type"] = "text_link"
            entity["url"] = href
        elif tag == "code":
            entity["type"] = "code"
        elif tag == "pre":
            entity["type"] = "pre"
            if opened.language:
                entity["language"] = opened.language
        else:  # blockquote
            expandable = "expandable" in opened.attrs
            entity["type"] = "expandable_blockquote" if expandable else "blockquote"
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        index = self._index()
        self._advance(index, index + len(data))
        if "<" in data:
            raise self._gap_error(index + data.index("<"))
        if "&" in data:
            amp = self._byte_offset(index + data.index("&"))
            raise self._fail(f'Character "&" at byte offset {amp} must be escaped as "&amp;"')
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        index = self._index()
        offset = self._byte_offset(index)
        if not self._source.startswith(f"&{name};", index):
            raise self._fail(f'HTML entity "&{name}" at byte offset {offset} must end with ";"')
        if name not in _NAMED_ENTITIES:
            raise self._fail(f'Unsupported HTML entity "&{name};" at byte offset {offset}')
        self._advance(index, index + len(name) + 2)
        self._append(_NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        index = self._index()
        offset = self._byte_offset(index)
        if not self._source.startswith(f"&#{name};", index):
            raise self._fail(f'HTML entity "&#{name}" at byte offset {offset} must end with ";"')
        try:
            code = int(name[1:], 16) if name[:1] in ("x", "X") else int(name, 10)
        except ValueError:
            code = -1
        if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise self._fail(f'Invalid HTML entity "&#{name};" at byte offset {offset}')
        self._advance(index, index + len(name) + 3)
        self._append(chr(code))

    def _unsupported(self, kind: str) -> None:
        index = self._index()
        raise self._fail(f'Unsupported start tag "{kind}" at byte offset {self._byte_offset(index)}')

    def handle_comment(self, data: str) -> None:
        self._unsupported("!--")

    def handle_decl(self, decl: str) -> None:
        self._unsupported("!" + decl.split(" ", 1)[0])

    def unknown_decl(self, data: str) -> None:
        self._unsupported("![")

    def handle_pi(self, data: str) -> None:
        self._unsupported("?")

    # -- driver ------------------------------------------------------------------------------
    def run(self) -> tuple[str, list[JSONDict]]:
        self.feed(self._source)
        self.close()
        if self._cursor < len(self._source):
            raise self._gap_error(self._cursor)
        if self._stack:
            raise self._fail(f'Can\'t find end tag corresponding to start tag "{self._stack[-1].tag}"')
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self._parts), entities


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse a Telegram ``parse_mode=HTML`` string into ``(plain_text, entities)``.

    Raises :class:`HtmlParseError` for unsupported tags, unbalanced or badly nested tags and
    unescaped ``<`` / ``&`` characters.  Entity offsets and lengths are in UTF-16 code units, as in
    the Bot API.
    """
    return _TelegramHTMLParser(source).run()


def _strip_text(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Trim surrounding whitespace like Telegram does and fix the entity offsets."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead16 = _utf16_len(text[: len(text) - len(text.lstrip())])
    total16 = _utf16_len(stripped)
    fixed: list[JSONDict] = []
    for entity in entities:
        start = max(int(entity.get("offset", 0)) - lead16, 0)
        end = min(int(entity.get("offset", 0)) + int(entity.get("length", 0)) - lead16, total16)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return stripped, fixed


_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{4,31}\b")


def _detect_entities(text: str) -> list[JSONDict]:
    """Entities Telegram adds to user messages automatically: a leading bot command, @mentions, URLs."""
    entities: list[JSONDict] = []
    command = _COMMAND_RE.match(text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))})
    for match in _MENTION_RE.finditer(text):
        if command and match.start() < command.end():
            continue
        entities.append(
            {"type": "mention", "offset": _utf16_len(text[: match.start()]), "length": _utf16_len(match.group(0))}
        )
    for match in _URL_RE.finditer(text):
        entities.append(
            {"type": "url", "offset": _utf16_len(text[: match.start()]), "length": _utf16_len(match.group(0))}
        )
    return entities


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image, None if the format is not recognised."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                return None
            marker = data[index + 1]
            if marker == 0xFF:
                index += 1
                continue
            if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
                index += 2
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(data[index + 5 : index + 7], "big")
                width = int.from_bytes(data[index + 7 : index + 9], "big")
                return width, height
            index += 2 + int.from_bytes(data[index + 2 : index + 4], "big")
    return None


def _update_sort_key(update: JSONDict) -> int:
    update_id = update.get("update_id")
    return update_id if isinstance(update_id, int) else 0


def _update_type(update: JSONDict) -> str:
    for key in update:
        if key != "update_id":
            return key
    return ""


# ---------------------------------------------------------------------------------------------
# Tornado handlers
# ---------------------------------------------------------------------------------------------


class _NoResponse:
    """Returned by the dispatcher when the connection must be closed without an answer."""


_NO_RESPONSE = _NoResponse()


class _BaseHandler(tornado.web.RequestHandler):
    emulator: BotApiEmulator

    def initialize(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        self.wake = asyncio.Event()
        self.connection_closed = False
        self.superseded = False

    def on_connection_close(self) -> None:
        self.connection_closed = True
        self.wake.set()

    def _send_json(self, status: int, body: JSONDict) -> None:
        if self.connection_closed:
            return
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))

    def _drop(self) -> None:
        if not self._finished:
            stream = self.detach()
            stream.close()


class _ApiHandler(_BaseHandler):
    async def get(self, token: str, method: str) -> None:
        await self._serve(token, method)

    async def post(self, token: str, method: str) -> None:
        await self._serve(token, method)

    async def _serve(self, token: str, method: str) -> None:
        emulator = self.emulator
        emulator._active += 1
        try:
            answer = await emulator._dispatch(self, token, method)
            if isinstance(answer, _NoResponse):
                self._drop()
            else:
                self._send_json(*answer)
        finally:
            emulator._active -= 1


class _FileHandler(_BaseHandler):
    async def get(self, token: str, file_path: str) -> None:
        emulator = self.emulator
        if token != emulator.token:
            self._send_json(401, ApiError(401, "Unauthorized").payload())
            return
        # Faults injected on the method name "download" apply here (a file download is no API method).
        fault = emulator._take_fault("download")
        if fault is not None:
            answer = await emulator._apply_fault(self, fault)
            if isinstance(answer, _NoResponse):
                self._drop()
                return
            if answer is not None:
                self._send_json(*answer)
                return
        stored = emulator._files_by_path.get(file_path)
        if stored is None:
            self._send_json(404, ApiError(404, "Not Found").payload())
            return
        self.set_header("Content-Type", stored.mime_type or "application/octet-stream")
        self.finish(stored.data)


# ---------------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------------

Listener = Callable[[ApiCall], None]
MethodImpl = Callable[[JSONDict, dict[str, UploadedFile]], Any]


class BotApiEmulator:
    """A fake Telegram Bot API server on ``127.0.0.1`` (see the module docstring).

    State that tests may inspect directly:

    * ``calls`` -- every request as :class:`ApiCall` (also unknown methods and failed ones);
    * ``messages`` -- current state of every message, keyed by ``(chat_id, message_id)``;
    * ``deleted_messages`` -- messages removed through ``deleteMessage(s)``;
    * ``offsets`` -- every ``offset`` passed to ``getUpdates``;
    * ``uploads`` -- files uploaded by the bot (:class:`StoredFile` with the raw bytes);
    * ``callback_answers`` -- ``answerCallbackQuery`` parameters by callback query id;
    * ``chat_actions`` -- ``(chat_id, action)`` pairs from ``sendChatAction``;
    * ``commands`` -- bot commands by ``(scope_json, language_code)``;
    * ``menu_buttons`` -- menu buttons by chat id (``None`` = default);
    * ``reply_keyboards`` -- last non-inline ``reply_markup`` sent per chat;
    * ``webhook_url``, ``chats``, ``blocked_chats``.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "jianfu_test_bot",
        *,
        bot_first_name: str = "Jianfu Test Bot",
        first_update_id: int = 1000,
        strict_chats: bool = False,
    ) -> None:
        bot_id_text = token.split(":", 1)[0]
        if not bot_id_text.isdigit():
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(bot_id_text)
        self.bot_user: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        #: If true, sending to a chat that never appeared in an update is "chat not found".
        self.strict_chats = strict_chats

        self.calls: list[ApiCall] = []
        self.offsets: list[int] = []
        self.messages: dict[tuple[int, int], JSONDict] = {}
        self.deleted_messages: list[JSONDict] = []
        self.uploads: list[StoredFile] = []
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: dict[str, JSONDict] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.reply_keyboards: dict[int, JSONDict] = {}
        self.chats: dict[int, JSONDict] = {}
        self.blocked_chats: set[int] = set()
        self.webhook_url: str = ""
        self.faults: list[Fault] = []

        self._updates: list[JSONDict] = []
        self._next_update_id = first_update_id
        self._allowed_updates: frozenset[str] | None = None
        self._next_message_id: dict[int, int] = {}
        self._sent_keys: list[tuple[int, int]] = []
        self._deleted_keys: dict[tuple[int, int], JSONDict] = {}
        self._pending_callbacks: set[str] = set()
        self._callback_counter = 0
        self._file_counter = 0
        self._user_counter = 10_000
        self._files_by_path: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[JSONDict]] = {}
        self._listeners: list[Listener] = []
        self._custom_methods: dict[str, tuple[str, MethodImpl]] = {}
        self._waiters: set[asyncio.Event] = set()
        self._poller: _BaseHandler | None = None
        self._active = 0
        self._stopping = False
        self._server: tornado.httpserver.HTTPServer | None = None
        self._port: int | None = None

        methods: dict[str, MethodImpl] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates_placeholder,
            "logOut": self._return_true,
            "close": self._return_true,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "getChat": self._get_chat,
        }
        self._methods: dict[str, tuple[str, MethodImpl]] = {
            name.lower(): (name, impl) for name, impl in methods.items()
        }

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Start serving on ``127.0.0.1`` on a free port (inside the running event loop)."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._stopping = False
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([^/]+)", _ApiHandler, {"emulator": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"emulator": self}),
            ],
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_UPLOAD_SIZE + 1024 * 1024)
        server.add_sockets(sockets)
        self._port = int(sockets[0].getsockname()[1])
        self._server = server

    async def stop(self) -> None:
        """Stop the server, abort long polls and held requests, close all connections."""
        server = self._server
        if server is None:
            return
        self._stopping = True
        self._server = None
        self._wake_all()
        server.stop()
        await server.close_all_connections()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while self._active > 0 and loop.time() < deadline:
            self._wake_all()
            await asyncio.sleep(0.005)

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Pass as ``base_url`` to ``telegram.Bot`` / ``ApplicationBuilder.base_url``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Pass as ``base_file_url`` to ``telegram.Bot`` / ``ApplicationBuilder.base_file_url``."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- observation -------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(call)`` after every answered request (e.g. to print bot replies)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def register_method(self, name: str, impl: MethodImpl) -> None:
        """Implement an extra Bot API method: ``impl(params, files)`` returns the ``result`` or
        raises :class:`ApiError`.  Overrides a built-in method of the same name."""
        self._custom_methods[name.lower()] = (name, impl)

    def calls_to(self, method: str) -> list[ApiCall]:
        """All recorded calls of ``method`` (case-insensitive)."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def last_call(self, method: str | None = None) -> ApiCall | None:
        calls = self.calls_to(method) if method else self.calls
        return calls[-1] if calls else None

    def sent_messages(self, chat_id: int | None = None, *, include_deleted: bool = False) -> list[JSONDict]:
        """Messages sent by the bot, oldest first, in their current (possibly edited) state."""
        result = []
        for key in self._sent_keys:
            if chat_id is not None and key[0] != chat_id:
                continue
            if key in self.messages:
                result.append(self.messages[key])
            elif include_deleted and key in self._deleted_keys:
                result.append(self._deleted_keys[key])
        return result

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Text (or caption) of every message the bot sent, oldest first."""
        return [str(m.get("text") or m.get("caption") or "") for m in self.sent_messages(chat_id)]

    def last_sent(self, chat_id: int | None = None) -> JSONDict | None:
        sent = self.sent_messages(chat_id)
        return sent[-1] if sent else None

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Queued updates not yet confirmed by the bot."""
        return list(self._updates)

    def get_commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Commands stored by ``setMyCommands`` for a scope (default scope if None)."""
        return list(self.commands.get((self._scope_key(scope), language_code), []))

    def block(self, chat_id: int) -> None:
        """Make every send to ``chat_id`` fail with 403 "bot was blocked by the user"."""
        self.blocked_chats.add(chat_id)

    async def wait_for(self, predicate: Callable[[BotApiEmulator], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate(self)`` is true; TimeoutError with the last calls otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wake = asyncio.Event()
        self._waiters.add(wake)
        try:
            while not predicate(self):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    last = "\n  ".join(call.summary() for call in self.calls[-8:]) or "(none)"
                    raise TimeoutError(f"condition not met within {timeout}s; last calls:\n  {last}")
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), min(remaining, 0.01))
        finally:
            self._waiters.discard(wake)

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[ApiCall]:
        """Wait until ``method`` was answered at least ``count`` times in total; return those calls."""
        wanted = method.lower()

        def answered(emu: BotApiEmulator) -> bool:
            done = [c for c in emu.calls if c.method.lower() == wanted and c.status is not None]
            return len(done) >= count

        await self.wait_for(answered, timeout)
        return self.calls_to(method)

    # -- faults ------------------------------------------------------------------------------
    def inject(
        self,
        method: str,
        kind: str,
        times: int = 1,
        retry_after: int = 1,
        *,
        delay: float = 30.0,
        description: str | None = None,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (``"*"`` = any) fail.

        ``kind``: ``"429"`` (flood control with ``retry_after``), ``"500"``, ``"502"``, ``"403"``
        (bot blocked), ``"400"`` (``description`` or a generic bad request), ``"timeout"`` (hold the
        request for ``delay`` seconds or until the client disconnects / the emulator stops, then
        answer normally if the client is still there) or ``"drop"`` (close the connection without
        answering).  A faulted request is not executed.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        fault = Fault(method, kind, times, retry_after, delay, description)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and (fault.method == "*" or fault.method.lower() == method.lower()):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # -- making updates ----------------------------------------------------------------------
    def new_user(
        self,
        first_name: str = "Test",
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> JSONDict:
        """A ``User`` dict with a fresh id."""
        self._user_counter += 1
        return make_user(
            self._user_counter,
            first_name,
            username=username,
            last_name=last_name,
            language_code=language_code,
        )

    make_user = staticmethod(make_user)
    private_chat = staticmethod(private_chat)
    group_chat = staticmethod(group_chat)
    channel_chat = staticmethod(channel_chat)

    def add_chat(self, chat: JSONDict) -> None:
        """Make a chat known (for ``strict_chats`` and for the chat object in bot messages)."""
        self.chats[int(chat["id"])] = chat

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update (assigning ``update_id`` if missing) and return it."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        if isinstance(update["update_id"], int):
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        self._updates.append(update)
        self._notify()
        return update

    def _queue(self, kind: str, payload: JSONDict) -> JSONDict:
        return self.push_update({kind: copy.deepcopy(payload)})

    def _embedded(self, message: JSONDict) -> JSONDict:
        """A message as embedded in ``reply_to_message`` (current state, no nested reply)."""
        if "message" in message and "update_id" in message:
            message = message["message"]
        key = (int(message["chat"]["id"]), int(message["message_id"]))
        current = self.messages.get(key, message)
        embedded = copy.deepcopy(current)
        embedded.pop("reply_to_message", None)
        return embedded

    def user_message(
        self,
        user: JSONDict,
        chat: JSONDict | None = None,
        text: str | None = None,
        caption: str | None = None,
        document: JSONDict | None = None,
        photo: list[JSONDict] | None = None,
        forward_origin: JSONDict | None = None,
        reply_to: JSONDict | None = None,
        entities: list[JSONDict] | None = None,
        *,
        caption_entities: list[JSONDict] | None = None,
        message_id: int | None = None,
        date: int | None = None,
        message_thread_id: int | None = None,
    ) -> JSONDict:
        """Queue a ``message`` update from ``user`` (in their private chat unless ``chat``).

        ``entities`` / ``caption_entities`` default to auto-detection (a leading ``/command`` and
        http(s) URLs).  ``reply_to`` is a message dict (or an update returned by this method).
        Returns the update dict.
        """
        if text is not None and (document is not None or photo is not None):
            raise ValueError("a media message has a caption, not a text")
        if text is None and caption is None and document is None and photo is None:
            raise ValueError("a message needs text, caption, document or photo")
        chat = chat or private_chat(user)
        chat_id = int(chat["id"])
        self.chats.setdefault(chat_id, chat)
        msg_id = message_id if message_id is not None else self._new_message_id(chat_id)
        self._next_message_id[chat_id] = max(self._next_message_id.get(chat_id, 1), msg_id + 1)
        message: JSONDict = {"message_id": msg_id, "from": user, "chat": chat, "date": date or _now()}
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
        if forward_origin is not None:
            origin = dict(forward_origin)
            origin.setdefault("date", _now())
            message["forward_origin"] = origin
        if reply_to is not None:
            message["reply_to_message"] = self._embedded(reply_to)
        if text is not None:
            message["text"] = text
            detected = _detect_entities(text) if entities is None else entities
            if detected:
                message["entities"] = detected
        if document is not None:
            message["document"] = document
        if photo is not None:
            message["photo"] = photo
        if caption is not None:
            message["caption"] = caption
            detected = _detect_entities(caption) if caption_entities is None else caption_entities
            if detected:
                message["caption_entities"] = detected
        self.messages[(chat_id, msg_id)] = message
        return self._queue("message", message)

    def edited_message(
        self,
        message: JSONDict,
        text: str | None = None,
        caption: str | None = None,
        entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """Queue an ``edited_message`` update for a user message created by :meth:`user_message`."""
        edited = self._embedded(message)
        if text is not None:
            edited["text"] = text
            detected = _detect_entities(text) if entities is None else entities
            edited.pop("entities", None)
            if detected:
                edited["entities"] = detected
        if caption is not None:
            edited["caption"] = caption
        edited["edit_date"] = _now()
        self.messages[(int(edited["chat"]["id"]), int(edited["message_id"]))] = edited
        return self._queue("edited_message", edited)

    def callback(
        self,
        user: JSONDict,
        message: JSONDict,
        data: str,
        *,
        chat_instance: str | None = None,
    ) -> JSONDict:
        """Queue a ``callback_query`` update: ``user`` pressed a button carrying ``data`` under
        ``message`` (a bot message dict; its current stored state is used)."""
        self._callback_counter += 1
        query_id = str(4_000_000_000_000_000_000 + self._callback_counter)
        embedded = self._embedded(message)
        query: JSONDict = {
            "id": query_id,
            "from": user,
            "message": embedded,
            "chat_instance": chat_instance or str(-(7_000_000_000_000_000_000 + int(embedded["chat"]["id"]))),
            "data": data,
        }
        self._pending_callbacks.add(query_id)
        return self._queue("callback_query", query)

    # -- files -------------------------------------------------------------------------------
    def _store_file(
        self,
        data: bytes,
        kind: str,
        file_name: str | None,
        mime_type: str | None,
        *,
        method: str | None = None,
        chat_id: int | None = None,
    ) -> StoredFile:
        self._file_counter += 1
        number = self._file_counter
        if kind == "photo":
            file_id = f"AgACAgEMU{number:06d}"
            extension = ".jpg"
            folder = "photos"
        else:
            file_id = f"BQACAgEMU{number:06d}"
            extension = ""
            suffix = re.search(r"\.([A-Za-z0-9]{1,10})$", file_name or "")
            if suffix:
                extension = "." + suffix.group(1).lower()
            elif mime_type:
                extension = mimetypes.guess_extension(mime_type) or ""
            folder = "documents"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"AQADEMU{number:06d}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            file_path=f"{folder}/file_{number}{extension}",
            kind=kind,
            method=method,
            chat_id=chat_id,
        )
        self.files[file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _document_dict(stored: StoredFile) -> JSONDict:
        return _drop_none(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": stored.file_name,
                "mime_type": stored.mime_type,
                "file_size": stored.file_size,
            }
        )

    def _photo_sizes(self, stored: StoredFile, width: int, height: int) -> list[JSONDict]:
        sizes = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
                "width": width,
                "height": height,
            }
        ]
        self._photo_sets[stored.file_id] = sizes
        return copy.deepcopy(sizes)

    def add_file(self, data: bytes, file_name: str = "file.bin", mime_type: str | None = None) -> JSONDict:
        """Register a file a user "sends"; returns a ``Document`` dict for :meth:`user_message`."""
        if mime_type is None:
            mime_type = mimetypes.guess_type(file_name, strict=False)[0] or "application/octet-stream"
        return self._document_dict(self._store_file(data, "document", file_name, mime_type))

    def add_photo(self, data: bytes, width: int = 800, height: int = 600) -> list[JSONDict]:
        """Register a photo a user "sends"; returns the ``PhotoSize`` list for :meth:`user_message`."""
        stored = self._store_file(data, "photo", None, "image/jpeg")
        return self._photo_sizes(stored, width, height)

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes of a known file."""
        return self.files[file_id].data

    # -- internals ---------------------------------------------------------------------------
    def _notify(self) -> None:
        for waiter in list(self._waiters):
            waiter.set()

    def _wake_all(self) -> None:
        self._notify()
        if self._poller is not None:
            self._poller.wake.set()

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _parse_params(self, handler: _BaseHandler) -> tuple[JSONDict, dict[str, UploadedFile]]:
        request = handler.request
        params: JSONDict = {}
        files: dict[str, UploadedFile] = {}

        def add_form(arguments: dict[str, list[bytes]]) -> None:
            for key, values in arguments.items():
                if not values:
                    continue
                raw = values[-1].decode("utf-8", "replace")
                params[key] = raw if key in _RAW_STRING_PARAMS else _maybe_json(raw)

        add_form(request.query_arguments)
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            if request.body.strip():
                try:
                    body = json.loads(request.body)
                except ValueError as exc:
                    raise _bad_request("can't parse JSON request body") from exc
                if not isinstance(body, dict):
                    raise _bad_request("JSON request body must be an object")
                for key, value in body.items():
                    if key in _JSON_PARAMS and isinstance(value, str):
                        value = _maybe_json(value)
                    params[key] = value
        else:
            add_form(request.body_arguments)
            for key, parts in request.files.items():
                if not parts:
                    continue
                part = parts[-1]
                upload = UploadedFile(
                    field_name=key,
                    file_name=part.filename,
                    mime_type=part.content_type or "application/octet-stream",
                    data=part.body,
                )
                files[key] = upload
                params[key] = upload
        return params, files

    async def _dispatch(self, handler: _BaseHandler, token: str, raw_method: str) -> tuple[int, JSONDict] | _NoResponse:
        entry = self._custom_methods.get(raw_method.lower()) or self._methods.get(raw_method.lower())
        method = entry[0] if entry else raw_method
        call = ApiCall(method=method, params={}, time=time.time())
        self.calls.append(call)
        try:
            try:
                call.params, call.files = self._parse_params(handler)
            finally:
                self._notify()
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            fault = self._take_fault(method)
            if fault is not None:
                call.fault = fault.kind
                answer = await self._apply_fault(handler, fault)
                if answer is not None:
                    return self._finish_call(call, answer)
            if handler.connection_closed or self._stopping:
                return self._finish_call(call, _NO_RESPONSE)
            if entry is None:
                raise ApiError(404, f"Not Found: method {raw_method}")
            impl = entry[1]
            if method == "getUpdates" and raw_method.lower() not in self._custom_methods:
                result = await self._get_updates(call.params, handler)
            else:
                result = impl(call.params, call.files)
                if inspect.isawaitable(result):
                    result = await result
            return self._finish_call(call, (200, {"ok": True, "result": result}))
        except ApiError as exc:
            return self._finish_call(call, (exc.error_code, exc.payload()))
        except Exception as exc:  # a bug in the emulator: answer like a broken server would
            _LOGGER.exception("emulator failed to handle %s", method)
            return self._finish_call(call, (500, ApiError(500, f"Internal Server Error: {exc!r}").payload()))

    def _finish_call(
        self, call: ApiCall, answer: tuple[int, JSONDict] | _NoResponse
    ) -> tuple[int, JSONDict] | _NoResponse:
        if isinstance(answer, _NoResponse):
            call.status = 0
            call.error = "no response"
        else:
            status, body = answer
            call.status = status
            if body.get("ok"):
                call.result = body.get("result")
            else:
                call.error = str(body.get("description"))
        for listener in list(self._listeners):
            try:
                listener(call)
            except Exception:
                _LOGGER.exception("emulator listener failed")
        self._notify()
        return answer

    async def _apply_fault(self, handler: _BaseHandler, fault: Fault) -> tuple[int, JSONDict] | _NoResponse | None:
        if fault.kind == "429":
            retry = fault.retry_after
            description = fault.description or f"Too Many Requests: retry after {retry}"
            return 429, ApiError(429, description, {"retry_after": retry}).payload()
        if fault.kind == "500":
            return 500, ApiError(500, fault.description or "Internal Server Error").payload()
        if fault.kind == "502":
            return 502, ApiError(502, fault.description or "Bad Gateway").payload()
        if fault.kind == "403":
            return 403, ApiError(403, fault.description or "Forbidden: bot was blocked by the user").payload()
        if fault.kind == "400":
            description = fault.description or "Bad Request: injected fault"
            return 400, ApiError(400, description).payload()
        if fault.kind == "drop":
            return _NO_RESPONSE
        # "timeout": hold the request open.
        await self._hold(handler, fault.delay)
        if handler.connection_closed or self._stopping:
            return _NO_RESPONSE
        return None

    async def _hold(self, handler: _BaseHandler, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        self._waiters.add(handler.wake)
        try:
            while not (handler.connection_closed or self._stopping):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                handler.wake.clear()
                try:
                    await asyncio.wait_for(handler.wake.wait(), remaining)
                except TimeoutError:
                    return
        finally:
            self._waiters.discard(handler.wake)

    # -- chats and messages ------------------------------------------------------------------
    def _resolve_chat_id(self, params: JSONDict, required: bool = True) -> int | None:
        value = params.get("chat_id")
        if value is None or value == "":
            if required:
                raise _bad_request("chat_id is empty")
            return None
        if isinstance(value, bool):
            raise _bad_request("chat not found")
        if isinstance(value, int):
            chat_id = value
        elif isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            chat_id = int(value)
        elif isinstance(value, str) and value.startswith("@"):
            for known in self.chats.values():
                if str(known.get("username", "")).lower() == value[1:].lower():
                    return int(known["id"])
            raise _bad_request("chat not found")
        else:
            raise _bad_request("chat not found")
        return chat_id

    def _chat(self, chat_id: int) -> JSONDict:
        known = self.chats.get(chat_id)
        if known is not None:
            return known
        if self.strict_chats:
            raise _bad_request("chat not found")
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        if str(chat_id).startswith("-100"):
            return {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Chat {chat_id}"}

    def _target_chat(self, params: JSONDict) -> JSONDict:
        chat_id = self._resolve_chat_id(params)
        assert chat_id is not None
        chat = self._chat(chat_id)
        if chat_id in self.blocked_chats:
            if chat.get("type") == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat

    def _format(
        self,
        text: Any,
        parse_mode: Any,
        entities: Any,
        *,
        caption: bool,
    ) -> tuple[str, list[JSONDict]]:
        if text is None:
            text = ""
        if not isinstance(text, str):
            text = json.dumps(text) if not isinstance(text, int | float) else str(text)
        mode = str(parse_mode or "").strip()
        if mode.lower() == "html":
            try:
                plain, found = parse_html(text)
            except HtmlParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from exc
        elif mode.lower() in ("", "markdown", "markdownv2"):
            # Markdown is passed through unparsed (not validated by this emulator).
            plain = text
            found = [dict(entity) for entity in entities] if isinstance(entities, list) and not mode else []
        else:
            raise _bad_request(f"unsupported parse_mode {mode}")
        plain, found = _strip_text(plain, found)
        if caption:
            if len(plain) > MAX_CAPTION_LENGTH:
                raise _bad_request("message caption is too long")
        else:
            if not plain:
                raise _bad_request("message text is empty")
            if len(plain) > MAX_TEXT_LENGTH:
                raise _bad_request("message is too long")
        return plain, found

    def _inline_markup(self, chat_id: int | None, markup: Any) -> JSONDict | None:
        """Validate ``reply_markup``; return it if it is an inline keyboard (the only kind that
        Telegram echoes back in the message)."""
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if chat_id is not None:
                self.reply_keyboards[chat_id] = markup
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request('can\'t parse inline keyboard: field "inline_keyboard" must be an Array')
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise _bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                if not isinstance(button.get("text"), str) or not button["text"]:
                    raise _bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
                actions = [name for name in _INLINE_BUTTON_ACTIONS if name in button]
                if len(actions) != 1:
                    raise _bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                        raise _bad_request("BUTTON_DATA_INVALID")
                if "url" in button and not str(button["url"]).strip():
                    raise _bad_request("inline keyboard button URL is invalid")
        if not any(rows):
            return None
        return markup

    def _reply_to(self, chat_id: int, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        message_id: Any = None
        allow_missing = bool(params.get("allow_sending_without_reply"))
        reply_chat_id = chat_id
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
            if reply.get("chat_id") is not None:
                resolved = self._resolve_chat_id({"chat_id": reply["chat_id"]})
                reply_chat_id = resolved if resolved is not None else chat_id
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
        if message_id is None:
            return None
        target = self.messages.get((reply_chat_id, int(message_id)))
        if target is None:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        embedded = copy.deepcopy(target)
        embedded.pop("reply_to_message", None)
        return embedded

    def _new_bot_message(self, chat: JSONDict, params: JSONDict) -> JSONDict:
        chat_id = int(chat["id"])
        message: JSONDict = {
            "message_id": 0,
            "from": dict(self.bot_user),
            "chat": chat,
            "date": _now(),
        }
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = params["message_thread_id"]
        reply_to = self._reply_to(chat_id, params)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return message

    def _store_bot_message(self, message: JSONDict) -> JSONDict:
        chat_id = int(message["chat"]["id"])
        message["message_id"] = self._new_message_id(chat_id)
        key = (chat_id, int(message["message_id"]))
        self.messages[key] = message
        self._sent_keys.append(key)
        return copy.deepcopy(message)

    def _find_editable(self, params: JSONDict) -> JSONDict:
        if params.get("inline_message_id"):
            raise _bad_request("message to edit not found")
        chat_id = self._resolve_chat_id(params)
        message_id = params.get("message_id")
        if chat_id is None or message_id is None:
            raise _bad_request("message to edit not found")
        try:
            key = (chat_id, int(message_id))
        except (TypeError, ValueError) as exc:
            raise _bad_request("message to edit not found") from exc
        message = self.messages.get(key)
        if message is None:
            raise _bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        return message

    @staticmethod
    def _not_modified() -> ApiError:
        return _bad_request(
            "message is not modified: specified new message content and reply markup are exactly the same "
            "as a current content and reply markup of the message"
        )

    @staticmethod
    def _set_optional(message: JSONDict, key: str, value: Any) -> None:
        if value:
            message[key] = value
        else:
            message.pop(key, None)

    # -- method implementations ----------------------------------------------------------------
    def _return_true(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        return True

    def _get_updates_placeholder(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        raise AssertionError("getUpdates is dispatched to _get_updates")  # pragma: no cover

    def _get_me(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _delete_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [
                u for u in self._updates if not (isinstance(u.get("update_id"), int) and u["update_id"] < offset)
            ]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self, limit: int) -> list[JSONDict]:
        allowed = self._allowed_updates
        ordered = sorted(self._updates, key=_update_sort_key)
        result = []
        for update in ordered:
            kind = _update_type(update)
            if allowed is None:
                if kind in _DEFAULT_EXCLUDED_UPDATES:
                    continue
            elif kind not in allowed:
                continue
            result.append(copy.deepcopy(update))
            if len(result) >= limit:
                break
        return result

    async def _get_updates(self, params: JSONDict, handler: _BaseHandler) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset"), 0)
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        timeout = max(_as_float(params.get("timeout"), 0.0), 0.0)
        if "offset" in params:
            self.offsets.append(offset)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if isinstance(allowed, list) and allowed else None
        self._confirm(offset)

        previous = self._poller
        if previous is not None and previous is not handler:
            previous.superseded = True
            previous.wake.set()
        self._poller = handler
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._waiters.add(handler.wake)
        try:
            while True:
                batch = self._deliverable(limit)
                if batch or handler.superseded or handler.connection_closed or self._stopping:
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                handler.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(handler.wake.wait(), remaining)
        finally:
            self._waiters.discard(handler.wake)
            if self._poller is handler:
                self._poller = None
        if handler.superseded:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            )
        return batch

    def _send_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._target_chat(params)
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = self._inline_markup(int(chat["id"]), params.get("reply_markup"))
        message = self._new_bot_message(chat, params)
        message["text"] = text
        self._set_optional(message, "entities", entities)
        self._set_optional(message, "reply_markup", markup)
        preview = params.get("link_preview_options")
        if isinstance(preview, dict) and preview and any(e.get("type") in ("url", "text_link") for e in entities):
            message["link_preview_options"] = preview
        return self._store_bot_message(message)

    def _edit_message_text(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        message = self._find_editable(params)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = self._inline_markup(None, params.get("reply_markup"))
        unchanged = (
            message.get("text") == text
            and (message.get("entities") or []) == entities
            and message.get("reply_markup") == markup
        )
        if unchanged:
            raise self._not_modified()
        message["text"] = text
        self._set_optional(message, "entities", entities)
        self._set_optional(message, "reply_markup", markup)
        message["edit_date"] = _now()
        return copy.deepcopy(message)

    def _edit_message_caption(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        message = self._find_editable(params)
        if "document" not in message and "photo" not in message:
            raise _bad_request("there is no caption in the message to edit")
        caption, entities = self._format(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities"), caption=True
        )
        markup = self._inline_markup(None, params.get("reply_markup"))
        unchanged = (
            message.get("caption", "") == caption
            and (message.get("caption_entities") or []) == entities
            and message.get("reply_markup") == markup
        )
        if unchanged:
            raise self._not_modified()
        self._set_optional(message, "caption", caption)
        self._set_optional(message, "caption_entities", entities)
        self._set_optional(message, "reply_markup", markup)
        message["edit_date"] = _now()
        return copy.deepcopy(message)

    def _edit_message_reply_markup(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        message = self._find_editable(params)
        markup = self._inline_markup(None, params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise self._not_modified()
        self._set_optional(message, "reply_markup", markup)
        message["edit_date"] = _now()
        return copy.deepcopy(message)

    def _delete_one(self, chat_id: int, message_id: Any) -> bool:
        try:
            key = (chat_id, int(message_id))
        except (TypeError, ValueError):
            return False
        message = self.messages.pop(key, None)
        if message is None:
            return False
        self.deleted_messages.append(message)
        self._deleted_keys[key] = message
        return True

    def _delete_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._resolve_chat_id(params)
        assert chat_id is not None
        if not self._delete_one(chat_id, params.get("message_id")):
            raise _bad_request("message to delete not found")
        return True

    def _delete_messages(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._resolve_chat_id(params)
        assert chat_id is not None
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad_request("message_ids must be a non-empty list of at most 100 ids")
        for message_id in ids:
            self._delete_one(chat_id, message_id)
        return True

    def _answer_callback_query(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._pending_callbacks:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._pending_callbacks.discard(query_id)
        self.callback_answers[query_id] = {k: v for k, v in params.items() if k != "callback_query_id"}
        return True

    def _send_chat_action(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._target_chat(params)
        action = str(params.get("action") or "")
        if action not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self.chat_actions.append((int(chat["id"]), action))
        return True

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not isinstance(scope, dict) or not scope:
            scope = {"type": "default"}
        return json.dumps(scope, sort_keys=True, ensure_ascii=False)

    def _set_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands")
        cleaned: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not _BOT_COMMAND_NAME_RE.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> list[JSONDict]:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return copy.deepcopy(self.commands.get(key, []))

    def _delete_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands.pop(key, None)
        return True

    def _set_chat_menu_button(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._resolve_chat_id(params, required=False)
        button = params.get("menu_button")
        if button is not None and not (isinstance(button, dict) and button.get("type")):
            raise _bad_request("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button or {"type": "default"}
        return True

    def _get_chat_menu_button(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat_id = self._resolve_chat_id(params, required=False)
        button = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"}
        if button.get("type") == "default":
            return {"type": "commands"}
        return copy.deepcopy(button)

    def _get_chat(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat_id = self._resolve_chat_id(params)
        assert chat_id is not None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise _bad_request("chat not found")
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }

    def _media_source(
        self, field_name: str, params: JSONDict, files: dict[str, UploadedFile]
    ) -> UploadedFile | StoredFile:
        """The uploaded file or the already known file referenced by ``params[field_name]``."""
        upload = files.get(field_name)
        value = params.get(field_name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
        if upload is not None:
            if not upload.data:
                raise _bad_request("file must be non-empty")
            if len(upload.data) > MAX_UPLOAD_SIZE:
                raise ApiError(413, "Request Entity Too Large")
            return upload
        if value is None or value == "":
            raise _bad_request(f"there is no {field_name} in the request")
        if not isinstance(value, str):
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            raise _bad_request("failed to get HTTP URL content")
        raise _bad_request("wrong file identifier/HTTP URL specified")

    def _media_message(self, params: JSONDict) -> tuple[JSONDict, JSONDict]:
        chat = self._target_chat(params)
        caption, entities = self._format(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities"), caption=True
        )
        markup = self._inline_markup(int(chat["id"]), params.get("reply_markup"))
        message = self._new_bot_message(chat, params)
        self._set_optional(message, "caption", caption)
        self._set_optional(message, "caption_entities", entities)
        self._set_optional(message, "reply_markup", markup)
        return chat, message

    def _send_document(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat, message = self._media_message(params)
        source = self._media_source("document", params, files)
        if isinstance(source, UploadedFile):
            stored = self._store_file(
                source.data,
                "document",
                source.file_name,
                source.mime_type,
                method="sendDocument",
                chat_id=int(chat["id"]),
            )
            self.uploads.append(stored)
        else:
            stored = source
        message["document"] = self._document_dict(stored)
        return self._store_bot_message(message)

    def _send_photo(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat, message = self._media_message(params)
        source = self._media_source("photo", params, files)
        if isinstance(source, UploadedFile):
            size = _image_size(source.data) or (1, 1)
            stored = self._store_file(
                source.data,
                "photo",
                source.file_name,
                source.mime_type,
                method="sendPhoto",
                chat_id=int(chat["id"]),
            )
            self.uploads.append(stored)
            message["photo"] = self._photo_sizes(stored, *size)
        elif source.file_id in self._photo_sets:
            message["photo"] = copy.deepcopy(self._photo_sets[source.file_id])
        else:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return self._store_bot_message(message)

    def _get_file(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        file_id = str(params.get("file_id") or "")
        stored = self.files.get(file_id)
        if stored is None:
            raise _bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }


def _maybe_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _as_int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _bad_request("wrong integer value") from exc


def _as_float(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise _bad_request("wrong number value") from exc
