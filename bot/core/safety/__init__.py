"""Emergency (danger) detector: the first check on every citizen message (DESIGN §3.5).

Recall first: over-triggering costs one FAQ answer, missing costs far more. Each language's
rules live in a lexicon module (`vi`, `en`; Tày and Nùng can be added the same way) and run
over cleaned, folded text: invisible and compatibility characters are folded first
(`bot.text.clean`), so "đá\u200bnh" and fullwidth "ｃｕｕ" meet the same rules as "đánh"
and "cuu". Rules are checked on the whole message and on each of its clauses, so an
exemption ("đánh số" = numbering) never reaches across punctuation ("bị đánh, sợ về nhà").

Rules come in four strengths:

* ``always`` — danger in itself (a call for help, violence happening now, a threat to kill,
  a weapon, self-harm, an injury, fear): triggers in any message.
* ``personal`` — violence, abuse, confinement, sexual abuse, trafficking named in the
  message: triggers unless the message is a general question (definition, law, penalty,
  campaign, "is it violence?") in which the writer is not involved (no I/me/em/tôi/mình).
  So "mức phạt đánh vợ là bao nhiêu" gets the FAQ answer, while "chồng đánh em thì bị phạt
  bao nhiêu" (the writer is the victim) and plain "vợ bị chồng đánh suốt" trigger.
* ``mention`` — abuse only named as a topic ("mua bán người", "sàm sỡ", "xâm hại trẻ em",
  "nếu bị bạo lực thì làm gì", "forced marriage"): triggers only when the writer is
  involved. A sentence with an abuser, a victim, or someone "bị" (suffering) it is
  ``personal`` instead: "trẻ em bị xâm hại" triggers.
* ``plea`` — a vague plea ("giúp em với", "khẩn cấp", "i need help"): triggers unless the
  message is a general question.

On an emergency the situation is named too, so the reply fits: a child (111), an injury
(115), self-harm, trafficking, a witness (`bystander`), a writer who hurts someone and may
want to stop (`abuser`), a sexual assault. Negation is not handled: "chồng không đánh em"
triggers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from bot.core.safety import en, vi
from bot.core.safety.rules import Flag, Lexicon, Rule
from bot.text import clean, normalize

__all__ = ["LEXICONS", "Assessment", "assess"]

#: The languages checked on every message, each on its own preparation of the text.
LEXICONS: Final[tuple[Lexicon, ...]] = (vi.LEXICON, en.LEXICON)

# Rules that name someone hurting, threatening, confining or selling someone: a message
# with none of them (only self-harm, an injury, fear or a plea) gets no victim advice.
_VIOLENCE_RULES: Final = frozenset(
    {
        "violence_now",
        "violence_disclosed",
        "violence_named",
        "abuse_named",
        "threat",
        "threatened",
        "weapon",
        "confinement",
        "sexual_abuse",
        "stalking",
        "trafficking",
        "trafficking_named",
    }
)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the emergency check found in one message."""

    emergency: bool  # reply must lead with 113
    child: bool = False  # a child is involved -> also 111
    injury: bool = False  # injury / bleeding / unconscious -> also 115
    self_harm: bool = False  # suicidal thoughts -> safety line for self-harm
    trafficking: bool = False  # sold / taken across the border / forced marriage abroad
    bystander: bool = False  # someone else is hurt; the writer is a witness
    abuser: bool = False  # the writer hurts someone (and may want to stop)
    sexual_assault: bool = False  # rape or sexual assault disclosed -> 115, medical care
    violence: bool = False  # someone hurts or threatens someone (not only self-harm)
    reasons: tuple[str, ...] = ()  # names of the matched rule groups, never the user's text


# Clause boundaries: an exemption must not reach across them.
_CLAUSE = re.compile(r"[.,;:!?…\n\r()\[\]\"“”«»|/–—]+|\s-\s")
# Latin look-alikes from Cyrillic and Greek keyboards ("сứu" with a Cyrillic "с").
_CONFUSABLES: Final = str.maketrans(
    "аеорсухіјѕһԁӏАЕОРСУХІЈЅНВКМТοαινκρτυΟΑΙΝΚΡΤΥΕΗΒΜΖΧ",
    "aeopcyxijshdlAEOPCYXIJSHBKMToaivkptyOAINKPTYEHBMZX",
)

