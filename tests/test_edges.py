"""The edges, probed from outside: webhook limits, no secret or citizen text in any log, clean
start-up failures, odd inputs, and no network call inside a write transaction."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from aiohttp.test_utils import TestServer
from telegram import Update

import bot.cli.main as cli
from bot.app import open_runtime
from bot.channels import console
from bot.channels.telegram import adapter as telegram_channel
from bot.channels.telegram.adapter import serve_telegram
from bot.channels.zalo import adapter as zalo_channel
from bot.channels.zalo import client as zalo_client
from bot.channels.zalo.adapter import WEBHOOK_PATH, build_zalo_app
from bot.channels.zalo.client import TokenManager, ZaloClient
from bot.clock import FakeClock
from bot.logging_filters import install, redact, remember
from bot.settings import Secret, Settings, SettingsError, load_settings
from bot.storage import StorageError, Store
from bot.storage.zalo import load_tokens, save_rotated
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI

ROOT = Path(__file__).resolve().parent.parent
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MARKER = "Qzxjvbnm"  # a word no log line may ever contain


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a `bdg-bot` subprocess: nothing inherited from the machine's bot."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "BOT_"))}
    env.update({"BOT_DB": str(tmp_path / "bot.sqlite3"), "PYTHONPATH": str(ROOT), **extra})
    return env


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """Everything logged at any level, through a root handler set up as the CLI sets its own."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    install([handler])
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def message_update(update_id: int, text: str, **message: Any) -> dict[str, Any]:
    base = {
        "message_id": update_id, "date": 0, "chat": {"id": 42, "type": "private"},
        "from": {"id": 42, "is_bot": False, "first_name": "A"}, "text": text,
    }  # fmt: skip
    return {"update_id": update_id, "message": {**base, **message}}


# --- 1. the Telegram webhook under attack ------------------------------------------------------


async def _chunks(total: int, size: int = 1 << 20) -> AsyncIterator[bytes]:
    block = b"x" * size
    sent = 0
    while sent < total:
        yield block
        sent += size


async def _attack(url: str, total: int) -> int | None:
    """POST `total` bytes without the secret; the status, or None when the bot hung up."""
    headers = {"Content-Length": str(total), "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(url, data=_chunks(total), headers=headers) as resp,
        ):
            return resp.status
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None


@pytest.mark.slow
async def test_webhook_attack_leaves_memory_low_and_valid_updates_answered(
    tmp_path: Path,
) -> None:
    fake = FakeTelegramAPI()
    await fake.start()
    port = free_port()
    secret = "hook-" + uuid.uuid4().hex
    env = bot_env(
        tmp_path,
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
        TELEGRAM_WEBHOOK_URL="https://bot.example.invalid/tg/hook",
        TELEGRAM_WEBHOOK_SECRET=secret,
        TELEGRAM_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
    )
    logfile = (tmp_path / "bot.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stdout=logfile, stderr=logfile
    )
    try:
        await fake.wait_for(lambda: fake.webhook_url is not None, timeout=30)
        assert fake.calls_of("setWebhook")[-1].params["secret_token"] == secret
        process = psutil.Process(proc.pid)
        peak = process.memory_info().rss
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, process.memory_info().rss)
                await asyncio.sleep(0.01)

        sampler = asyncio.create_task(sample())
        url = f"http://127.0.0.1:{port}/tg/hook"
        attack = [asyncio.create_task(_attack(url, 95 * 2**20)) for _ in range(10)]
        await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as http:
            update = message_update(1, "/duongdaynong")
            async with http.post(url, json=update, headers={SECRET_HEADER: secret}) as resp:
                assert resp.status == 200
        await fake.wait_sent(42, 1, timeout=20)
        statuses = await asyncio.wait_for(asyncio.gather(*attack), 90)
        done.set()
        await sampler
        assert all(status in (403, None) for status in statuses), statuses
        assert peak < 150 * 2**20, f"peak RSS {peak / 2**20:.0f} MB"
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 20)
        logfile.close()
        await fake.stop()
    assert proc.returncode == 0
    assert secret not in (tmp_path / "bot.log").read_text()


