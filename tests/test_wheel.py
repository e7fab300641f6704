"""The bot installed from a wheel, outside the checkout, answers in Vietnamese from its content.

The wheel is built as a release would be (sdist first, then the wheel from the sdist, so that
MANIFEST.in is tested too), offline: `--no-build-isolation` uses this environment's setuptools and
Babel (the dev extra). It is installed with `--no-deps` into a fresh virtualenv whose only view
of this environment is its third-party packages (a .pth line), so `bot` itself comes from the
wheel alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import data_dir
from bot.i18n import LOCALES_DIR, CatalogError, check_catalogs, translations
from bot.settings import DEFAULT_CONTENT_DIR

ROOT = Path(__file__).resolve().parent.parent
#: What a build reads; anything else in the checkout (data/, .venv/, tests/) stays out.
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE")
BUILD_DIRS = ("bot", "content", "locales")
QUESTION = "bao luc gia dinh la gi"


def _run(cmd: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=240, check=False, **kwargs
    )


def _checked(cmd: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = _run(cmd, **kwargs)
    assert result.returncode == 0, f"{cmd}:\n{result.stdout}\n{result.stderr}"
    return result


def _content_files() -> set[str]:
    """The shipped content as paths relative to content/ (the package marker left out)."""
    root = ROOT / "content"
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.name != "__init__.py"
    }


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    venv: Path
    site: Path
    home: Path  # a working directory outside the checkout

    def ask(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`bdg-bot ask ARGS` from the virtualenv, with a clean environment plus `env`."""
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "ZALO_", "BOT_", "PYTHON"))
        }
        clean.update({"BOT_DB": str(self.home / "bot.sqlite3"), **env})
        return _run([self.venv / "bin" / "bdg-bot", "ask", *args], cwd=self.home, env=clean)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        shutil.copy2(ROOT / name, src / name)
    # Without the compiled catalogs: the build must make them.
    ignore = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.mo")
    for name in BUILD_DIRS:
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    dist = tmp / "dist"
    _checked(
        [sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
         "print(b.build_sdist(sys.argv[1]))", dist],
        cwd=src,
    )  # fmt: skip
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (unpacked,) = (tmp / "unpacked").iterdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    offline = ["--no-deps", "--no-index", "--no-build-isolation"]
    _checked([*pip, "wheel", *offline, "-w", dist, unpacked], cwd=tmp)
    (wheel,) = dist.glob("*.whl")
    venv = tmp / "venv"
    _checked([sys.executable, "-m", "venv", "--without-pip", venv])
    _checked([*pip, "--python", venv / "bin" / "python", "install", *offline, wheel], cwd=tmp)
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(_checked([venv / "bin" / "python", "-c", where]).stdout.strip())
    # The dependencies (numpy, telegram...) from this environment; its `bot` is an editable
    # finder that only a site directory's own .pth would install, and this line adds none.
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "zz_bdg_bot_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    home = tmp / "home"
    home.mkdir()
    yield Installed(wheel=wheel, sdist=sdist, venv=venv, site=site, home=home)


# --- fast: the checkout and the editable install ----------------------------------------------


def test_data_packages_resolve_to_the_checkout_folders_in_an_editable_install() -> None:
    assert DEFAULT_CONTENT_DIR.samefile(ROOT / "content")
    assert LOCALES_DIR.samefile(ROOT / "locales")


def test_an_unknown_data_package_names_where_a_wheel_would_have_put_it() -> None:
    assert data_dir("bot._nothing") == ROOT / "bot" / "_nothing"


def test_catalogs_are_found_and_vietnamese_is_translated() -> None:
    check_catalogs()
    assert translations("vi").gettext("Source: {source}") == "Nguồn: {source}"


