"""The console channel and the CLI, run as real subprocesses (what `make run` starts)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(
    args: list[str], tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "BOT_"))
    }
    full_env.update({"BOT_DB": str(tmp_path / "bot.sqlite3"), **env})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def test_console_script_answers_and_ends_at_eof(tmp_path: Path) -> None:
    script = "/start\n3\nlocation 21.85 106.76\nbinh dang gioi la gi\n/xoa\n"
    result = run_cli(["console"], tmp_path, script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "/xoa" in out  # the welcome
    assert ("1. " in out and "(Trả lời bằng một số.)" in out) or "(Reply with a number.)" in out
    assert "111" in out  # option 3 = hotlines
    assert out.count(" km") >= 3
    assert "Nguồn" in out


def test_run_without_token_is_the_console(tmp_path: Path) -> None:
    result = run_cli(["run"], tmp_path, "/duongdaynong\n")
    assert result.returncode == 0, result.stderr
    assert "113" in result.stdout


def test_ask_json_contract(tmp_path: Path) -> None:
    result = run_cli(["ask", "--json", "bao luc gia dinh la gi"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"topic", "score", "emergency", "reply"}
    assert out["topic"] == "domestic_violence"
    assert out["emergency"] is False
    assert isinstance(out["score"], float)
    danger = json.loads(run_cli(["ask", "--json", "cuu toi voi"], tmp_path).stdout)
    assert danger["emergency"] is True and "113" in danger["reply"]
    english = json.loads(
        run_cli(["ask", "--lang", "en", "--json", "what is gender equality"], tmp_path).stdout
    )
    assert english["topic"] == "gender_equality"
    assert "Source" in english["reply"]


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"TELEGRAM_BOT_TOKEN": "nonsense"}, "TELEGRAM_BOT_TOKEN"),
        ({"BOT_TIMEZONE": "Mars/Base"}, "BOT_TIMEZONE"),
        ({"BOT_ADMINS": "someone"}, "BOT_ADMINS"),
        ({"ZALO_APP_ID": "1"}, "ZALO_OA_SECRET"),
        ({"TELEGRAM_WEBHOOK_URL": "https://x.example/hook"}, "TELEGRAM_WEBHOOK_SECRET"),
        ({"BOT_DB": "/proc/no-such-dir/bot.sqlite3"}, "BOT_DB"),
    ],
)
def test_bad_environment_fails_with_one_line_naming_the_variable(
    tmp_path: Path, env: dict[str, str], name: str
) -> None:
    result = run_cli(["ask", "xin chao"], tmp_path, **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0]


def test_units_list(tmp_path: Path) -> None:
    result = run_cli(["units", "list"], tmp_path)
    assert "tam-thanh" in result.stdout and "Phường Tam Thanh" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 66


def test_places_import_cli_rejects_and_lists(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name_vi,unit,address_vi,lat,lon\nx,Tên,nowhere,Đ/c,200,106\n", "utf-8")
    result = run_cli(["places", "import", str(bad)], tmp_path)
    assert result.returncode == 1
    assert "nothing changed" in result.stdout and "row 2" in result.stdout
    listing = run_cli(["places", "list"], tmp_path)
    assert "sample data" in listing.stdout


def test_places_import_cli_says_which_phones_were_restored(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "id,name_vi,unit,address_vi,lat,lon,phone\n"
        "x,Tên,xã Tam Thanh,Đ/c,21.85,106.76,912345678\n",
        "utf-8",
    )
    result = run_cli(["places", "import", str(good)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Imported 1" in result.stdout
    assert "row 2 (x): 912345678 -> 0912345678" in result.stdout


def start_console(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "BOT_"))}
    env.update({"BOT_DB": str(tmp_path / "bot.sqlite3"), "BOT_ADMINS": "console:admin"})
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "console", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )


def test_ctrl_c_quits_at_once_without_a_traceback(tmp_path: Path) -> None:
    proc = start_console(tmp_path)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"/duongdaynong\n")
    proc.stdin.flush()
    while b"113" not in proc.stdout.readline():  # it is waiting for the next line now
        pass
    proc.send_signal(signal.SIGINT)
    try:
        _out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the console did not quit on Ctrl-C")
    assert proc.returncode == 130
    assert b"Traceback" not in err, err.decode()


def test_output_piped_into_head_ends_without_a_traceback(tmp_path: Path) -> None:
    proc = start_console(tmp_path)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(b"/duongdaynong\n")
    proc.stdin.flush()
    proc.stdout.readline()
    proc.stdout.close()  # `head -1` has what it wanted
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(b"/help\n" * 200)
        proc.stdin.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=30) in (0, 141)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()


def test_console_hint_and_banner_follow_the_language(tmp_path: Path) -> None:
    result = run_cli(["console"], tmp_path, "/ngonngu en\n/start\n/ngonngu vi\n/start\n")
    english, vietnamese = result.stdout.split("Ngôn ngữ: Tiếng Việt")
    assert "(Reply with a number.)" in english and "(Trả lời bằng một số.)" not in english
    assert "(Trả lời bằng một số.)" in vietnamese and "(Reply with a number.)" not in vietnamese


def test_console_xuat_writes_the_file_and_says_where(tmp_path: Path) -> None:
    proc = start_console(tmp_path, "--user", "admin")
    out, err = proc.communicate(b"/xuat\n", timeout=60)
    files = list(tmp_path.glob("*.xlsx"))
    assert len(files) == 1, out.decode() + err.decode()
    assert f"Đã lưu tệp: {files[0]}" in out.decode()


def test_console_broadcast_is_printed_and_marked_sent(tmp_path: Path) -> None:
    script = "/dangky\n/guitin\nTin thử nghiệm.\n1\n/trangthai\n"
    result = run_cli(["console", "--user", "admin"], tmp_path, script, BOT_ADMINS="console:admin")
    assert "— console:admin —\nTin thử nghiệm." in result.stdout
    assert "đã gửi 1/1, đang chờ 0" in result.stdout