@pytest.fixture
async def webhook(tmp_path: Path, clock: FakeClock) -> AsyncIterator[tuple[str, FakeTelegramAPI]]:
    """A bot serving its webhook in this process; yields the webhook URL and the fake API."""
    fake = FakeTelegramAPI()
    await fake.start()
    port = free_port()
    settings = Settings(
        telegram_token=Secret(fake.token),
        telegram_api_base_url=fake.base_url,
        telegram_webhook_url="https://bot.example.invalid/tg/hook",
        telegram_webhook_secret=Secret("s3cret-token"),
        telegram_webhook_listen=("127.0.0.1", port),
        db_path=tmp_path / "bot.sqlite3",
    )
    stop = asyncio.Event()
    async with open_runtime(settings, clock) as rt:
        task = asyncio.create_task(serve_telegram(rt, stop))
        await fake.wait_for(lambda: fake.webhook_url is not None, timeout=10)
        try:
            yield f"http://127.0.0.1:{port}/tg/hook", fake
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            await fake.stop()


async def test_webhook_checks_path_and_size_and_bounds_requests_in_progress(
    webhook: tuple[str, FakeTelegramAPI],
) -> None:
    url, fake = webhook
    ok = {SECRET_HEADER: "s3cret-token"}
    async with aiohttp.ClientSession() as http:
        async with http.post(url.replace("/tg/hook", "/other"), json={}, headers=ok) as resp:
            assert resp.status == 404
        too_big = b"{" + b" " * (2 * 2**20) + b"}"
        async with http.post(url, data=too_big, headers=ok) as resp:
            assert resp.status == 413  # by its Content-Length, unread
        async with http.post(url, data=_chunks(3 * 2**20, 2**16), headers=ok) as resp:
            assert resp.status == 413  # chunked: no length, refused while reading
        async with http.post(url, data=b"[" * 100_000, headers=ok) as resp:
            assert resp.status == 400
        # Slow senders fill the slots; the next request is told to come back, not queued.
        slow: list[asyncio.Task[int | None]] = []

        async def trickle() -> AsyncIterator[bytes]:
            yield b"{"
            await asyncio.sleep(3)
            yield b"}"

        async def post_slowly() -> int | None:
            try:
                async with http.post(url, data=trickle(), headers=ok) as resp:
                    return resp.status
            except aiohttp.ClientError:
                return None

        from bot.channels.telegram.webhook import MAX_IN_PROGRESS

        slow = [asyncio.create_task(post_slowly()) for _ in range(MAX_IN_PROGRESS)]
        await asyncio.sleep(0.5)
        async with http.post(url, json=message_update(7, "/start"), headers=ok) as resp:
            assert resp.status == 503
        await asyncio.gather(*slow)
        async with http.post(url, json=message_update(8, "/start"), headers=ok) as resp:
            assert resp.status == 200
    await fake.wait_sent(42, 1)


def test_webhook_listens_on_loopback_by_default() -> None:
    assert Settings().telegram_webhook_listen == ("127.0.0.1", 8443)
    env = {"TELEGRAM_WEBHOOK_URL": "https://x.example/h", "TELEGRAM_WEBHOOK_SECRET": "abc"}
    assert load_settings(env).telegram_webhook_listen == ("127.0.0.1", 8443)


# --- 2. no secret in any log or error ----------------------------------------------------------


def test_cli_error_line_never_shows_the_telegram_token(tmp_path: Path) -> None:
    async def run() -> list[subprocess.CompletedProcess[str]]:
        async with FakeTelegramAPI() as fake:
            token = "987654:" + uuid.uuid4().hex  # unknown to the fake: 401
            wrong_url = fake.base_url.replace("/bot", "/nowhere/bot")  # 404, a valid token
            results = []
            for tok, base in ((token, fake.base_url), (fake.token, wrong_url)):
                env = bot_env(tmp_path, TELEGRAM_BOT_TOKEN=tok, TELEGRAM_API_BASE_URL=base)
                started = time.monotonic()
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                )  # fmt: skip
                out, err = await asyncio.wait_for(proc.communicate(), 30)
                assert time.monotonic() - started < 15
                code = proc.returncode or 0
                done = subprocess.CompletedProcess([tok], code, out.decode(), err.decode())
                results.append(done)
            return results

    for result in asyncio.run(run()):
        token = result.args[0]
        assert result.returncode == 2, result.stderr
        assert "TELEGRAM_BOT_TOKEN" in result.stderr
        for secret in (token, token.split(":")[1]):
            assert secret not in result.stdout + result.stderr


