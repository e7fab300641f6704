"""Gender-equality and anti-violence outreach and reporting bot."""

from pathlib import Path

__version__ = "0.1.0"

#: The repository (or installed source tree) root: shipped content and catalogs live beside
#: the package so editors can change them without touching code.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
