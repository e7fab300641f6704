"""Zalo channel pieces without a network: signatures, events, locations, rendering, lanes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.lanes import Lanes
from bot.channels.zalo.adapter import (
    dedupe_key,
    event_time,
    parse_location,
    render,
    to_incoming,
    user_of,
    verify_signature,
)
from bot.channels.zalo.client import MAX_ZALO_TEXT, split_text, utf16_len
from bot.i18n import use_language
from bot.messages import Button, Document, Location, Reply

APP_ID = "4242424242424242424"
SECRET = "oa-secret"


def signature(raw: bytes, timestamp: str) -> str:
    return hashlib.sha256(APP_ID.encode() + raw + timestamp.encode() + SECRET.encode()).hexdigest()


# --- signatures ---------------------------------------------------------------------------------


def test_signature_is_plain_sha256_of_app_body_timestamp_secret() -> None:
    raw = json.dumps({"app_id": APP_ID, "timestamp": "1700000000000"}).encode()
    good = signature(raw, "1700000000000")
    assert verify_signature(raw, APP_ID, "1700000000000", SECRET, good)
    assert verify_signature(raw, APP_ID, "1700000000000", SECRET, "mac=" + good)
    assert verify_signature(raw, APP_ID, "1700000000000", SECRET, " MAC=" + good.upper())


@pytest.mark.parametrize(
    "header",
    ["", "mac=", "0" * 64, "mac=" + "0" * 64, "ẞ" * 64, "not hex at all"],
)
def test_wrong_signatures_are_refused(header: str) -> None:
    raw = b'{"a": 1}'
    assert not verify_signature(raw, APP_ID, "1", SECRET, header)


def test_signature_covers_body_timestamp_and_secret() -> None:
    raw = b'{"text": "xin chao"}'
    good = signature(raw, "1")
    assert not verify_signature(b'{"text": "xin chao!"}', APP_ID, "1", SECRET, good)
    assert not verify_signature(raw, APP_ID, "2", SECRET, good)
    assert not verify_signature(raw, APP_ID, "1", "other-secret", good)
    # Not an HMAC: an HMAC of the same data must not pass.
    import hmac

    mac = hmac.new(SECRET.encode(), APP_ID.encode() + raw + b"1", hashlib.sha256).hexdigest()
    assert not verify_signature(raw, APP_ID, "1", SECRET, mac)


# --- events -------------------------------------------------------------------------------------


def test_text_event_becomes_incoming_with_string_ids() -> None:
    big = 2**60 + 7  # beyond a double's exact range: must survive as a string
    event = {
        "event_name": "user_send_text",
        "sender": {"id": big},
        "message": {"msg_id": "abc", "text": "bạo lực gia đình"},
        "timestamp": "1700000000000",
    }
    inc = to_incoming(event)
    assert inc is not None
    assert inc.channel == "zalo" and inc.user_key == str(big) and inc.text == "bạo lực gia đình"
    assert inc.address == f"zalo:{big}"
    assert dedupe_key(event) == "msg:abc"


@pytest.mark.parametrize(
    "payload",
    [
        {"coordinates": {"latitude": "21.8537", "longitude": "106.7615"}},
        {"coordinates": {"latitude": 21.8537, "longitude": 106.7615}},
        {"latitude": "21.8537", "longitude": "106.7615"},
        {"lat": "21,8537", "long": "106,7615"},
        {"coordinates": {"lat": 21.8537, "lng": 106.7615}},
    ],
)
def test_location_variants(payload: dict[str, object]) -> None:
    message = {"attachments": [{"type": "location", "payload": payload}]}
    loc = parse_location(message)
    assert loc == Location(pytest.approx(21.8537), pytest.approx(106.7615))  # type: ignore[arg-type]


def test_location_under_message_location() -> None:
    assert parse_location({"location": {"latitude": "10.5", "longitude": "106"}}) == Location(
        10.5, 106.0
    )


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"coordinates": {"latitude": "abc", "longitude": "106"}},
        {"coordinates": {"latitude": "95", "longitude": "106"}},
        {"coordinates": {"latitude": "nan", "longitude": "106"}},
        {"coordinates": {"latitude": True, "longitude": 106}},
        {"coordinates": "21,106"},
    ],
)
def test_bad_locations_are_none(payload: dict[str, object]) -> None:
    assert parse_location({"attachments": [{"payload": payload}]}) is None


def test_location_event_without_coordinates_still_answers() -> None:
    event = {"event_name": "user_send_location", "sender": {"id": "1"}, "message": {}}
    inc = to_incoming(event)
    assert inc is not None and inc.location is None and inc.text == ""


def test_follow_is_welcomed_and_echoes_are_ignored() -> None:
    follow = {"event_name": "follow", "follower": {"id": "77"}, "timestamp": "5"}
    inc = to_incoming(follow)
    assert inc is not None and inc.user_key == "77" and inc.text == "/start"
    echo = {"event_name": "oa_send_text", "sender": {"id": "oa"}, "recipient": {"id": "77"}}
    assert to_incoming(echo) is None
    assert to_incoming({"event_name": "user_seen_message", "sender": {"id": "77"}}) is None
    # Stable across re-deliveries, and without the user id in it (it outlives an unfollow).
    assert dedupe_key(follow) == dedupe_key(dict(follow)) and "77" not in dedupe_key(follow)
    assert dedupe_key(follow) != dedupe_key({**follow, "timestamp": "6"})


def test_media_is_answered_with_the_menu() -> None:
    event = {"event_name": "user_send_sticker", "sender": {"id": "5"}, "message": {}}
    inc = to_incoming(event)
    assert inc is not None and inc.text == ""


@pytest.mark.parametrize("bad", [None, True, -1, 1.5, "", "abc", "12a", {"id": "1"}])
def test_bad_user_ids_are_refused(bad: object) -> None:
    event = {"event_name": "user_send_text", "sender": {"id": bad}, "message": {"text": "x"}}
    assert user_of(event) is None and to_incoming(event) is None


def test_event_time_in_milliseconds() -> None:
    at = event_time({"timestamp": "1700000000000"})
    assert at is not None and at.timestamp() == 1_700_000_000
    assert event_time({"timestamp": "soon"}) is None
    assert event_time({}) is None


# --- rendering ----------------------------------------------------------------------------------


def test_split_2500_characters_into_clean_parts() -> None:
    paragraph = "Bình đẳng giới là việc nam, nữ có vị trí, vai trò ngang nhau. " * 8
    text = "\n\n".join([paragraph.strip()] * 6)
    assert 2500 <= len(text) <= 3200
    parts = split_text(text)
    assert len(parts) == 2
    assert all(utf16_len(p) <= MAX_ZALO_TEXT for p in parts)
    assert all(p == p.strip() and p.endswith(".") for p in parts)  # cut between paragraphs
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )


def test_split_counts_emoji_as_two_units() -> None:
    parts = split_text("🚨" * 1500)
    assert len(parts) == 2 and all(utf16_len(p) <= MAX_ZALO_TEXT for p in parts)


@given(st.text(max_size=6000))
def test_split_never_loses_text_or_exceeds_the_limit(text: str) -> None:
    parts = split_text(text, 300)
    assert all(0 < utf16_len(p) <= 300 for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_render_numbers_buttons_and_links_places() -> None:
    reply = Reply(
        "Chọn:",
        buttons=[
            [Button("A", "faq:a"), Button("B", "hot")],
            [Button("Web", "u", "url", "https://x.vn")],
        ],
        location=Location(21.85, 106.76),
    )
    with use_language("vi"):
        [text] = render(reply)
    assert "1. A" in text and "2. B" in text and "Web: https://x.vn" in text
    assert "https://maps.google.com/?q=21.85000,106.76000" in text


def test_render_strips_html_and_explains_documents() -> None:
    reply = Reply(
        "<b>Tổng</b> &amp; số",
        html=True,
        document=Document("bao-cao.xlsx", b"x", caption="c"),
    )
    with use_language("vi"):
        [text] = render(reply)
    assert text.startswith("Tổng & số")
    assert "bao-cao.xlsx" in text and "bdg-bot export" in text


# --- lanes --------------------------------------------------------------------------------------


async def test_lanes_keep_order_per_key_and_bound_concurrency() -> None:
    lanes = Lanes(limit=3)
    log: list[tuple[str, int]] = []
    running = 0
    peak = 0

    def job(key: str, i: int) -> object:
        async def run() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01 * ((i * 7) % 3))
            log.append((key, i))
            running -= 1
            if i == 2 and key == "b":
                raise RuntimeError("one job failing does not stop the lane")

        return run

    for i in range(6):
        for key in "abcdef":
            lanes.submit(key, job(key, i))  # type: ignore[arg-type]
    await lanes.drain(5)
    assert peak <= 3
    for key in "abcdef":
        assert [i for k, i in log if k == key] == list(range(6))


def test_render_composes_decomposed_vietnamese() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Hoàng Anh")
    with use_language("vi"):
        [text] = render(Reply(nfd))
    assert text == "Nguyễn Thị Hoàng Anh" and len(text) == 20
