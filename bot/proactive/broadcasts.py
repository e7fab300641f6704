"""Campaign broadcasts: audiences, admin broadcasts and the campaigns of content/campaigns.yaml.

A broadcast is one `broadcasts` row plus one outbox row per recipient, created in one
transaction under a key, so running the same broadcast again queues nothing:
- an admin broadcast's key is a hash of its audience, text and local day;
- a campaign occurrence's key is `campaign:<id>:<date>`.
Messages to subscribers are checked again when sent, so `/ngungtin` takes effect at once.
"""

from __future__ import annotations

import hashlib
import re
import time as walltime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from bot.content import FileLoader, Localized, Unit, read_yaml
from bot.i18n import _, use_language
from bot.messages import Reply
from bot.storage import Store
from bot.storage.outbox import BroadcastRow, OutboxMessage

__all__ = [
    "AUDIENCES",
    "AudienceError",
    "BroadcastStatus",
    "Broadcasts",
    "Campaign",
    "CampaignMessage",
    "Recipient",
    "load_campaigns",
    "parse_audience",
]

#: Audiences besides `unit:<code>` (the officers of that unit and of the units under it).
AUDIENCES = ("subscribers", "officers", "admins")
#: A broadcast still unsent a week after it was due is dropped, not delivered out of season.
BROADCAST_TTL = timedelta(days=7)
#: Room left under Telegram's 4096 characters for the opt-out line.
MAX_BROADCAST_TEXT = 3800


class AudienceError(ValueError):
    """An audience that is not one of the known ones; the message says what to use."""


def parse_audience(raw: str, units: Mapping[str, Unit]) -> str:
    """Normalise an audience ('subscribers', 'unit:that-khe', 'officers,admins')."""
    parts: list[str] = []
    for part in (p.strip().lower() for p in raw.split(",")):
        if not part:
            continue
        if part.startswith("unit:"):
            code = part.removeprefix("unit:").strip()
            if code not in units:
                raise AudienceError(
                    f"unknown unit code {code!r}: see `bdg-bot units list` for the codes"
                )
            part = f"unit:{code}"
        elif part not in AUDIENCES:
            raise AudienceError(
                f"unknown audience {part!r}: use subscribers, officers, admins or unit:<code>"
            )
        if part not in parts:
            parts.append(part)
    if not parts:
        raise AudienceError("no audience given: use subscribers, officers, admins or unit:<code>")
    return ",".join(parts)


