"""Configuration: one settings object, read once from the environment (or a .env file).

A bad value stops the bot at start with one line naming the variable (exit code 2); see bot/__main__.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_FILE_BASE_URL = "https://api.telegram.org/file/bot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    #: The bot's token from @BotFather. Without it `make run` starts the offline local chat.
    telegram_bot_token: SecretStr | None = None
    #: Bot API base URLs, in python-telegram-bot's form (e.g. http://127.0.0.1:8081/bot for a self-hosted server).
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    telegram_file_base_url: str = DEFAULT_FILE_BASE_URL
    #: Telegram user ids of the admins (a district education office), comma-separated.
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    #: A chat where reviews are posted (optional).
    admin_chat_id: int | None = None
    database_path: Path = Path("data/jianfu.sqlite3")
    bot_mode: Literal["polling", "webhook"] = "polling"
    #: Public HTTPS URL Telegram posts updates to (webhook mode).
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret_token: SecretStr | None = None
    default_language: Literal["zh", "en"] = "zh"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Screening requests one user may send per minute before getting a polite wait message.
    user_rate_limit_per_minute: int = Field(default=30, ge=1, le=10_000)
    #: Message texts (and what quotes them) older than this are erased by a daily job; verdict rows stay.
    retention_days: int = Field(default=180, ge=1, le=36_500)
    #: Largest file or picture read (Telegram lets bots download up to 20 MB).
    max_file_mb: int = Field(default=10, ge=1, le=20)
    #: Time limit for reading one picture or scanned document.
    ocr_timeout_seconds: float = Field(default=60.0, gt=0, le=600)

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("webhook_secret_token")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram allows 1-256 characters A-Z, a-z, 0-9, _ and -.
        if value is not None:
            raw = value.get_secret_value()
            if not raw or len(raw) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in raw):
                raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids


def env_names() -> list[str]:
    """Every environment variable the settings read (the README lists exactly these)."""
    return [name.upper() for name in Settings.model_fields]
