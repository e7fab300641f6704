"""The pieces a safety lexicon is built from: rules of four strengths and a `Lexicon`.

A lexicon holds one language's rules and the patterns that tell a general question from a
disclosure and name the situation (a child, a witness, an abuser, a sexual assault). Adding a
language (Tày, Nùng) means adding one module that builds a `Lexicon` and listing it in
`bot.core.safety.LEXICONS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Strength = Literal["always", "personal", "mention", "plea"]
Flag = Literal["injury", "self_harm", "trafficking"]


@dataclass(frozen=True, slots=True)
class Rule:
    """A named group of alternatives; `flags` are set when it counts."""

    name: str
    strength: Strength
    pattern: re.Pattern[str]
    flags: frozenset[Flag]


def rule(name: str, strength: Strength, *alternatives: str, flags: tuple[Flag, ...] = ()) -> Rule:
    """Compile word-bounded alternatives into one rule."""
    body = "|".join(f"(?:{alt})" for alt in alternatives)
    return Rule(name, strength, re.compile(rf"\b(?:{body})\b"), frozenset(flags))


def words(*alternatives: str) -> re.Pattern[str]:
    """Compile word-bounded alternatives into one pattern."""
    body = "|".join(f"(?:{alt})" for alt in alternatives)
    return re.compile(rf"\b(?:{body})\b")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """One language's emergency rules and situation patterns (on folded, normalised text)."""

    name: str
    #: Turns `bot.text.normalize(text, expand=False)` into the text this lexicon reads.
    prepare: Callable[[str], str]
    rules: tuple[Rule, ...]
    #: A general question (definition, law, penalty, campaign): weak rules do not count.
    info: re.Pattern[str]
    #: Phrases that only ask ("cho tôi hỏi", "I want to know"), removed before `personal`.
    asking: re.Pattern[str]
    #: The writer is involved (I / me / tôi / em).
    personal: re.Pattern[str]
    #: A child is involved: 111 is added.
    child: re.Pattern[str]
    #: Someone else is hurt and the writer is a witness (a neighbour, a friend, "I saw").
    bystander: re.Pattern[str]
    #: The writer is the one hurt: overrides `bystander`.
    own_harm: re.Pattern[str]
    #: The writer hurts someone (and may want to stop).
    abuser: re.Pattern[str]
    #: Rape or sexual assault disclosed.
    sexual_assault: re.Pattern[str]
