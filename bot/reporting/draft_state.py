"""The officer's report in progress (dialog kind "report"), as kept between two messages.

It is stored as a JSON object in the `dialogs` table, so a restart in the middle of a guided
report resumes where the officer was. Reading is tolerant, because a draft saved before an
upgrade must still load after it: a missing key takes its default and an unknown key is
ignored. Only a state that cannot mean a draft (no period or unit, a figure that is not a
whole number, an unknown mode) raises ValueError, whose message names the key, never the
value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Self

__all__ = ["MODES", "Mode", "ReportDraft"]

#: "guided": asking one figure per message; "confirm": the whole draft shown, awaiting OK.
Mode = Literal["guided", "confirm"]
MODES: tuple[Mode, ...] = ("guided", "confirm")


@dataclass(frozen=True, slots=True)
class ReportDraft:
    """A unit's report for one period, filled in step by step or shown for confirmation."""

    period: str
    unit: str
    mode: Mode = "guided"
    #: Guided mode: the position, in the indicators' order, of the figure asked next.
    step: int = 0
    #: The figures given so far (or kept from the version being corrected), by code.
    values: dict[str, int] = field(default_factory=dict)
    #: Confirm mode: the token of the Confirm button, so a double tap saves the draft once.
    nonce: str | None = None
    #: Put aside by an emergency: it takes no text until the officer goes back to it.
    suspended: bool = False

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Self:
        """Read a stored state (any version's); ValueError when it cannot be a draft."""
        if not isinstance(state, Mapping):
            raise ValueError("report draft: not a JSON object")
        mode = state.get("mode", "guided")
        if mode not in MODES:
            raise ValueError("mode: not guided or confirm")
        nonce = state.get("nonce")
        if nonce is not None and not isinstance(nonce, str):
            raise ValueError("nonce: not text")
        if mode == "confirm" and not nonce:
            raise ValueError("nonce: missing from a draft shown for confirmation")
        return cls(
            period=_text(state, "period"),
            unit=_text(state, "unit"),
            mode=mode,
            step=_whole(state.get("step", 0), "step"),
            values=_values(state.get("values", {})),
            nonce=nonce,
            # The old code tested the flag for truth: any true value meant "put aside".
            suspended=bool(state.get("suspended", False)),
        )

    def to_state(self) -> dict[str, Any]:
        """The JSON object to store (the keys the previous versions wrote and read)."""
        state: dict[str, Any] = {
            "mode": self.mode,
            "period": self.period,
            "unit": self.unit,
            "values": dict(self.values),
            "step": self.step,
        }
        if self.nonce is not None:
            state["nonce"] = self.nonce
        if self.suspended:
            state["suspended"] = True
        return state

    def with_suspended(self, suspended: bool) -> ReportDraft:
        """The same draft, put aside by an emergency or taken up again."""
        return replace(self, suspended=suspended)


def _text(state: Mapping[str, Any], key: str) -> str:
    value = state.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: missing or not text")
    return value


def _whole(value: object, key: str) -> int:
    """A non-negative whole number, also when an older version stored it as "3" or 3.0."""
    if isinstance(value, bool):
        raise ValueError(f"{key}: not a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"{key}: not a whole number")
    if number < 0:
        raise ValueError(f"{key}: negative")
    return number


def _values(raw: object) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        raise ValueError("values: not a JSON object")
    values: dict[str, int] = {}
    for code, value in raw.items():
        if not isinstance(code, str):
            raise ValueError("values: a code that is not text")
        values[code] = _whole(value, "values")
    return values
