"""Build steps that pyproject.toml cannot declare: ship `content/` and the compiled catalogs.

Deployers and editors know `content/` (YAML) and `locales/` (Babel catalogs) at the top of the
checkout, so they stay there and are mapped into the package as `bot._content` and
`bot._locales`; the code finds them through the import system (`bot.data_dir`), which in a wheel
means `site-packages/bot/_content/` and in an editable install the folders of the checkout.

Each folder has an `__init__.py`: setuptools' editable finder maps a package to a folder outside
its parent only when that folder is a regular package (a namespace one is not found there).

The `.mo` files are build products (git-ignored). `build_py` compiles them beside their `.po`
files in the tree being built, before it lists the package data: a wheel (`pip install .`, or one
built from the sdist) copies them from there, and an editable install (`pip install -e .`, whose
`build_py` copies nothing because the package is read in place) reads those same files, the ones
`make catalogs` writes too. A build step, rather than .mo files in git, keeps the catalogs from
going stale.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: Folders outside `bot/` shipped inside it, by the names the code imports them by.
DATA_PACKAGES = {"bot._content": "content", "bot._locales": "locales"}


def compile_catalogs(locales: Path) -> list[Path]:
    """Compile every `<lang>/LC_MESSAGES/<domain>.po` under `locales`; the `.mo` files written."""
    # Imported here: Babel is a build requirement (pyproject.toml), not needed to read this file.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(locales.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name, domain=po.stem)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as fh:
            write_mo(fh, catalog)  # fuzzy entries left out, as `pybabel compile` does
        written.append(mo)
    if not written:
        raise SystemExit(f"no catalogs to compile under {locales}")
    return written


class BuildPyWithCatalogs(build_py):
    """`build_py` that compiles the catalogs first, so that they are package data."""

    def run(self) -> None:
        """Compile the catalogs, then build as usual."""
        compile_catalogs(HERE / DATA_PACKAGES["bot._locales"])
        super().run()  # lists the package data now, the .mo files included


setup(
    packages=[*find_packages(include=["bot", "bot.*"]), *DATA_PACKAGES],
    package_dir=DATA_PACKAGES,
    cmdclass={"build_py": BuildPyWithCatalogs},
)
