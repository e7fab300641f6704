"""`bdg-bot run --workers N` on PostgreSQL: webhook throughput, a kill -9, the shared outbox pace.

Usage::

    .venv/bin/python bench/bench_workers.py [--quick] [--parts 1,2,3] [--load questions]

The real CLI (`python -m bot run --workers N --channel telegram`) serves a webhook; updates are
posted to it as Telegram does (the secret header, at most 40 connections, a refused or dropped
update sent again), and the answers are counted at the fake Bot API
(tests/fakes/telegram_api.py). Prints ``name: value`` lines:

1. messages answered per second (first post to the last message sent) for 2 workers on
   PostgreSQL, 1 on PostgreSQL (through the inbox) and 1 on SQLite (no inbox), at 0 and 50 ms
   round trips to the fake; the ratios 2-PG/1-PG and 1-PG/1-SQLite; the CPU each party used
   per update, and the rates that CPU would allow with the machine to the bench alone;
2. one of two workers killed with kill -9 a third of the way through 2,000 updates (50 ms):
   updates answered, duplicate answers against the rows the killed worker held, per-chat order;
3. the outbox at Telegram's limits on PostgreSQL at 50 and 150 ms (bench_outbox.py's runs), from
   one process and from two sharing the pace: achieved over configured rate, limit violations.

PostgreSQL: BOT_BENCH_POSTGRES_URL (an admin URL), else an embedded server started as the tests
start one (tests/postgres_server.py).
Sizes: BENCH_WORKERS_MESSAGES (5000), BENCH_WORKERS_CHATS (500), BENCH_WORKERS_KILL_UPDATES
(2000), BENCH_WORKERS_OUTBOX_MESSAGES (600); `--quick` makes them 1000, 100, 600 and 150.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench_outbox  # noqa: E402

from bot.channels.inbox import new_inbox_key  # noqa: E402
from tests import postgres_server  # noqa: E402
from tests.fakes.telegram_api import SEND_METHODS, Call, FakeTelegramAPI  # noqa: E402

SECRET = "bench-workers-secret"
#: Telegram opens at most this many connections to a webhook (setWebhook's max_connections).
CONNECTIONS = 40
#: Two commands whose answers differ, so a chat's answers show the order it was served in.
COMMANDS = ("/duongdaynong", "/help")
#: How long one run may take before the bench gives up on it (s).
RUN_TIMEOUT = 300.0
#: A run is over when no message was sent for this long (s).
QUIET = 2.0
#: Part 2 gives up waiting when nothing moved for this long (s): well past the time a dead
#: worker's rows take to be handled by another (bot.channels.inbox.DEAD_AFTER).
STALLED = 60.0
#: Part 2's updates per chat.
KILL_PER_CHAT = 10


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much load each part puts on the bot."""

    messages: int
    chats: int
    kill_updates: int
    outbox_messages: int


def sizes(quick: bool) -> Sizes:
    """The sizes of this run: the defaults (or --quick ones), overridden by the environment."""
    d = Sizes(1000, 100, 600, 150) if quick else Sizes(5000, 500, 2000, 600)
    env = os.environ.get
    return Sizes(
        messages=int(env("BENCH_WORKERS_MESSAGES", d.messages)),
        chats=int(env("BENCH_WORKERS_CHATS", d.chats)),
        kill_updates=int(env("BENCH_WORKERS_KILL_UPDATES", d.kill_updates)),
        outbox_messages=int(env("BENCH_WORKERS_OUTBOX_MESSAGES", d.outbox_messages)),
    )


# --- the fake Bot API, in its own process ---------------------------------------------------


