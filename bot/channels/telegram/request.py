"""A PTB `BaseRequest` on aiohttp: a Bot API transport that is not the throughput ceiling.

PTB's default HTTPXRequest spends CPU in httpcore's pool on every request, and that work grows
with the pool (DESIGN.md §5); aiohttp's connector does not. Requests are encoded as HTTPXRequest
encodes them (a URL-encoded form, multipart when files are uploaded), and timeouts and errors
keep PTB's meaning, so nothing above the transport can tell the difference.
"""

from __future__ import annotations

import asyncio
import re
from typing import Final
from urllib.parse import urlencode, urlsplit

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]

_FORM_HEADERS: Final = {"Content-Type": "application/x-www-form-urlencoded"}
# A bot token in a URL path ("/bot123456:ABC-def/..."), raw or percent-encoded.
_TOKEN_IN_PATH: Final = re.compile(r"bot\d+(?::|%3A)[\w-]+", re.IGNORECASE)
_POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* "
    "sent to Telegram. Consider adjusting the connection pool size or the pool timeout."
)


def _redact(text: str, url: str) -> str:
    """`text` with the request's URL, and any bot token, masked."""
    # aiohttp puts the whole URL into some messages ("Connection timeout to host <url>"), and
    # PTB's URLs carry the bot token.
    for secret in (url, urlsplit(url).path):
        if secret:
            text = text.replace(secret, "<redacted>")
    return _TOKEN_IN_PATH.sub("bot<token>", text)


def _sum(*timeouts: float | None) -> float | None:
    """The sum of the timeouts, or None (no limit) when any of them is unlimited."""
    total = 0.0
    for timeout in timeouts:
        if timeout is None:
            return None
        total += timeout
    return total


def _client_timeout(
    read_timeout: float | None, connect_timeout: float | None
) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for PTB's read and connect timeouts (the pool wait is ours)."""
    return aiohttp.ClientTimeout(
        total=None,
        # Our semaphore has already waited for a pool slot, so getting a connection is only
        # reusing an idle one or opening a new one.
        connect=connect_timeout,
        sock_connect=connect_timeout,
        # Like httpx's read timeout: the longest wait for the next bytes of the answer; aiohttp
        # starts it once the request is written.
        sock_read=read_timeout,
    )


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """The multipart body httpx would send: the parameters first, then the files."""
    # quote_fields=False: a UTF-8 file name goes as it is (as httpx sends it), not
    # percent-encoded, which Telegram would show verbatim.
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


class AiohttpRequest(BaseRequest):
    """`telegram.request.BaseRequest` on one `aiohttp.ClientSession` with a bounded pool."""

    __slots__ = (
        "_connect_timeout",
        "_connection_pool_size",
        "_default_timeout",
        "_media_write_timeout",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_session",
        "_slots",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
    ) -> None:
        """Same parameters and defaults as PTB's HTTPXRequest (`proxy`: an http:// URL)."""
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        # Built once: nearly every call uses the defaults, so no per-request allocation.
        self._default_timeout = _client_timeout(read_timeout, connect_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds (PTB adds getUpdates' long-poll time to it)."""
        return self._read_timeout

    @property
    def connection_pool_size(self) -> int:
        """The most requests (and connections) in flight at once."""
        return self._connection_pool_size

    async def initialize(self) -> None:
        """Open the session and its connection pool (again after a `shutdown`)."""
        if self._session is not None and not self._session.closed:
            return
        # The pool wait is a semaphore of our own: aiohttp's connect timeout would lump it
        # together with opening the connection, and PTB's pool_timeout is the wait alone.
        self._slots = asyncio.Semaphore(self._connection_pool_size)
        connector = aiohttp.TCPConnector(
            # Never reached (the semaphore admits no more), but keeps the pool bounded anyway.
            limit=self._connection_pool_size,
            # Every request goes to one host, so the total limit is the per-host limit too.
            limit_per_host=0,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.USER_AGENT},
            timeout=self._default_timeout,
        )

    async def shutdown(self) -> None:
        """Close the session and every pooled connection; safe to call twice."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
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
        """Send one request; return the HTTP status and the raw body (PTB parses it)."""
        session, slots = self._session, self._slots
        if session is None or slots is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")

        body: bytes | aiohttp.FormData | None = None
        headers: dict[str, str] | None = None
        files = False
        if request_data is not None:
            if request_data.contains_files:
                body, files = _multipart(request_data), True
            elif params := request_data.json_parameters:
                # Pre-encoded bytes: cheaper than a FormData, and the very bytes httpx sends.
                body, headers = urlencode(params).encode(), _FORM_HEADERS

        # DEFAULT_NONE means "not passed": this instance's default; None means no limit.
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if files else self._write_timeout
        if read_timeout == self._read_timeout and connect_timeout == self._connect_timeout:
            timeout = self._default_timeout
        else:
            timeout = _client_timeout(read_timeout, connect_timeout)
        # aiohttp has no write timeout, so getting the answer's headers is bounded as a whole:
        # a request that keeps within each phase's limit is done within their sum. The body is
        # read after this ceiling, under the read timeout alone, so a long download is not cut.
        ceiling = _sum(connect_timeout, write_timeout, read_timeout)

        if slots.locked():  # only then is there a wait to bound (and a timer worth its cost)
            try:
                async with asyncio.timeout(pool_timeout):
                    await slots.acquire()
            except TimeoutError:
                raise TimedOut(_POOL_TIMEOUT_MESSAGE) from None
        else:
            await slots.acquire()
        try:
            async with asyncio.timeout(ceiling):
                response = await session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    proxy=self._proxy,
                    # Like HTTPXRequest: the answer of the URL asked, never a redirect target.
                    allow_redirects=False,
                )
            async with response:
                return response.status, await response.read()
        except TimeoutError:
            # aiohttp's connect and read timeouts subclass TimeoutError, as does the ceiling.
            # `from None` here and below: aiohttp's messages can carry the URL, so the token.
            raise TimedOut() from None
        except aiohttp.ClientError as err:
            message = _redact(str(err), url)
            raise NetworkError(f"aiohttp.{type(err).__name__}: {message}") from None
        finally:
            slots.release()
