"""Send-rate rules for proactive messages: per-channel limits, send slots and backoff.

Pure arithmetic, no I/O: the slots themselves are reserved in the database (`OutboxStore`)
so that every process sending for the bot shares one budget.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import Settings

__all__ = ["UNLIMITED", "Backoff", "ChannelLimits", "limits_from_settings"]

#: A rate with no limit (benchmarks, the console).
UNLIMITED = math.inf


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """How fast one channel may send proactive messages (messages per second)."""

    total_per_s: float = UNLIMITED
    per_chat_per_s: float = UNLIMITED

    @property
    def total_gap(self) -> float:
        """Seconds between two sends of the channel (0 when unlimited)."""
        return 0.0 if math.isinf(self.total_per_s) else 1.0 / self.total_per_s

    @property
    def per_chat_gap(self) -> float:
        """Seconds between two sends to the same chat (0 when unlimited)."""
        return 0.0 if math.isinf(self.per_chat_per_s) else 1.0 / self.per_chat_per_s


def limits_from_settings(settings: Settings) -> dict[str, ChannelLimits]:
    """The configured limits of every channel."""
    return {
        "telegram": ChannelLimits(settings.telegram_rate_total, settings.telegram_rate_per_chat),
        # Zalo publishes no per-chat rate; one a second keeps a person's phone from buzzing.
        "zalo": ChannelLimits(settings.zalo_rate_total, min(1.0, settings.zalo_rate_total)),
        "console": ChannelLimits(),
    }


def limits_for(limits: Mapping[str, ChannelLimits], channel: str) -> ChannelLimits:
    """The limits of `channel`; a channel nobody configured gets Telegram's conservative ones."""
    return limits.get(channel) or ChannelLimits(30.0, 1.0)


class Backoff:
    """Exponential backoff with jitter: base, 2 x base, 4 x base ... up to `cap` seconds."""

    def __init__(
        self,
        base: float = 1.0,
        cap: float = 300.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self._rng = rng or random.Random()

    def delay(self, attempt: int) -> float:
        """The wait before attempt `attempt + 1` after `attempt` failures (attempt >= 1)."""
        raw = min(self.cap, self.base * 2.0 ** max(0, min(attempt, 30) - 1))
        # Jitter spreads retries of many rows that failed together (a network outage).
        return raw * (1.0 + self.jitter * self._rng.random())