def test_a_missing_catalog_is_an_error_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "en" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy2(LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.mo", tmp_path / "en/LC_MESSAGES")
    with pytest.raises(CatalogError) as caught:
        check_catalogs(tmp_path)
    message = str(caught.value)
    assert "Vietnamese" in message and "make catalogs" in message
    assert str(tmp_path / "vi" / "LC_MESSAGES" / "messages.mo") in message
    assert "\n" not in message
    with pytest.raises(CatalogError):  # not an empty catalog that answers in English
        translations("vi", tmp_path)


# --- built, installed, run (about 8 s) --------------------------------------------------------


def test_wheel_ships_every_content_file_and_the_compiled_catalogs(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    shipped = {n.removeprefix("bot/_content/") for n in names if n.startswith("bot/_content/")}
    missing = _content_files() - shipped
    assert not missing, f"add a glob for {missing} to bot._content in pyproject.toml"
    assert shipped - {"__init__.py"} == _content_files()
    assert {"examples/part_a.yaml", "concepts.yaml", "report_template.docx", "faq.yaml"} <= shipped
    for lang in ("vi", "en"):
        assert f"bot/_locales/{lang}/LC_MESSAGES/messages.mo" in names
    assert not any(n.endswith(".po") for n in names)  # sources stay in the sdist
    # Every migration of both backends (a wheel without them cannot open a PostgreSQL db).
    for folder in ("migrations", "migrations_pg"):
        shipped_sql = {n for n in names if n.startswith(f"bot/storage/{folder}/")}
        in_tree = {f"bot/storage/{folder}/{p.name}"
                   for p in (ROOT / "bot" / "storage" / folder).glob("*.sql")}  # fmt: skip
        assert in_tree and shipped_sql == in_tree, folder
    with tarfile.open(installed.sdist) as tar:
        sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"setup.py", "locales/vi/LC_MESSAGES/messages.po", "content/faq.yaml"} <= sdist


def test_installed_bot_answers_in_vietnamese_from_the_shipped_content(
    installed: Installed,
) -> None:
    code = (
        "import bot, bot.content as c, bot.reporting.draft as d; print(bot.__file__); "
        "print(c.DEFAULT_CONTENT_DIR); print(d.DEFAULT_TEMPLATE_PATH.is_file())"
    )
    python = installed.venv / "bin" / "python"
    where = _checked([python, "-c", code], cwd=installed.home).stdout.split()
    assert where == [
        str(installed.site / "bot" / "__init__.py"),
        str(installed.site / "bot" / "_content"),
        "True",
    ]
    result = installed.ask("--json", QUESTION)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["topic"] == "domestic_violence"
    assert out["reply"].startswith("Bạo lực gia đình là gì")
    assert "Nguồn:" in out["reply"] and "Source" not in out["reply"]
    assert "(Trả lời bằng một số.)" in out["reply"]


def test_bot_content_dir_still_replaces_the_shipped_content(
    installed: Installed, tmp_path: Path
) -> None:
    custom = tmp_path / "content"
    shutil.copytree(ROOT / "content", custom, ignore=shutil.ignore_patterns("__*"))
    faq = custom / "faq.yaml"
    title = '{vi: "Bạo lực gia đình là gì", en: "What is domestic violence"}'
    text = faq.read_text(encoding="utf-8")
    assert text.count(title) == 1
    faq.write_text(
        text.replace(title, '{vi: "Bạo lực gia đình (bản địa phương)", en: "Local DV"}'),
        encoding="utf-8",
    )
    result = installed.ask("--json", QUESTION, BOT_CONTENT_DIR=str(custom))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reply"].startswith("Bạo lực gia đình (bản địa phương)")


def test_installed_bot_without_its_vietnamese_catalog_refuses_to_start(
    installed: Installed,
) -> None:
    mo = installed.site / "bot" / "_locales" / "vi" / "LC_MESSAGES" / "messages.mo"
    aside = mo.with_suffix(".aside")
    mo.rename(aside)
    try:
        result = installed.ask(QUESTION)
    finally:
        aside.rename(mo)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("installation error: the Vietnamese translations are missing")
    assert str(mo) in lines[0] and "reinstall" in lines[0]