def test_cli_unexpected_error_is_one_redacted_line(capsys: pytest.CaptureFixture[str]) -> None:
    token = "123456:" + uuid.uuid4().hex
    remember(token)
    assert cli._stopped(RuntimeError(f"boom at https://api.telegram.org/bot{token}/getMe")) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: RuntimeError: boom") and token not in err


async def test_an_aiohttp_exception_in_the_log_is_redacted(log: io.StringIO) -> None:
    async with FakeTelegramAPI() as fake, aiohttp.ClientSession() as http:
        token = "555555:" + uuid.uuid4().hex  # never configured: masked by its shape
        async with http.get(f"{fake.base_url}{token}/getMe") as resp:
            try:
                resp.raise_for_status()
            except aiohttp.ClientResponseError as exc:
                logging.getLogger("aiohttp.client").error("request failed: %s", exc, exc_info=exc)
    text = log.getvalue()
    assert "request failed" in text and "401" in text and "Traceback" in text
    assert token not in text and token.split(":")[1] not in text


async def test_ptb_invalid_token_in_the_log_is_redacted(log: io.StringIO) -> None:
    from telegram import Bot
    from telegram.error import InvalidToken

    async with FakeTelegramAPI() as fake:
        secret = "secret-" + uuid.uuid4().hex  # a configured secret that looks like no token
        token = f"424242:{secret}"
        remember(token, secret)
        with pytest.raises(InvalidToken) as caught:
            await Bot(token, base_url=fake.base_url).get_me()
        logging.getLogger("telegram.ext.Application").error("stopped", exc_info=caught.value)
    text = log.getvalue()
    assert "InvalidToken" in text and secret not in text


async def test_a_zalo_refusal_quoting_the_refresh_token_is_redacted(
    tmp_path: Path, clock: FakeClock, log: io.StringIO
) -> None:
    async with FakeZaloAPI() as fake, aiohttp.ClientSession() as session:
        fake.refresh_token = "RT-" + uuid.uuid4().hex
        fake.echo_refused_token = True
        settings = fake.settings()
        store = await Store.open(tmp_path / "bot.sqlite3")
        try:
            tokens = TokenManager(store, settings, clock, session)
            await tokens.start()
            fake.refresh_token = "RT-new-authorisation"  # the stored one is refused now
            await tokens.maintain()
        finally:
            await store.close()
    text = log.getvalue()
    assert "Invalid refresh token" in text and fake.refusals
    assert str(settings.refresh_token) not in text and str(settings.access_token) not in text


# --- 3. no update payload in any log record ----------------------------------------------------


async def test_an_unparseable_update_never_logs_its_text(
    webhook: tuple[str, FakeTelegramAPI], log: io.StringIO
) -> None:
    url, fake = webhook
    ok = {SECRET_HEADER: "s3cret-token"}
    bad_date = message_update(3, f"chồng tôi {MARKER} đánh tôi", date="hôm qua")
    no_id = message_update(4, f"em {MARKER} ở thôn Pò Mã")
    del no_id["update_id"]
    async with aiohttp.ClientSession() as http:
        for update in (bad_date, no_id):
            async with http.post(url, json=update, headers=ok) as resp:
                assert resp.status == 200  # dropped, so that Telegram does not resend it
        async with http.post(url, json=message_update(5, "/start"), headers=ok) as resp:
            assert resp.status == 200
    await fake.wait_sent(42, 1)
    assert len(fake.sent(42)) == 1
    text = log.getvalue()
    assert "could not be read" in text
    assert MARKER not in text and "Pò Mã" not in text


def test_ptb_payload_records_are_stripped_whatever_their_level(log: io.StringIO) -> None:
    payload = [message_update(6, f"tên tôi là {MARKER}")]
    try:
        Update.de_list(json.loads(json.dumps(payload).replace('"date": 0', '"date": "x"')), None)
    except Exception as exc:
        error = exc
    # What PTB 22 writes (telegram/_bot.py, ext/_utils/webhookhandler.py), as it writes it.
    logging.getLogger("telegram.Bot").critical(
        "Error while parsing updates! Received data was %r", payload, exc_info=error
    )
    logging.getLogger("telegram.ext._utils.webhookhandler").critical(
        "Received data was *not* processed! Received data was: %r", payload[0], exc_info=error
    )
    logging.getLogger("telegram.Bot").debug(
        "Calling Bot API endpoint `%s` with parameters `%s`", "sendMessage", payload[0]
    )
    text = log.getvalue()
    assert text.count("CRITICAL") == 2 and "sendMessage" in text
    assert MARKER not in text


