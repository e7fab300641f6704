"""The contract between the outbox and the channels for proactive messages.

The outbox never calls a platform itself: it hands a `Reply` to the channel's
`ProactiveSender` and acts on the `Delivery` it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.messages import Reply

DeliveryStatus = Literal["sent", "retry", "blocked", "undeliverable", "failed"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one proactive message.

    - `sent`: delivered.
    - `retry`: try again after `retry_after` seconds (429, network error, 5xx).
    - `blocked`: the recipient blocked the bot (403): mark them inactive, never retry.
    - `undeliverable`: the platform does not allow it now (Zalo outside its 48 h window);
      recorded and counted for the department, not retried.
    - `failed`: a permanent error (bad request); recorded with `detail`, not retried.
    """

    status: DeliveryStatus
    retry_after: float | None = None
    detail: str = ""


class ProactiveSender(Protocol):
    """A channel's way to send a message nobody asked for (reminders, broadcasts)."""

    channel: str

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        """Try to send `reply` to `user_key` once; never raise for platform errors."""
        ...
