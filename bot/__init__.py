"""Gender-equality and anti-violence outreach and reporting bot."""

from __future__ import annotations

import importlib.util
from pathlib import Path

__version__ = "0.1.0"


def data_dir(package: str) -> Path:
    """The folder of a data package shipped inside `bot` (`bot._content`, `bot._locales`)."""
    # Asked of the import system, not worked out from this file: a wheel installs the folder at
    # `bot/_content/`, an editable install maps the name to `content/` in the checkout (setup.py).
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    # Not installed: the place a wheel would have put it, so that the error it leads to
    # (content or catalog missing) names a real path.
    return Path(__file__).resolve().parent / package.rpartition(".")[2]