# --- 4. start-up failures exit, closed, within 5 s ---------------------------------------------

FULL_DISK = """
import sys
import bot.storage as storage
migrate = storage.Store.migrate
async def full_disk_migrate(self):
    # SQLite stops at this many pages exactly as on a full disk: "database or disk is full".
    await self._db.execute("PRAGMA max_page_count=4")
    return await migrate(self)
storage.Store.migrate = full_disk_migrate
from bot.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _start_up(tmp_path: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, *args], env=bot_env(tmp_path, **env), capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    # The interpreter's own start-up is included; the failure itself must not wait.
    assert time.monotonic() - started < 5, result.stderr
    return result


def test_bot_db_that_is_not_a_database_exits_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite3"
    bad.write_text("these are notes, not a database\n" * 20)
    result = _start_up(tmp_path, ["-m", "bot", "run"], BOT_DB=str(bad),
                       TELEGRAM_BOT_TOKEN="123456:" + "a" * 30)  # fmt: skip
    assert result.returncode == 2
    assert "BOT_DB" in result.stderr and "not a database" in result.stderr


def test_disk_full_during_migrations_exits_at_once(tmp_path: Path) -> None:
    result = _start_up(tmp_path, ["-c", FULL_DISK, "run"], TELEGRAM_BOT_TOKEN="123456:" + "a" * 30)
    assert result.returncode == 2
    assert "BOT_DB" in result.stderr and "full" in result.stderr


def test_webhook_port_in_use_exits_at_once(tmp_path: Path) -> None:
    async def run() -> subprocess.CompletedProcess[str]:
        async with FakeTelegramAPI() as fake:
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen()
                port = taken.getsockname()[1]
                env = bot_env(
                    tmp_path, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url,
                    TELEGRAM_WEBHOOK_URL="https://x.example/h", TELEGRAM_WEBHOOK_SECRET="abcd",
                    TELEGRAM_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                )  # fmt: skip
                started = time.monotonic()
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                )  # fmt: skip
                _out, err = await asyncio.wait_for(proc.communicate(), 30)
                assert time.monotonic() - started < 8, err
                return subprocess.CompletedProcess([], proc.returncode or 0, "", err.decode())

    result = asyncio.run(run())
    assert result.returncode == 1
    assert "address already in use" in result.stderr.lower() or "98" in result.stderr


# --- 5. lesser edges ---------------------------------------------------------------------------


async def test_deeply_nested_zalo_body_is_400_before_any_signature_work(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, log: io.StringIO
) -> None:
    checked: list[bytes] = []
    monkeypatch.setattr(zalo_channel, "verify_signature", lambda raw, *a: checked.append(raw))
    async with FakeZaloAPI() as fake:
        settings = Settings(db_path=tmp_path / "bot.sqlite3", zalo=fake.settings())
        async with open_runtime(settings, clock) as rt:
            server = TestServer(build_zalo_app(rt), host="127.0.0.1")
            await server.start_server()
            try:
                url = str(server.make_url(WEBHOOK_PATH))
                for body in (b"[" * 200_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
                    status = await fake.post_event(url, body[: 250 * 1024], signature="mac=0")
                    assert status == 400
            finally:
                await server.close()
    assert checked == []
    assert "Traceback" not in log.getvalue() and "RecursionError" not in log.getvalue()


def test_broadcast_status_with_a_huge_id_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "broadcast", "status", "99999999999999999999"],
        env=bot_env(tmp_path), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "not a broadcast number" in result.stderr
    assert "OverflowError" not in result.stderr and "Traceback" not in result.stderr


def test_export_onto_a_folder_leaves_no_part_file(tmp_path: Path) -> None:
    asyncio.run(_create_database(tmp_path / "bot.sqlite3"))
    folder = tmp_path / "exports"
    folder.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "export", "--period", "2026-N", "--out", str(folder)],
        env=bot_env(tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "is a folder" in result.stderr and "--out" in result.stderr
    assert list(tmp_path.rglob("*.part")) == []


async def _create_database(path: Path) -> None:
    store = await Store.open(path)
    await store.close()


@pytest.mark.parametrize(
    "value",
    ["telegram:1;telegram:2", "telegram:01", "telegram:*", "zalo:abc", "telegram: 1", "zalo:"],
)
def test_bot_admins_that_could_never_match_are_start_up_errors(value: str) -> None:
    with pytest.raises(SettingsError, match="BOT_ADMINS"):
        load_settings({"BOT_ADMINS": value})


def test_bot_admins_well_formed_are_accepted() -> None:
    value = "telegram:1, zalo:6120000000000000001,console:admin"
    admins = load_settings({"BOT_ADMINS": value}).admins
    assert admins == {"telegram:1", "zalo:6120000000000000001", "console:admin"}


@pytest.mark.parametrize("lat", ["1e999", "-1e999", "1e308", "95.5"])
def test_telegram_location_out_of_range_reaches_the_engine(lat: str) -> None:
    data = message_update(9, "")
    del data["message"]["text"]
    # As json.loads reads what arrives (1e999 is infinity), then PTB's own parsing.
    data["message"]["location"] = json.loads(f'{{"latitude": {lat}, "longitude": 106.7}}')
    inc = telegram_channel.to_incoming(Update.de_json(data, None))
    assert inc is not None and inc.location is not None
    assert inc.location.lat == float(lat)  # passed through: the place dialog explains


def test_console_location_out_of_range_reaches_the_engine() -> None:
    inc = console.to_incoming("location " + "9" * 400 + " 106.7")
    assert inc.location is not None and inc.location.lat == float("inf")
    assert console.to_incoming("vitri 95.5, 106.7").location is not None


# --- 6. no network call inside a write transaction ---------------------------------------------


async def test_a_slow_zalo_refresh_blocks_no_writer(tmp_path: Path, clock: FakeClock) -> None:
    async with FakeZaloAPI() as fake, aiohttp.ClientSession() as session:
        store = await Store.open(tmp_path / "bot.sqlite3")
        try:
            tokens = TokenManager(store, fake.settings(), clock, session)
            await tokens.start()
            fake.latency_ms = 1500
            refresh = asyncio.create_task(tokens.access_token())
            await asyncio.sleep(0.3)  # the refresh is waiting for Zalo now
            started = time.monotonic()
            await store.set_language("telegram:1", "en", clock.now())
            assert time.monotonic() - started < 0.5
            assert not refresh.done()
            assert await refresh == fake.access_token
            pair = await load_tokens(store)
            assert pair is not None and pair.refresh_token == fake.refresh_token
        finally:
            await store.close()


async def test_a_rotated_pair_that_cannot_be_saved_is_kept_and_reported(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, log: io.StringIO
) -> None:
    async with FakeZaloAPI() as fake, aiohttp.ClientSession() as session:
        store = await Store.open(tmp_path / "bot.sqlite3")
        try:
            tokens = TokenManager(store, fake.settings(), clock, session)
            client = ZaloClient(fake.settings(), tokens, session)
            await tokens.start()

            async def full_disk(*args: Any) -> bool:
                raise StorageError("database or disk is full")

            monkeypatch.setattr(zalo_client, "save_rotated", full_disk)
            assert (await client.send_texts("1", ["a"])).status == "sent"
            assert (await client.send_texts("2", ["b"])).status == "sent"
            assert fake.refreshes == 1  # the unsaved pair is used, not refreshed again
            text = log.getvalue()
            assert "ERROR" in text and "ZALO_REFRESH_TOKEN again" in text
            assert fake.access_token not in text and fake.refresh_token not in text
            monkeypatch.setattr(zalo_client, "save_rotated", save_rotated)
            clock.advance(timedelta(minutes=1))
            assert (await client.send_texts("3", ["c"])).status == "sent"
            pair = await load_tokens(store)
            assert pair is not None and pair.refresh_token == fake.refresh_token
        finally:
            await store.close()


def test_redact_masks_remembered_secrets_and_any_bot_token() -> None:
    remember("zalo-app-secret-xyz")
    text = redact(
        "a zalo-app-secret-xyz b https://h/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/x"
    )
    assert "zalo-app-secret-xyz" not in text and "AAHdq" not in text
    assert redact("update 123 took 12:30") == "update 123 took 12:30"