class _Tally:
    """Control routes of the fake's process: counts and answers, read incrementally."""

    def __init__(self, fake: FakeTelegramAPI) -> None:
        self.fake = fake
        self.seen = 0
        self.counts: dict[str, int] = {}
        self.sends: list[Call] = []  # every message sent (an answer may be several)

    def _update(self) -> None:
        # Calls are appended in arrival order and (but for getUpdates, unused here) get their
        # status before the handler yields: everything before len() is final.
        calls = self.fake.calls
        for call in calls[self.seen :]:
            if call.status == 200:
                self.counts[call.method] = self.counts.get(call.method, 0) + 1
                if call.method.lower() in SEND_METHODS:
                    self.sends.append(call)
        self.seen = len(calls)

    async def wait(self, request: web.Request) -> web.Response:
        """Until `n` successful calls of `method` (`send`: any message sent), then none for
        `quiet` s, or until `timeout`: their count and the time of the last message sent
        (time.monotonic(), one clock for every process of the machine)."""
        method = request.query.get("method", "send")
        n = int(request.query.get("n", "0"))
        quiet = float(request.query.get("quiet", "0"))
        deadline = time.monotonic() + float(request.query.get("timeout", "0"))
        while True:
            self._update()
            count = len(self.sends) if method == "send" else self.counts.get(method, 0)
            last = self.sends[-1].at if self.sends else None
            now = time.monotonic()
            if (count >= n and (last is None or now - last >= quiet)) or now >= deadline:
                break
            await asyncio.sleep(0.01)
        return web.json_response({"count": count, "last_at": last})

    async def answers(self, _request: web.Request) -> web.Response:
        """Every message sent: chat, text ("" for a location), time."""
        self._update()
        rows = [[int(c.params["chat_id"]), c.params.get("text", ""), c.at] for c in self.sends]
        return web.json_response(rows)


async def fake_main(latency_ms: float) -> None:
    """`fake` mode: serve the fake Bot API until SIGTERM; print its addresses first."""
    fake = FakeTelegramAPI(latency_ms=latency_ms)
    tally = _Tally(fake)
    fake.app.router.add_get("/_bench/wait", tally.wait)
    fake.app.router.add_get("/_bench/answers", tally.answers)
    await fake.start()
    control = f"http://127.0.0.1:{fake.port}/_bench"
    print(json.dumps({"base_url": fake.base_url, "token": fake.token, "control": control}))
    sys.stdout.flush()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await fake.stop()


class FakeProcess:
    """The fake Bot API in a child process (its event loop and CPU apart from the driver's)."""

    def __init__(self, proc: asyncio.subprocess.Process, info: dict[str, str]) -> None:
        self.proc = proc
        self.base_url = info["base_url"]
        self.token = info["token"]
        self.control = info["control"]
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))

    @classmethod
    async def start(cls, latency_ms: float) -> FakeProcess:
        """Start the fake with `latency_ms` per request; returns once it listens."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "fake", "--latency-ms", str(latency_ms),
            stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line:
            raise SystemExit("the fake Bot API did not start")
        return cls(proc, json.loads(line))

    async def wait(
        self, n: int, within: float, *, method: str = "send", quiet: float = 0.0
    ) -> tuple[int, float]:
        """Wait up to `within` s for `n` successful calls of `method` (`send`: messages sent)
        followed by `quiet` s without a message: their count, the last message's time."""
        params = {"method": method, "n": str(n), "timeout": str(within), "quiet": str(quiet)}
        async with self.http.get(f"{self.control}/wait", params=params) as resp:
            body = await resp.json()
        return int(body["count"]), float(body["last_at"] or "nan")

    async def answers(self) -> list[tuple[int, str, float]]:
        """Every answer sent so far: (chat, text, time)."""
        async with self.http.get(f"{self.control}/answers") as resp:
            rows = await resp.json()
        return [(int(c), str(t), float(at)) for c, t, at in rows]

    def cpu(self) -> float:
        """CPU seconds the fake's process used so far."""
        return _cpu(psutil.Process(self.proc.pid))

    async def stop(self) -> None:
        """Stop the fake's process."""
        await self.http.close()
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        await self.proc.wait()


# --- the bot under test ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


