"""Logging set-up: secrets never reach a log line."""

from __future__ import annotations

import logging


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret replaced by [secret]."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    return text


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for s in self.secrets:
                    message = message.replace(s, "[secret]")
                record.msg, record.args = message, None
            if record.exc_info and record.exc_info[1] is not None:
                text = logging.Formatter().formatException(record.exc_info)
                if any(s in text for s in self.secrets):
                    for s in self.secrets:
                        text = text.replace(s, "[secret]")
                    record.msg = f"{record.getMessage()}\n{text}"
                    record.args, record.exc_info, record.exc_text = None, None, None
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    # aiosqlite logs every statement with its parameters (the users' texts) at DEBUG.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
