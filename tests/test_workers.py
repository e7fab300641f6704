"""`bdg-bot run --workers 2` on PostgreSQL behind one webhook address, with a worker killed.

The real CLI, two real worker processes listening on one port (SO_REUSEPORT), the fake
Telegram API over HTTP: every update posted is answered, a worker killed with kill -9 loses
none (its updates are handled by the other), duplicates stay within what it had in flight,
and each chat's answers come in the order its messages were sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator

import aiohttp
import psutil
import pytest

from tests import postgres_server
from tests.fakes.telegram_api import FakeTelegramAPI

SECRET = "workers-secret"
#: Two commands whose answers differ, so a chat's answers show the order it was served in.
COMMANDS = ("/duongdaynong", "/help")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def pg_url(postgres_admin_url: str) -> AsyncIterator[str]:
    url = await postgres_server.fresh_database(postgres_admin_url)
    yield url
    await postgres_server.drop_database(url)


def update(update_id: int, chat: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 0, "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": "vi"},
            "text": text, "entities": [{"type": "bot_command", "offset": 0,
                                        "length": len(text)}],
        },
    }  # fmt: skip


async def test_two_workers_one_killed_answer_every_update_in_order(pg_url: str) -> None:
    fake = FakeTelegramAPI()
    await fake.start()
    port = free_port()
    env = dict(os.environ)
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
        TELEGRAM_WEBHOOK_URL="https://bot.example.invalid/tg/hook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        BOT_DB=pg_url,
    )
    env.pop("BOT_INBOX_KEY", None)  # the supervisor makes one for its workers
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--workers", "2", env=env
    )
    chats, per_chat = 20, 10
    try:
        await fake.wait_for(lambda: len(fake.calls_of("setWebhook")) >= 2, timeout=60)
        workers = psutil.Process(proc.pid).children()
        assert len(workers) == 2
        url = f"http://127.0.0.1:{port}/tg/hook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        killed = False
        async with aiohttp.ClientSession() as http:

            async def post(n: int) -> None:
                chat = 1000 + n % chats
                body = update(n + 1, chat, COMMANDS[(n // chats) % 2])
                # Telegram sends an update again until it gets a 200 (a worker being
                # killed may drop the connection or answer 503).
                for _attempt in range(50):
                    try:
                        async with http.post(url, json=body, headers=headers) as resp:
                            if resp.status == 200:
                                return
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
                raise AssertionError(f"update {n + 1} never accepted")

            for n in range(chats * per_chat):
                await post(n)
                if n == chats * per_chat // 3 and not killed:
                    os.kill(workers[0].pid, signal.SIGKILL)
                    killed = True
        total = chats * per_chat
        await fake.wait_for(lambda: len(fake.calls_of("sendMessage")) >= total, timeout=90)
        await asyncio.sleep(1.0)
        sent = fake.calls_of("sendMessage")
        duplicates = len(sent) - total
        print(f"answers {len(sent)} for {total} updates, duplicates {duplicates}")
        # At most what the killed worker had in flight (answered, not yet recorded).
        assert 0 <= duplicates <= 64, duplicates
        for i in range(chats):
            chat = 1000 + i
            kinds = [_kind(t) for t in fake.texts(chat)]
            collapsed = [k for j, k in enumerate(kinds) if j == 0 or k != kinds[j - 1]]
            expected = [COMMANDS[r % 2] for r in range(per_chat)]
            assert collapsed == expected, (chat, kinds)
        # The supervisor started a new worker in place of the killed one.
        assert len(psutil.Process(proc.pid).children()) == 2
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 40)
            except TimeoutError:
                proc.kill()
        await fake.stop()
    assert proc.returncode == 0


def _kind(text: str) -> str:
    return COMMANDS[0] if "113" in text and "111" in text else COMMANDS[1]