# "help" alone is the menu command, but "help!" / "HELP" (shouted) is a call for help; the
# punctuation and case are gone after normalising, so this looks at the raw text.
_RAW_HELP: Final = Rule(
    "help_call", "always", re.compile(r"(?i:\bhelp\s*!)|\bHELP\b"), frozenset()
)

_SAFE: Final = Assessment(emergency=False)


def _texts(text: str) -> tuple[str, list[str]]:
    """The cleaned text, and its folded forms: the whole message first, then each clause."""
    cleaned = clean(text).translate(_CONFUSABLES)
    whole = normalize(cleaned, expand=False)
    if not whole:
        return cleaned, []
    parts = [normalize(part, expand=False) for part in _CLAUSE.split(cleaned)]
    # Each distinct clause once: a message of a thousand "cứu." is checked twice, not 1,001 times.
    return cleaned, list(dict.fromkeys([whole, *(p for p in parts if p)]))


def _assess(text: str) -> Assessment:
    cleaned, forms = _texts(text)
    if not forms:
        return _SAFE
    prepared = {lex.name: [lex.prepare(form) for form in forms] for lex in LEXICONS}
    hits: dict[str, list[Rule]] = {
        lex.name: [r for r in lex.rules if any(r.pattern.search(t) for t in prepared[lex.name])]
        for lex in LEXICONS
    }
    if "!" in cleaned or "HELP" in cleaned.upper():
        marks_off = "".join(
            c for c in unicodedata.normalize("NFD", cleaned) if not unicodedata.combining(c)
        )
        if _RAW_HELP.pattern.search(marks_off):
            hits["en"].append(_RAW_HELP)
    if not any(hits.values()):
        return _SAFE
    info = any(lex.info.search(prepared[lex.name][0]) for lex in LEXICONS)

    def counts(rule: Rule, personal: bool) -> bool:
        if rule.strength == "always":
            return True
        if rule.strength == "personal":
            return personal or not info
        if rule.strength == "mention":
            return personal
        return not info

    emergency = False
    for lex in LEXICONS:
        # First person is judged per language: "me" is English "me" but Vietnamese "mẹ".
        whole = prepared[lex.name][0]
        personal = bool(lex.personal.search(lex.asking.sub(" ", whole)))
        emergency = emergency or any(counts(r, personal) for r in hits[lex.name])
    matched = [r for lex in LEXICONS for r in hits[lex.name]]
    names = tuple(dict.fromkeys(r.name for r in matched))
    if not emergency:
        # Kept for debugging: what matched, and why it did not count.
        why = "general_question" if info else "topic_only"
        return Assessment(emergency=False, reasons=(*names, why))
    flags: set[Flag] = set()
    for r in matched:
        flags |= r.flags

    def found(kind: str, *, clauses: bool = False) -> bool:
        for lex in LEXICONS:
            forms = prepared[lex.name]
            # Each clause on its own (the whole message when it has one clause).
            texts = (forms[1:] or forms) if clauses else forms
            if any(getattr(lex, kind).search(t) for t in texts):
                return True
        return False

    child = found("child")
    abuser = found("abuser")
    # Who is hurt is read clause by clause: in "mẹ em bị bố đánh, em sợ quá" the mother is.
    bystander = not abuser and found("bystander") and not found("own_harm", clauses=True)
    sexual_assault = found("sexual_assault")
    situation = {
        "child": child,
        "bystander": bystander,
        "abuser": abuser,
        "sexual_assault": sexual_assault,
    }
    return Assessment(
        emergency=True,
        child=child,
        injury="injury" in flags,
        self_harm="self_harm" in flags,
        trafficking="trafficking" in flags,
        bystander=bystander,
        abuser=abuser,
        sexual_assault=sexual_assault,
        violence=bool(_VIOLENCE_RULES.intersection(names)) or abuser or bystander,
        reasons=(*names, *(name for name, on in situation.items() if on)),
    )


def assess(text: str) -> Assessment:
    """Decide whether a citizen's message signals danger, and which kind."""
    try:
        return _assess(text)
    except Exception:  # pragma: no cover - defensive: recall first, never a crash
        # A bug in a rule must not silence a cry for help: treat the message as an emergency.
        return Assessment(emergency=True, reasons=("internal_error",))
