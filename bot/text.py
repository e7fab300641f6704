"""Text normalisation for matching: Vietnamese typed with or without diacritics, chat shorthand.

Everything that compares user text (FAQ matching, emergency check, report keywords) goes
through `normalize`, so "Chồng đánh em", "chong danh em" and "CHONG DANH E!!" meet.
"""

from __future__ import annotations

import re
import unicodedata

# Common Vietnamese chat shorthand, folded (no diacritics). Only unambiguous expansions:
# a wrong expansion would hurt matching more than a missing one.
SHORTHAND: dict[str, str] = {
    "ko": "khong",
    "k": "khong",
    "kg": "khong",
    "kh": "khong",
    "hok": "khong",
    "hong": "khong",
    "khg": "khong",
    "dc": "duoc",
    "dk": "duoc",
    "đc": "duoc",
    "j": "gi",
    "gj": "gi",
    "bj": "bi",
    "bik": "biet",
    "bit": "biet",
    "ng": "nguoi",
    "nguoj": "nguoi",
    "vs": "voi",
    "vk": "vo",
    "ck": "chong",
    "mk": "minh",
    "mik": "minh",
    "e": "em",
    "a": "anh",
    "t": "toi",
    "tui": "toi",
    "bn": "ban",
    "cx": "cung",
    "ntn": "nhu the nao",
    "sao": "sao",
    "r": "roi",
    "ns": "noi",
    "nc": "nuoc",
    "lm": "lam",
    "bh": "bao gio",
    "h": "gio",
    "z": "vay",
    "v": "vay",
    "oy": "roi",
    "đt": "dien thoai",
    "dt": "dien thoai",
    "sdt": "so dien thoai",
    "bao luc gd": "bao luc gia dinh",
    "blgd": "bao luc gia dinh",
    "bdg": "binh dang gioi",
    "bltcsg": "bao luc tren co so gioi",
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "dv": "domestic violence",
}

_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
# Characters that show nothing but would split a word once punctuation becomes spaces:
# variation selectors, the combining grapheme joiner, Hangul and Khmer fillers. Format
# characters (Unicode category Cf: zero-width space / joiner / non-joiner, soft hyphen, word
# joiner, BOM, direction marks) are dropped by category in `clean`.
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)


def clean(text: str) -> str:
    """Fold compatibility forms (NFKC: fullwidth letters) and drop invisible characters."""
    if text.isascii():  # the common case: nothing to fold
        return text
    visible = _INVISIBLE.sub("", text)
    visible = "".join(ch for ch in visible if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", visible)


def fold(text: str) -> str:
    """Remove Vietnamese diacritics (including đ→d) and lower-case, keeping other characters."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def normalize(text: str, *, expand: bool = True) -> str:
    """Clean, fold diacritics, drop punctuation and control characters, expand shorthand."""
    # Invisible characters go first, so "đá\u200bnh" ("đá" + zero-width space + "nh") stays
    # one word instead of becoming "da nh".
    folded = fold(clean(text))
    words = _NON_WORD.sub(" ", folded).replace("_", " ")
    tokens = _SPACE.sub(" ", words).strip().split(" ")
    if expand:
        tokens = [SHORTHAND.get(tok, tok) for tok in tokens]
    return " ".join(tok for tok in tokens if tok)
