"""Is a raw update shaped as Telegram sends it, in the parts the bot reads?

python-telegram-bot builds its objects from whatever JSON it is given: a text that is a number, a chat id
that is a list or an entity that runs past its text become attributes that fail later, inside a handler.
`malformed(raw)` names the first such fault (None when there is none); the intake skips those updates.
Only what the handlers, filters and update processor read is checked; the rest is python-telegram-bot's
to parse (it raises on what it cannot, and the intake skips that too).
"""

from __future__ import annotations

from typing import Any

#: Message-like update kinds (handlers, filters and Update.effective_* read these).
MESSAGE_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)
#: SQLite integers are 64-bit; Telegram ids fit in 52 bits.
INT_LIMIT = 2**63
#: How deep reply_to_message may nest (Telegram sends one level).
MAX_DEPTH = 3


class Malformed(Exception):
    """The path of the first field that is not what Telegram sends."""


def malformed(raw: object) -> str | None:
    try:
        _update(raw)
    except Malformed as exc:
        return str(exc)
    return None


def _fail(path: str, what: str) -> Malformed:
    return Malformed(f"{path}: {what}")


def _dict(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "not an object")
    return value


def _int(obj: dict[str, Any], key: str, path: str, required: bool = True) -> None:
    value = obj.get(key)
    if value is None and not required:
        return
    if type(value) is not int or not -INT_LIMIT <= value < INT_LIMIT:
        raise _fail(f"{path}.{key}", "not a 64-bit integer")


def _str(obj: dict[str, Any], key: str, path: str, required: bool = False) -> None:
    value = obj.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str):
        raise _fail(f"{path}.{key}", "not a string")


def _bool(obj: dict[str, Any], key: str, path: str) -> None:
    if not isinstance(obj.get(key), bool):
        raise _fail(f"{path}.{key}", "not a boolean")


def _update(raw: object) -> None:
    update = _dict(raw, "update")
    _int(update, "update_id", "update")
    for kind in MESSAGE_KINDS:
        if update.get(kind) is not None:
            _message(update[kind], kind, 0)
    if update.get("callback_query") is not None:
        query = _dict(update["callback_query"], "callback_query")
        _str(query, "id", "callback_query", required=True)
        _str(query, "chat_instance", "callback_query", required=True)
        _str(query, "data", "callback_query")
        _str(query, "inline_message_id", "callback_query")
        _user(query.get("from"), "callback_query.from")
        if query.get("message") is not None:
            _message(query["message"], "callback_query.message", 0)
    for kind, value in update.items():
        # Any other kind: Update.effective_user / effective_chat read its sender and chat.
        if kind in MESSAGE_KINDS or kind in ("update_id", "callback_query") or not isinstance(value, dict):
            continue
        for key in ("from", "user"):
            if value.get(key) is not None:
                _user(value[key], f"{kind}.{key}")
        if value.get("chat") is not None:
            _chat(value["chat"], f"{kind}.chat")


def _user(value: object, path: str) -> None:
    user = _dict(value, path)
    _int(user, "id", path)
    _bool(user, "is_bot", path)
    _str(user, "first_name", path, required=True)
    for key in ("last_name", "username", "language_code"):
        _str(user, key, path)


def _chat(value: object, path: str) -> None:
    chat = _dict(value, path)
    _int(chat, "id", path)
    _str(chat, "type", path, required=True)
    for key in ("title", "username", "first_name", "last_name"):
        _str(chat, key, path)


def _message(value: object, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _fail(path, "nested too deep")
    message = _dict(value, path)
    _int(message, "message_id", path)
    _int(message, "date", path)
    _int(message, "message_thread_id", path, required=False)
    _chat(message.get("chat"), f"{path}.chat")
    if message.get("from") is not None:
        _user(message["from"], f"{path}.from")
    if message.get("sender_chat") is not None:
        _chat(message["sender_chat"], f"{path}.sender_chat")
    for text_key, entities_key in (("text", "entities"), ("caption", "caption_entities")):
        _str(message, text_key, path)
        _entities(message.get(entities_key), message.get(text_key) or "", f"{path}.{entities_key}")
    if message.get("document") is not None:
        _file(message["document"], f"{path}.document")
    if message.get("photo") is not None:
        if not isinstance(message["photo"], list):
            raise _fail(f"{path}.photo", "not a list")
        for i, size in enumerate(message["photo"]):
            _file(size, f"{path}.photo[{i}]")
    if message.get("forward_origin") is not None:
        _origin(message["forward_origin"], f"{path}.forward_origin")
    if message.get("reply_to_message") is not None:
        _message(message["reply_to_message"], f"{path}.reply_to_message", depth + 1)


def _entities(value: object, text: str, path: str) -> None:
    """Entities count UTF-16 code units; each must lie inside its text and not split a surrogate pair."""
    if value is None:
        return
    if not isinstance(value, list):
        raise _fail(path, "not a list")
    units = text.encode("utf-16-le", "surrogatepass")
    size = len(units) // 2

    def inside_pair(i: int) -> bool:
        return 0 < i < size and 0xDC00 <= int.from_bytes(units[2 * i : 2 * i + 2], "little") <= 0xDFFF

    for i, item in enumerate(value):
        entity = _dict(item, f"{path}[{i}]")
        _str(entity, "type", f"{path}[{i}]", required=True)
        _int(entity, "offset", f"{path}[{i}]")
        _int(entity, "length", f"{path}[{i}]")
        _str(entity, "url", f"{path}[{i}]")
        if entity.get("user") is not None:
            _user(entity["user"], f"{path}[{i}].user")
        start, end = entity["offset"], entity["offset"] + entity["length"]
        if not 0 <= start <= end <= size or inside_pair(start) or inside_pair(end):
            raise _fail(f"{path}[{i}]", "outside its text")


def _file(value: object, path: str) -> None:
    item = _dict(value, path)
    _str(item, "file_id", path, required=True)
    _str(item, "file_unique_id", path, required=True)
    for key in ("file_size", "width", "height"):
        _int(item, key, path, required=False)
    for key in ("file_name", "mime_type"):
        _str(item, key, path)


def _origin(value: object, path: str) -> None:
    origin = _dict(value, path)
    _str(origin, "type", path, required=True)
    _int(origin, "date", path)
    _int(origin, "message_id", path, required=False)
    _str(origin, "sender_user_name", path)
    _str(origin, "author_signature", path)
    if origin.get("sender_user") is not None:
        _user(origin["sender_user"], f"{path}.sender_user")
    for key in ("sender_chat", "chat"):
        if origin.get(key) is not None:
            _chat(origin[key], f"{path}.{key}")
