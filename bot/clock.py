"""Injectable time: the core never calls `datetime.now()` itself."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Something that says what time it is (aware datetimes)."""

    tz: tzinfo

    def now(self) -> datetime:
        """Return the current aware datetime in the clock's zone."""
        ...


class SystemClock:
    """The real clock, in the configured zone."""

    def __init__(self, tz: str | tzinfo = "Asia/Ho_Chi_Minh") -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    def now(self) -> datetime:
        """Return the current aware datetime."""
        return datetime.now(self.tz)


class FakeClock:
    """A clock for tests and `--at`: stands still until moved."""

    def __init__(self, at: datetime, tz: str | tzinfo = "Asia/Ho_Chi_Minh") -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self._now = at if at.tzinfo else at.replace(tzinfo=self.tz)

    def now(self) -> datetime:
        """Return the set time."""
        return self._now

    def set(self, at: datetime) -> None:
        """Jump to `at` (naive means the clock's zone)."""
        self._now = at if at.tzinfo else at.replace(tzinfo=self.tz)

    def advance(self, delta: timedelta) -> None:
        """Move forward by `delta`."""
        self._now += delta