def audience_label(audience: str, units: Mapping[str, Unit], lang: str) -> str:
    """The audience in words, in the current language."""
    labels = []
    for part in audience.split(","):
        if part == "subscribers":
            labels.append(_("people who opted in with /dangky"))
        elif part == "officers":
            labels.append(_("all registered officers"))
        elif part == "admins":
            labels.append(_("administrators"))
        elif part.startswith("unit:"):
            unit = units.get(part.removeprefix("unit:"))
            name = unit.full_name(lang) if unit else part
            labels.append(_("officers of {unit}").format(unit=name))
    return ", ".join(labels)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One person a broadcast goes to."""

    address: str
    lang: str
    only_subscribed: bool  # reached only because they opted in: /ngungtin stops it


@dataclass(frozen=True)
class BroadcastStatus:
    """A broadcast with its messages counted by state."""

    broadcast: BroadcastRow
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, *states: str) -> int:
        """Messages in any of `states`."""
        return sum(self.counts.get(s, 0) for s in states)

    @property
    def queued(self) -> int:
        """Still to send (queued or in flight)."""
        return self.count("queued", "sending")

    @property
    def done(self) -> int:
        """Messages that will not be sent again, whatever happened to them."""
        return self.broadcast.recipients - self.queued


# --- campaigns.yaml ----------------------------------------------------------------------------

_ID_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DAY_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})")
_TIME_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True, slots=True)
class CampaignMessage:
    """One message of a campaign and the days of the year it goes out (month, day)."""

    days: tuple[tuple[int, int], ...]
    text: Localized


@dataclass(frozen=True, slots=True)
class Campaign:
    """Scheduled messages that come back every year (the Action Month, 15/11–15/12)."""

    id: str
    name: Localized
    audience: str
    time: time
    messages: tuple[CampaignMessage, ...]
    source: str = ""

    def message_on(self, day: date) -> CampaignMessage | None:
        """The message due on `day`, if any."""
        return next((m for m in self.messages if (day.month, day.day) in m.days), None)

    def occurrences(self, year: int) -> list[date]:
        """Every day of `year` with a message, in order."""
        return sorted(date(year, m, d) for msg in self.messages for m, d in msg.days)


class _CampaignLoader(FileLoader):
    """Validates campaigns.yaml; errors name the file, the entry and the field."""

    def __init__(self, path: Path, units: Mapping[str, Unit]) -> None:
        super().__init__(path)
        self.units = units

    def day(self, value: Any, entry: str, field_name: str) -> tuple[int, int]:
        match = _DAY_RE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise self.error(entry, field_name, 'must be "DD/MM" (quoted)')
        day, month = int(match.group(1)), int(match.group(2))
        try:
            date(2001, month, day)  # a common year: 29/02 would be skipped three years in four
        except ValueError:
            raise self.error(entry, field_name, f"{value} is not a day of every year") from None
        return month, day

    def localized(self, value: Any, entry: str, field_name: str) -> Localized:
        if not isinstance(value, Mapping):
            raise self.error(entry, field_name, "must have vi and en texts")
        texts = {}
        for lang in ("vi", "en"):
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise self.error(entry, f"{field_name}.{lang}", "must be a non-empty text")
            if len(text) > MAX_BROADCAST_TEXT:
                raise self.error(
                    entry, f"{field_name}.{lang}", f"is over {MAX_BROADCAST_TEXT} characters"
                )
            texts[lang] = text.strip()
        return Localized(vi=texts["vi"], en=texts["en"])

    def message(self, raw: Any, entry: str) -> CampaignMessage:
        if not isinstance(raw, Mapping):
            raise self.error(entry, "", "must be a mapping")
        for key in raw:
            if key not in {"day", "every_days", "from", "until", "text"}:
                # (YAML reads a bare `on:` key as true: hence `day`, and this hint.)
                hint = " (did you mean 'day'?)" if key is True else ""
                raise self.error(entry, str(key), "unknown field" + hint)
        text = self.localized(raw.get("text"), entry, "text")
        if "day" in raw:
            if any(k in raw for k in ("every_days", "from", "until")):
                raise self.error(entry, "day", "use either 'day' or 'every_days' with from/until")
            return CampaignMessage((self.day(raw["day"], entry, "day"),), text)
        every = raw.get("every_days")
        if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= 366:
            raise self.error(entry, "every_days", "must be a whole number of days 1..366, or "
                             "give 'day' for a single day")  # fmt: skip
        start = self.day(raw.get("from"), entry, "from")
        end = self.day(raw.get("until"), entry, "until")
        if end < start:
            raise self.error(entry, "until", "must not be before 'from' (same year)")
        days, day = [], date(2001, *start)
        while (day.month, day.day) <= end:
            days.append((day.month, day.day))
            day += timedelta(days=every)
            if day.year != 2001:
                break
        return CampaignMessage(tuple(days), text)

    def campaign(self, raw: Any, index: int, seen: set[str]) -> Campaign:
        entry = f"#{index}"
        if not isinstance(raw, Mapping):
            raise self.error(entry, "", "must be a mapping")
        for key in raw:
            if key not in {"id", "name", "audience", "time", "messages", "source"}:
                raise self.error(entry, str(key), "unknown field")
        campaign_id = raw.get("id")
        if not isinstance(campaign_id, str) or not _ID_RE.fullmatch(campaign_id):
            raise self.error(entry, "id", "must be lower-case ASCII letters, digits and '-'")
        if campaign_id in seen:
            raise self.error(entry, "id", "duplicate campaign id")
        seen.add(campaign_id)
        entry = f"{campaign_id}"
        try:
            audience = parse_audience(str(raw.get("audience") or ""), self.units)
        except AudienceError as exc:
            raise self.error(entry, "audience", str(exc)) from None
        at = raw.get("time", "09:00")
        match = _TIME_RE.fullmatch(at) if isinstance(at, str) else None
        if match is None:
            raise self.error(entry, "time", 'must be "HH:MM" (quoted, 24-hour)')
        raw_messages = raw.get("messages")
        if not isinstance(raw_messages, list) or not raw_messages:
            raise self.error(entry, "messages", "must be a non-empty list")
        messages = tuple(
            self.message(m, f"{campaign_id} message #{i}")
            for i, m in enumerate(raw_messages, start=1)
        )
        days = [d for m in messages for d in m.days]
        if len(days) != len(set(days)):
            # The day is part of each message's dedupe key: two on one day would send one.
            raise self.error(entry, "messages", "two messages fall on the same day")
        source = raw.get("source", "")
        return Campaign(
            id=campaign_id,
            name=self.localized(raw.get("name"), entry, "name"),
            audience=audience,
            time=time(int(match.group(1)), int(match.group(2))),
            messages=messages,
            source=str(source or ""),
        )

    def load(self, data: Any) -> list[Campaign]:
        if data is None:
            return []
        if not isinstance(data, Mapping):
            raise self.error("", "", "must be a mapping with a 'campaigns' list")
        raw = data.get("campaigns") or []
        if not isinstance(raw, list):
            raise self.error("", "campaigns", "must be a list")
        seen: set[str] = set()
        return [self.campaign(c, i, seen) for i, c in enumerate(raw, start=1)]


def load_campaigns(path: Path, units: Mapping[str, Unit]) -> list[Campaign]:
    """Read and validate `campaigns.yaml` (no file: no campaigns)."""
    if not path.exists():
        return []
    return _CampaignLoader(path, units).load(read_yaml(path))


# --- broadcasting ------------------------------------------------------------------------------


class Broadcasts:
    """Creates broadcasts for an audience and reports on them."""

    def __init__(
        self,
        *,
        store: Store,
        units: Mapping[str, Unit],
        admins: Iterable[str],
        tz: tzinfo,
        campaigns: Iterable[Campaign] = (),
        wall: Callable[[], float] = walltime.time,
    ) -> None:
        self.outbox = store.outbox
        self.reports = store.reports
        self.units = units
        self.admins = sorted(admins)
        self.tz = tz
        self.campaigns = list(campaigns)
        self.wall = wall

    # --- audiences ---------------------------------------------------------------------------

    def _under(self, code: str) -> set[str]:
        """`code` and every unit below it."""
        out = {code}
        changed = True
        while changed:
            changed = False
            for unit in self.units.values():
                if unit.parent in out and unit.code not in out:
                    out.add(unit.code)
                    changed = True
        return out

    async def recipients(self, audience: str) -> list[Recipient]:
        """Everyone `audience` reaches now, once each, in a stable order."""
        found: dict[str, bool] = {}  # address -> reached only as a subscriber
        for part in audience.split(","):
            if part == "subscribers":
                for address, _lang in await self.outbox.subscribers():
                    found.setdefault(address, True)
                continue
            if part == "officers":
                addresses = [o.address for o in await self.reports.officers() if o.active]
            elif part == "admins":
                addresses = list(self.admins)
            else:
                codes = self._under(part.removeprefix("unit:"))
                addresses = [
                    o.address for o in await self.reports.officers() if o.active and
                    o.unit_code in codes
                ]  # fmt: skip
            for address in addresses:
                found[address] = False  # a work message: not subject to /ngungtin
        languages = await self.outbox.languages(list(found))
        return [
            Recipient(address, languages.get(address, "vi"), only)
            for address, only in sorted(found.items())
        ]

    # --- creating -----------------------------------------------------------------------------

    @staticmethod
    def render(text: Localized, recipient: Recipient) -> Reply:
        """The message one recipient gets, with the way out for subscribers."""
        body = text.get(recipient.lang)
        if recipient.only_subscribed:
            with use_language(recipient.lang):
                body += "\n\n" + _("— Type /ngungtin to stop receiving campaign news.")
        return Reply(body, track=False)

    def adhoc_key(self, audience: str, text: Localized, due_at: float) -> str:
        """The key of an admin broadcast: the same text to the same audience on the same day."""
        day = datetime.fromtimestamp(due_at, self.tz).date().isoformat()
        digest = hashlib.sha256(f"{audience}\n{text.vi}\n{text.en}\n{day}".encode()).hexdigest()
        return f"adhoc:{digest[:16]}"

    async def create(
        self,
        *,
        audience: str,
        text: Localized,
        created_by: str,
        due_at: float | None = None,
        key: str | None = None,
        purpose: str = "broadcast",
    ) -> tuple[BroadcastRow, bool]:
        """Queue `text` for everyone in `audience`; (broadcast, False) if it existed already."""
        audience = parse_audience(audience, self.units)
        now = self.wall()
        due = now if due_at is None else due_at
        key = key or self.adhoc_key(audience, text, due)
        recipients = await self.recipients(audience)
        expires = due + BROADCAST_TTL.total_seconds()

        def messages_for(broadcast_id: int) -> list[OutboxMessage]:
            prefix = key if purpose == "campaign" else f"broadcast:{broadcast_id}"
            return [
                OutboxMessage(
                    dedupe_key=f"{prefix}:{r.address}",
                    purpose=purpose,
                    address=r.address,
                    reply=self.render(text, r),
                    priority=1,
                    due_at=due,
                    expires_at=expires,
                    broadcast_id=broadcast_id,
                    only_subscribed=r.only_subscribed,
                )
                for r in recipients
            ]

        return await self.outbox.create_broadcast(
            key=key,
            audience=audience,
            text_vi=text.vi,
            text_en=text.en,
            created_by=created_by,
            now=now,
            due_at=due,
            messages_for=messages_for,
        )

    async def run_campaigns(self, at: datetime) -> list[tuple[BroadcastRow, bool]]:
        """Queue the campaign messages due on the local day of `at` whose time has come."""
        local = at.astimezone(self.tz)
        out = []
        for campaign in self.campaigns:
            message = campaign.message_on(local.date())
            if message is None or local.time().replace(tzinfo=None) < campaign.time:
                continue
            due = datetime.combine(local.date(), campaign.time, self.tz).timestamp()
            out.append(
                await self.create(
                    audience=campaign.audience,
                    text=message.text,
                    created_by="campaign",
                    due_at=min(due, self.wall()),
                    key=f"campaign:{campaign.id}:{local.date().isoformat()}",
                    purpose="campaign",
                )
            )
        return out

    # --- status -------------------------------------------------------------------------------

    async def status(self, broadcast_id: int) -> BroadcastStatus | None:
        """One broadcast and its messages by state."""
        row = await self.outbox.broadcast(broadcast_id)
        if row is None:
            return None
        return BroadcastStatus(row, await self.outbox.broadcast_counts(row.id))

    async def recent(self, limit: int = 5) -> list[BroadcastStatus]:
        """The latest broadcasts, newest first."""
        return [
            BroadcastStatus(row, await self.outbox.broadcast_counts(row.id))
            for row in await self.outbox.broadcasts(limit)
        ]
