"""Typed dialog state: what every draft kept between two messages offers the engine, and
reading one from the JSON the storage hands out.

Storage keeps a dialog's state as a plain JSON object (it may not know the features above
it); each feature converts it with its own `from_state` / `to_state`. A state that cannot be
read (a damaged row, a shape no version wrote) is treated as no dialog at all, so the user
gets a fresh start instead of an error on every message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from bot.storage import DialogRow

__all__ = ["DialogState", "StateReader", "read_state"]

logger = logging.getLogger(__name__)


class DialogState(Protocol):
    """A dialog's typed state (ReportDraft, BroadcastDraft)."""

    @property
    def suspended(self) -> bool:
        """Whether an emergency put the dialog aside (it takes no text until resumed)."""
        ...

    def with_suspended(self, suspended: bool) -> DialogState:
        """The same state, put aside (True) or taken up again (False)."""
        ...

    def to_state(self) -> dict[str, Any]:
        """The JSON object stored in the `dialogs` table."""
        ...


#: Reads a stored JSON state; raises ValueError when it cannot be read.
StateReader = Callable[[Mapping[str, Any]], DialogState]

D = TypeVar("D")


def read_state(
    row: DialogRow | None, kind: str, reader: Callable[[Mapping[str, Any]], D]
) -> D | None:
    """The typed state of `row` if it is a `kind` dialog that can be read; otherwise None."""
    if row is None or row.kind != kind:
        return None
    try:
        return reader(row.state)
    except ValueError as exc:
        # The readers' messages name a key, never a value: no user text reaches the log.
        logger.warning("unreadable %s dialog state, treated as no dialog (%s)", kind, exc)
        return None