class BotProcess:
    """`python -m bot run --workers N --channel telegram` against the fake, on a webhook."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.log = log

    @classmethod
    async def start(cls, workers: int, db: str, fake: FakeProcess, log: Path) -> BotProcess:
        """Start the bot; returns once every worker has set its webhook (it listens then)."""
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ZALO_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.base_url,
            TELEGRAM_WEBHOOK_URL="https://bot.example.invalid/tg/hook",
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            TELEGRAM_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            BOT_DB=db,
            # One key for the run (the supervisor would make one; a lone worker needs it too).
            BOT_INBOX_KEY=new_inbox_key(),
        )
        with log.open("ab") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--workers", str(workers),
                "--channel", "telegram", env=env, cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        bot = cls(proc, f"http://127.0.0.1:{port}/tg/hook", log)
        count, _at = await fake.wait(workers, 120, method="setWebhook")
        if count < workers:
            await bot.stop()
            raise SystemExit(f"the bot did not start ({count} of {workers} webhooks set):\n"
                             + bot.log_tail())  # fmt: skip
        return bot

    def workers(self) -> list[psutil.Process]:
        """The worker processes (the process itself when it serves alone)."""
        me = psutil.Process(self.proc.pid)
        return me.children() or [me]

    def cpu(self) -> float:
        """CPU seconds of the bot's live processes (supervisor and workers)."""
        total = 0.0
        me = psutil.Process(self.proc.pid)
        for proc in [me, *me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += _cpu(proc)
        return total

    def log_tail(self, lines: int = 30) -> str:
        """The end of the bot's log (for a failure)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def stop(self) -> int | None:
        """SIGTERM, then wait for the bot to finish (kill it after 40 s); its exit status."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 40)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode


# --- PostgreSQL --------------------------------------------------------------------------------


class Postgres:
    """The bench's PostgreSQL server: fresh databases, and its CPU when it runs here."""

    def __init__(self) -> None:
        self.admin = bench_outbox.postgres_admin_url()
        self.postmaster: psutil.Process | None = None
        self.settings = ""

    async def inspect(self) -> None:
        """Find the server's postmaster (a local server) and its durability settings."""
        conn = await asyncpg.connect(self.admin, timeout=30)
        try:
            data = await conn.fetchval("SHOW data_directory")
            names = ("fsync", "synchronous_commit", "server_version")
            shown = [f"{n}={await conn.fetchval(f'SHOW {n}')}" for n in names]
        finally:
            await conn.close()
        self.settings = ", ".join([*shown, f"data in {Path(data).parent.parent}"])
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            pid = int((Path(data) / "postmaster.pid").read_text().split("\n", 1)[0])
            self.postmaster = psutil.Process(pid)

    def cpu(self) -> float:
        """CPU seconds of the server: the postmaster, its finished and its live backends."""
        if self.postmaster is None:
            return float("nan")
        times = self.postmaster.cpu_times()
        total = float(times.user + times.system + times.children_user + times.children_system)
        for child in self.postmaster.children():
            with contextlib.suppress(psutil.Error):
                total += _cpu(child)
        return total

    async def fresh(self) -> str:
        """A new, empty database's URL."""
        return await postgres_server.fresh_database(self.admin)

    async def drop(self, url: str) -> None:
        """Drop a database made by `fresh`."""
        await postgres_server.drop_database(url)


# --- the webhook driver ----------------------------------------------------------------------


def update(update_id: int, chat: int, text: str) -> bytes:
    """A private text message from `chat` (a command when `text` starts with a slash)."""
    message: dict[str, Any] = {
        "message_id": update_id, "date": int(time.time()),
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": "vi"},
        "text": text,
    }  # fmt: skip
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return json.dumps({"update_id": update_id, "message": message}).encode()


@dataclass
class Posting:
    """What posting the updates took."""

    first_post_at: float = 0.0
    last_accepted_at: float = 0.0
    accepted: int = 0
    resent: int = 0


async def post_all(
    url: str,
    updates: list[tuple[int, bytes]],
    *,
    on_accepted: Callable[[int], Awaitable[None]] | None = None,
) -> Posting:
    """Post (chat, body) updates over at most CONNECTIONS connections, like Telegram: one
    chat's updates one after the other on one connection, each sent again until it is
    answered 200. `on_accepted(n)` runs after the n-th acceptance."""
    lanes: list[list[bytes]] = [[] for _ in range(CONNECTIONS)]
    for chat, body in updates:
        lanes[chat % CONNECTIONS].append(body)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    posting = Posting()
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def lane(bodies: list[bytes]) -> None:
            for body in bodies:
                for attempt in range(300):
                    if attempt:
                        posting.resent += 1
                        await asyncio.sleep(0.1)
                    try:
                        async with http.post(url, data=body, headers=headers) as resp:
                            await resp.read()
                            if resp.status == 200:
                                break
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                else:
                    raise SystemExit("an update was never accepted by the webhook")
                posting.accepted += 1
                posting.last_accepted_at = time.monotonic()
                if on_accepted is not None:
                    await on_accepted(posting.accepted)

        posting.first_post_at = time.monotonic()
        await asyncio.gather(*(lane(bodies) for bodies in lanes if bodies))
    return posting


def questions() -> list[str]:
    """The held-out citizen questions (tests/data/eval/frozen.yaml)."""
    data = yaml.safe_load((ROOT / "tests/data/eval/frozen.yaml").read_text(encoding="utf-8"))
    return [str(q["text"]) for q in data]


def load_updates(count: int, chats: int, load: str) -> list[tuple[int, bytes]]:
    """`count` updates from `chats` chats, round robin: citizen questions or the commands."""
    texts = questions() if load == "questions" else list(COMMANDS)
    out = []
    for n in range(count):
        chat = 10_000 + n % chats
        out.append((chat, update(n + 1, chat, texts[n % len(texts)])))
    return out


# --- part 1: throughput ----------------------------------------------------------------------


@dataclass
class Throughput:
    """One throughput run."""

    rate: float
    seconds: float
    answers: int
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per update, by party


def _machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (every process, ours and others')."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def _driver_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def throughput_run(
    pg: Postgres, tmp: Path, workers: int, backend: str, latency_ms: float, size: Sizes, load: str
) -> Throughput:
    """Post the load to a fresh bot and wait for every answer."""
    updates = load_updates(size.messages, size.chats, load)
    fake = await FakeProcess.start(latency_ms)
    if backend == "postgresql":
        db = await pg.fresh()
    else:
        db = str(tmp / f"bench-{time.monotonic_ns()}.sqlite3")
    bot: BotProcess | None = None
    try:
        bot = await BotProcess.start(workers, db, fake, tmp / "bot.log")
        parties = {"bot": bot.cpu, "postgres": pg.cpu, "fake": fake.cpu, "driver": _driver_cpu}

        def cpu() -> dict[str, float]:
            now = {name: read() for name, read in parties.items()}
            now["other"] = _machine_cpu() - sum(now.values())
            return now

        before = cpu()
        posting = await post_all(bot.url, updates)
        answers, _at = await fake.wait(len(updates), RUN_TIMEOUT)
        # The rest of the machine up to here; the quiet wait below would add its idle load.
        other = cpu()["other"]
        # Done when no message came for QUIET s after one per update (a citizen question may
        # be answered with two): the end is the last message's time.
        answers, last_at = await fake.wait(len(updates), RUN_TIMEOUT, quiet=QUIET)
        after = cpu()
        after["other"] = other
        if answers < len(updates):
            raise SystemExit(f"{answers} of {len(updates)} answered:\n{bot.log_tail()}")
        if backend != "postgresql":
            after["postgres"] = before["postgres"] = 0.0
        seconds = last_at - posting.first_post_at
        return Throughput(
            rate=len(updates) / seconds,
            seconds=seconds,
            answers=answers,
            cpu_ms={k: (after[k] - before[k]) * 1000 / len(updates) for k in after},
        )
    finally:
        if bot is not None:
            await bot.stop()
        await fake.stop()
        if backend == "postgresql":
            await pg.drop(db)


#: The configurations of part 1: name, workers, backend.
CONFIGS = (("2pg", 2, "postgresql"), ("1pg", 1, "postgresql"), ("1sqlite", 1, "sqlite"))
#: Runs of the 0 ms 2pg and 1pg configurations (the goal's ratio): the best counts, as the
#: run the machine's other load disturbed least.
GOAL_RUNS = 2


def ceiling(workers: int, cpu_ms: dict[str, float]) -> float:
    """Answers per second the CPU allows with this machine to the bench alone: each worker is
    one process (one CPU at most), and every party shares the CPUs."""
    ours = sum(v for k, v in cpu_ms.items() if k != "other")
    cpus = os.cpu_count() or 1
    return 1000 * min(workers / cpu_ms["bot"], cpus / ours)


async def part_throughput(pg: Postgres, tmp: Path, size: Sizes, load: str) -> None:
    """Part 1: answers per second, 2 workers / 1 worker on PostgreSQL / 1 on SQLite."""
    kind = (
        "ordinary citizen questions (tests/data/eval/frozen.yaml, cycled)"
        if load == "questions"
        else f"the commands {' and '.join(COMMANDS)}, alternating"
    )
    print(f"throughput_load: {size.messages} webhook updates from {size.chats} chats, {kind}; "
          f"posted over {CONNECTIONS} connections (one chat's updates in order on one), each "
          "sent again until answered 200")  # fmt: skip
    print(f"throughput_measured: from the first post to the last answer: the last message the "
          f"fake got once it had one per update and then none for {QUIET:.0f} s (a question may "
          "be answered with more than one message)")  # fmt: skip
    print("throughput_configs: 2pg = run --workers 2 on PostgreSQL; 1pg = run --workers 1 on "
          "PostgreSQL (the webhook answers after the inbox commit); 1sqlite = run --workers 1 on "
          "SQLite (the webhook answers once the update is queued in memory)")  # fmt: skip
    print("throughput_cpu: CPU ms per update of the bot, PostgreSQL, the fake, the driver, "
          "and other = the rest of the machine (others' processes, the kernel)")  # fmt: skip
    best: dict[tuple[str, int], Throughput] = {}
    for latency in (0, 50):
        order = list(CONFIGS)
        if latency == 0:
            order += [c for c in CONFIGS if c[0] != "1sqlite"] * (GOAL_RUNS - 1)
        rates: dict[str, list[float]] = {}
        for name, workers, backend in order:
            run = await throughput_run(pg, tmp, workers, backend, latency, size, load)
            rates.setdefault(name, []).append(run.rate)
            if (name, latency) not in best or run.rate > best[name, latency].rate:
                best[name, latency] = run
        for name, _workers, _backend in CONFIGS:
            run = best[name, latency]
            prefix = f"throughput_{name}_rtt{latency}ms"
            runs = rates[name]
            of = f" (best of {len(runs)}: {' '.join(f'{r:.0f}' for r in runs)})" * (len(runs) > 1)
            print(f"{prefix}_msgs_per_s: {run.rate:.0f}{of}")
            print(f"{prefix}_answers: {run.answers} messages for {size.messages} updates in "
                  f"{run.seconds:.1f} s")  # fmt: skip
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in run.cpu_ms.items() if v)
            print(f"{prefix}_cpu_ms_per_update: {cpu}")
    for latency in (0, 50):
        goal = " (goal >= 1.5)" if latency == 0 else ""
        ratio = best["2pg", latency].rate / best["1pg", latency].rate
        print(f"ratio_2pg_over_1pg_rtt{latency}ms: {ratio:.2f}{goal}")
    for latency in (0, 50):
        ratio = best["1pg", latency].rate / best["1sqlite", latency].rate
        print(f"ratio_1pg_over_1sqlite_rtt{latency}ms: {ratio:.2f}")
    for latency in (0, 50):
        two = ceiling(2, best["2pg", latency].cpu_ms)
        one = ceiling(1, best["1pg", latency].cpu_ms)
        print(f"cpu_ceiling_rtt{latency}ms: 2pg {two:.0f}/s, 1pg {one:.0f}/s, ratio "
              f"{two / one:.2f} (from the CPU per update above, with the machine to this bench "
              "alone: a worker uses one CPU at most, and all parties share them)")  # fmt: skip


