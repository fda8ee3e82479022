"""python-telegram-bot's requests over aiohttp instead of httpx.

python-telegram-bot sends every Bot API request through a `BaseRequest`; its own, `HTTPXRequest`, costs about
1 ms of CPU per request (httpx, httpcore and anyio in pure Python; its pool polls every idle connection's socket
before each request), which made a verdict card's sendMessage the largest cost of an update after screening.
aiohttp (HTTP parser in C, plain asyncio) does the same request in about a fifth of that. Everything above the
request (parameters, defaults, the rate limiter, errors from Telegram's answers) stays python-telegram-bot's.

Kept as HTTPXRequest does it: the same default time limits, connection pool size and User-Agent; an HTTP proxy
from the environment (HTTPS_PROXY, ALL_PROXY, NO_PROXY; read when the request object is made, not on every
request as aiohttp's trust_env would, in a worker thread); certificates from certifi when it is installed;
redirects not followed; no cookies kept; a time-out raises TimedOut, any other transport failure
NetworkError, whose message names the error, not the URL (a Bot API URL carries the token).

aiohttp has no time limit on writing a request, and its read limit starts once the request is written. A
request with a body therefore also gets an overall limit: waiting for a connection, connecting, writing (the
media write limit when files are uploaded) and reading, added up. A download (GET) keeps only the read limit
between two pieces of data, so a large file on a slow link is not cut off.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

#: python-telegram-bot's defaults for HTTPXRequest (seconds).
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0


def _ssl_context() -> ssl.SSLContext:
    """Verified TLS with certifi's certificates where installed (as httpx), else the system's."""
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _given(value: Any, default: float | None) -> float | None:
    """A time limit passed for one request, or `default` when none was (python-telegram-bot then passes a
    DefaultValue, BaseRequest.DEFAULT_NONE's type)."""
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


def _total(*parts: float | None) -> float | None:
    return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)


class AiohttpRequest(BaseRequest):
    """A `telegram.request.BaseRequest` over one aiohttp session (created by `initialize`, closed by
    `shutdown`). Arguments as HTTPXRequest's."""

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = READ_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self.connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._env_proxies = getproxies()
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connection_pool_size, ssl=_ssl_context()),
                headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        # Time limits not given for this request are this object's.
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)
        body: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] = {}
        if files and request_data is not None:
            form = aiohttp.FormData(request_data.json_parameters)
            for name, (file_name, content, mime_type) in files.items():
                form.add_field(name, content, filename=file_name, content_type=mime_type)
            body = form
        elif request_data is not None and request_data.parameters:
            body = urlencode(request_data.json_parameters).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        timeout = aiohttp.ClientTimeout(
            total=_total(pool, connect, write, read) if body is not None else None,
            connect=_total(pool, connect),
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=self._proxy_for(url),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's time-outs are asyncio.TimeoutError, the builtin one
            raise TimedOut(f"aiohttp.{type(exc).__name__}: {_without_url(str(exc), url)}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {_without_url(str(exc), url)}") from exc

    def _proxy_for(self, url: str) -> str | None:
        """The environment's proxy for the URL's scheme and host (None: connect directly), once per origin."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        if origin not in self._proxies:
            direct = not self._env_proxies or proxy_bypass(parts.hostname or "")
            self._proxies[origin] = (
                None if direct else self._env_proxies.get(parts.scheme, self._env_proxies.get("all"))
            )
        return self._proxies[origin]


def _without_url(text: str, url: str) -> str:
    """`text` with the request's URL (which carries the bot's token) cut down to its host."""
    parts = urlsplit(url)
    return text.replace(url, f"{parts.scheme}://{parts.netloc}") if url in text else text
