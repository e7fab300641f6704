"""What passes between the channels, the engine and the outbox.

Incoming (what a user did), Reply (what goes back) and Delivery (what happened to a message
nobody asked for): the vocabulary every layer shares, so it sits below all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Channel = Literal["telegram", "zalo", "console"]


@dataclass(frozen=True, slots=True)
class Location:
    """A point shared by a user."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a user did: typed text, shared a location, or pressed a button.

    `user_key` is the channel's own user id as a string (Zalo ids exceed 2**53).
    `locale_hint` is the platform's language code, used until the user picks a language.
    """

    channel: Channel
    user_key: str
    text: str | None = None
    location: Location | None = None
    button: str | None = None
    locale_hint: str | None = None
    message_id: int | None = None
    chat_key: str | None = None
    #: The name the platform shows for the sender (Telegram name or username, Zalo display
    #: name); kept only when an officer registers, so exports name a person.
    display_name: str | None = None

    @property
    def address(self) -> str:
        """The `channel:user` key used everywhere a person is identified."""
        return f"{self.channel}:{self.user_key}"


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered under a reply; `data` comes back as `Incoming.button`.

    `kind="location"` asks the platform for the user's location where it can (Telegram's
    reply-keyboard location button); elsewhere it is offered as an ordinary option.
    """

    label: str
    data: str
    kind: Literal["callback", "location", "url"] = "callback"
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A file to send (an Excel export, say)."""

    filename: str
    content: bytes
    caption: str = ""


@dataclass(slots=True)
class Reply:
    """One message back to the user.

    `buttons` is a list of rows. `delete_after` asks the channel to remove the message after
    that many seconds (the neutral /xoa confirmation). `delete_messages` lists message ids of
    the conversation the channel should try to delete first (Telegram's 48 h window).
    `track` says whether the sent message's id is kept so `/xoa` can delete it later.
    """

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    location: Location | None = None
    document: Document | None = None
    delete_after: float | None = None
    delete_messages: list[int] = field(default_factory=list)
    track: bool = True
    html: bool = False
    #: The language the reply was written in (set by the engine): a channel's own words
    #: around it, such as the numbered-option hint, follow it.
    lang: str | None = None


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