# --- part 2: kill -9 -------------------------------------------------------------------------


def _kind(text: str) -> str:
    """Which of COMMANDS an answer answers (the hotline list names 111 and 113)."""
    return COMMANDS[0] if "113" in text and "111" in text else COMMANDS[1]


@dataclass
class Served:
    """One chat's answers against its updates."""

    answered: int = 0
    duplicates: int = 0
    out_of_order: int = 0


def served(expected: list[str], got: list[str]) -> Served:
    """Walk a chat's answers along its updates: an answer to the next update moves on, one to
    the same update again is a duplicate, anything else is out of order."""
    s = Served()
    for kind in got:
        if s.answered < len(expected) and kind == expected[s.answered]:
            s.answered += 1
        elif s.answered > 0 and kind == expected[s.answered - 1]:
            s.duplicates += 1
        else:
            s.out_of_order += 1
    return s


async def part_kill(pg: Postgres, tmp: Path, size: Sizes) -> None:
    """Part 2: two workers, one killed with kill -9 a third of the way through."""
    # Ten updates per chat, so each chat's order is worth checking.
    per_chat = KILL_PER_CHAT
    chats = max(1, size.kill_updates // per_chat)
    total = chats * per_chat
    updates = []
    for n in range(total):
        chat = 20_000 + n % chats
        updates.append((chat, update(n + 1, chat, COMMANDS[(n // chats) % 2])))
    print(f"kill_load: {total} webhook updates from {chats} chats ({per_chat} each, "
          f"{COMMANDS[0]} and {COMMANDS[1]} alternating), 50 ms round trip, 2 workers on "
          f"PostgreSQL, {CONNECTIONS} connections")  # fmt: skip
    fake = await FakeProcess.start(50)
    db = await pg.fresh()
    bot: BotProcess | None = None
    conn = await asyncpg.connect(db, timeout=30)
    try:
        bot = await BotProcess.start(2, db, fake, tmp / "bot.log")
        victim = bot.workers()[0]
        kill_at = total // 3
        seen: dict[str, int] = {}

        async def kill(accepted: int) -> None:
            if accepted != kill_at:
                return
            # What the killed worker holds: claimed, maybe answered, not yet deleted.
            seen["claimed"] = await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE state = 'working' AND claimed_by LIKE $1",
                f"%:{victim.pid}:%",
            )
            seen["waiting"] = await conn.fetchval("SELECT count(*) FROM inbox")
            os.kill(victim.pid, signal.SIGKILL)

        posting = await post_all(bot.url, updates, on_accepted=kill)
        deadline = time.monotonic() + RUN_TIMEOUT
        progress: tuple[int, int] | None = None
        still_since = time.monotonic()
        while time.monotonic() < deadline:
            count, _at = await fake.wait(total, 1.0)
            waiting = await conn.fetchval("SELECT count(*) FROM inbox")
            if count >= total and waiting == 0:
                break
            if progress != (count, waiting):
                progress, still_since = (count, waiting), time.monotonic()
            elif time.monotonic() - still_since > STALLED:
                break
        finished = time.monotonic()
        left = await conn.fetch(
            "SELECT id, chat, state, claimed_by, attempts, received_at, claimed_at FROM inbox "
            "ORDER BY id"
        )
        beats = await conn.fetch("SELECT name, seen_at FROM workers ORDER BY name")
        await asyncio.sleep(1.5)  # a late duplicate shows up
        answers = await fake.answers()
        by_chat: dict[int, list[str]] = {}
        for chat, text, _at in answers:
            by_chat.setdefault(chat, []).append(_kind(text))
        totals = Served()
        chats_out_of_order = 0
        short: list[str] = []
        for c in range(chats):
            expected = [COMMANDS[r % 2] for r in range(per_chat)]
            got = by_chat.get(20_000 + c, [])
            s = served(expected, got)
            totals.answered += s.answered
            totals.duplicates += s.duplicates
            totals.out_of_order += s.out_of_order
            chats_out_of_order += s.out_of_order > 0
            if s.answered < per_chat:
                short.append(f"chat {20_000 + c}: {s.answered} of {per_chat} answered "
                             f"({' '.join(k.lstrip('/')[:4] for k in got)})")  # fmt: skip
        restarted = [p.pid for p in bot.workers() if p.pid != victim.pid]
        print(f"kill_at: update {kill_at} accepted, worker pid {victim.pid} killed (SIGKILL)")
        claimed, waiting = seen.get("claimed"), seen.get("waiting")
        print(f"killed_worker_claimed_rows: {claimed} (inbox rows 'working' claimed by it just "
              f"before the kill; {waiting} rows in the inbox)")  # fmt: skip
        print(f"updates_answered: {totals.answered} of {total} (goal all)")
        print(f"answers_sent: {len(answers)}")
        print(f"duplicate_answers: {totals.duplicates} (goal <= killed_worker_claimed_rows)")
        print(f"per_chat_order_violations: {totals.out_of_order} answers in "
              f"{chats_out_of_order} chats (goal 0)")  # fmt: skip
        print(f"updates_sent_again_by_the_driver: {posting.resent}")
        print(f"workers_after: {len(restarted)} besides the killed one "
              f"({'restarted' if len(restarted) == 2 else 'not restarted'})")  # fmt: skip
        if left or short:
            # Something was not handled: show what stayed (no payload: a citizen's words).
            now = time.time()
            print(f"kill_stalled: after {finished - posting.first_post_at:.1f} s, {len(left)} "
                  f"inbox rows left, {len(short)} chats not fully answered")  # fmt: skip
            for line in short:
                print(f"kill_unanswered: {line}")
            for row in left:
                held = "" if row["claimed_at"] is None else f"{now - row['claimed_at']:.0f} s ago"
                print(f"kill_inbox_row: id {row['id']} {row['chat']} {row['state']} by "
                      f"{row['claimed_by']} {held}, attempts {row['attempts']}, received "
                      f"{now - row['received_at']:.0f} s ago")  # fmt: skip
            for beat in beats:
                print(f"kill_worker_beat: {beat['name']} {now - beat['seen_at']:.0f} s ago")
        else:
            print(f"kill_seconds: {finished - posting.first_post_at:.1f} from the first post "
                  "to the inbox empty and every update answered")  # fmt: skip
    finally:
        await conn.close()
        if bot is not None:
            await bot.stop()
        await fake.stop()
        await pg.drop(db)


# --- part 3: the outbox on PostgreSQL ----------------------------------------------------------


async def part_outbox(tmp: Path, size: Sizes) -> None:
    """Part 3: bench_outbox.py's paced runs on PostgreSQL, from one and from two processes."""
    chats = min(300, size.outbox_messages)
    print(f"outbox_load: {size.outbox_messages} messages to {chats} chats at Telegram's limits "
          f"({bench_outbox.TOTAL_PER_S:.0f}/s in total, {bench_outbox.PER_CHAT_PER_S:.0f}/s per "
          "chat), the fake Bot API in this process; with 2 processes each sends from its own "
          "child process")  # fmt: skip
    dbs = bench_outbox.Databases("postgresql", tmp)
    reminders = await bench_outbox.built_reminders(tmp, size.outbox_messages)
    messages = bench_outbox.paced_messages(reminders, size.outbox_messages)
    for processes in (1, 2):
        for run in await bench_outbox.paced_runs(dbs, messages, processes=processes):
            prefix = f"outbox_pg_{processes}proc_rtt{run.rtt_ms}ms"
            print(f"{prefix}_achieved_over_configured: {run.achieved_over_configured:.3f} "
                  f"({run.in_flight} in flight per process)")  # fmt: skip
            print(f"{prefix}_limit_violations: {run.limit_violations}")


# --- main ------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    """Run the parts asked for and print their figures."""
    size = sizes(args.quick)
    parts = {int(p) for p in args.parts.split(",")}
    print(f"cpu_count: {os.cpu_count()}")
    print("load_average_at_start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("harness: the fake Bot API runs in its own process and the webhook driver in this one "
          "(separate event loops); both share the CPUs with the bot and PostgreSQL, so each "
          "run prints the CPU time of every party")  # fmt: skip
    pg = Postgres()
    await pg.inspect()
    where = "BOT_BENCH_POSTGRES_URL" if os.environ.get("BOT_BENCH_POSTGRES_URL") else "embedded"
    print(f"postgresql: {where} server, {pg.settings}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        started = time.monotonic()
        if 1 in parts:
            await part_throughput(pg, tmp, size, args.load)
            started = _wall("part1", started)
        if 2 in parts:
            await part_kill(pg, tmp, size)
            started = _wall("part2", started)
        if 3 in parts:
            await part_outbox(tmp, size)
            started = _wall("part3", started)
    print("load_average_at_end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"date: {date.today().isoformat()}")


def _wall(part: str, started: float) -> float:
    """Print a part's wall time; now."""
    now = time.monotonic()
    print(f"{part}_wall_s: {now - started:.0f}")
    return now


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["bench", "fake"], default="bench",
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--latency-ms", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run (default 1,2,3)")
    parser.add_argument("--load", choices=["questions", "commands"], default="questions",
                        help="part 1's messages (default: citizen questions)")  # fmt: skip
    return parser.parse_args()


if __name__ == "__main__":
    cli = arguments()
    asyncio.run(fake_main(cli.latency_ms) if cli.mode == "fake" else main(cli))
