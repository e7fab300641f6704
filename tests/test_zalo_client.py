"""The Zalo API client and token manager against the fake Zalo API on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.channels.zalo import client as zalo_client
from bot.channels.zalo.client import TokenError, TokenManager, ZaloClient
from bot.clock import FakeClock
from bot.settings import Secret, ZaloSettings
from bot.storage import Store
from bot.storage.zalo import load_tokens, seed_tokens
from tests.fakes.zalo_api import FakeZaloAPI


@dataclass
class Client:
    fake: FakeZaloAPI
    store: Store
    clock: FakeClock
    session: aiohttp.ClientSession
    tokens: TokenManager
    client: ZaloClient
    sleeps: list[float]


async def _no_sleep(sleeps: list[float], seconds: float) -> None:
    sleeps.append(seconds)


@pytest.fixture
async def zc(store: Store, clock: FakeClock) -> AsyncIterator[Client]:
    async with FakeZaloAPI() as fake, aiohttp.ClientSession() as session:
        settings = fake.settings()
        tokens = TokenManager(store, settings, clock, session)
        await tokens.start()
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            await _no_sleep(sleeps, seconds)

        client = ZaloClient(settings, tokens, session, sleep=sleep)
        yield Client(fake, store, clock, session, tokens, client, sleeps)


async def test_first_use_rotates_the_seeded_pair_and_stores_it(zc: Client) -> None:
    result = await zc.client.send_texts("1001", ["Xin chào"])
    assert result.status == "sent" and result.sent_parts == 1
    assert zc.fake.refreshes == 1 and zc.fake.texts("1001") == ["Xin chào"]
    pair = await load_tokens(zc.store)
    assert pair is not None
    assert pair.access_token == zc.fake.access_token
    assert pair.refresh_token == zc.fake.refresh_token
    assert pair.expires_at == zc.clock.now() + timedelta(seconds=90000)
    # The next send uses the stored token: no second refresh.
    await zc.client.send_texts("1001", ["Lần hai"])
    assert zc.fake.refreshes == 1


async def test_expired_token_is_refreshed_once_and_the_send_retried_once(zc: Client) -> None:
    await zc.client.send_texts("1001", ["một"])
    zc.fake.expire_access_token()
    result = await zc.client.send_texts("1001", ["hai"])
    assert result.status == "sent"
    assert zc.fake.texts("1001") == ["một", "hai"]
    assert zc.fake.refreshes == 2


@pytest.mark.parametrize("code", [-216, -220])
async def test_token_error_twice_is_not_retried_forever(zc: Client, code: int) -> None:
    await zc.client.send_texts("1001", ["một"])
    zc.fake.fail_next(code, code, code)
    result = await zc.client.send_texts("1001", ["hai"])
    assert result.status == "retry" and result.code == code
    assert zc.fake.refreshes == 2  # refreshed once, retried once, then gave up
    assert zc.fake.texts("1001") == ["một"]


async def test_refresh_before_expiry(zc: Client) -> None:
    await zc.client.send_texts("1001", ["một"])
    zc.clock.advance(timedelta(hours=24, minutes=40))  # 25 h tokens, refreshed 30 min ahead
    await zc.client.send_texts("1001", ["hai"])
    assert zc.fake.refreshes == 2
    assert not [c for c in zc.fake.calls if c[1] == -216]  # never met an expired token


async def test_concurrent_token_errors_refresh_once(zc: Client) -> None:
    await zc.client.send_texts("1", ["warm"])
    zc.fake.expire_access_token()
    zc.fake.latency_ms = 20
    results = await asyncio.gather(
        *(zc.client.send_texts(str(100 + i), [f"m{i}"]) for i in range(8))
    )
    assert all(r.status == "sent" for r in results)
    assert zc.fake.refreshes == 2  # the first one, and ONE for the expiry
    assert not zc.fake.refusals  # no reused refresh token


async def test_two_managers_on_one_database_never_reuse_a_refresh_token(
    zc: Client, clock: FakeClock
) -> None:
    # E.g. the server and a `bdg-bot reminders run` process, each with its own manager.
    await zc.client.send_texts("1", ["warm"])
    settings = zc.tokens.settings
    other_tokens = TokenManager(zc.store, settings, clock, zc.session)
    await other_tokens.start()  # same environment: the stored pair is kept
    other = ZaloClient(settings, other_tokens, zc.session)
    zc.fake.expire_access_token()
    first = await zc.client.send_texts("2", ["a"])
    second = await other.send_texts("3", ["b"])
    assert first.status == second.status == "sent"
    assert zc.fake.refreshes == 2 and not zc.fake.refusals
    # The second manager read the rotated pair instead of trying its stale token.
    assert [code for _path, code in zc.fake.calls].count(-216) == 1


async def test_refused_refresh_is_reported_and_retried_later(zc: Client) -> None:
    await zc.client.send_texts("1", ["warm"])
    zc.fake.refresh_token = "revoked-by-zalo"  # e.g. the OA was re-authorised elsewhere
    zc.fake.expire_access_token()
    result = await zc.client.send_texts("1", ["x"])
    assert result.status == "retry" and result.retry_after == zalo_client.TOKEN_BACKOFF
    assert zc.fake.refusals == [-14014]
    # Nothing was lost: the stored pair is unchanged, ready for the admin's new one.
    pair = await load_tokens(zc.store)
    assert pair is not None and pair.refresh_token != "revoked-by-zalo"


async def test_rate_limit_waited_out_for_replies_not_for_proactive(zc: Client) -> None:
    await zc.client.send_texts("1", ["warm"])
    zc.fake.fail_next(-32, -32)
    waited = await zc.client.send_texts("1", ["reply"])
    assert waited.status == "sent" and len(zc.sleeps) == 2
    zc.fake.fail_next(-32)
    proactive = await zc.client.send_texts("1", ["reminder"], wait_rate_limit=False)
    assert proactive.status == "retry" and proactive.code == -32
    assert proactive.retry_after == zalo_client.RATE_LIMIT_BACKOFF


async def test_rate_limit_mid_message_is_waited_out(zc: Client) -> None:
    await zc.client.send_texts("1", ["warm"])
    # The second part meets the limit: a half-sent reminder is worse than a slow one.
    zc.fake.fail_next(0, -32)
    result = await zc.client.send_texts("1", ["p1", "p2"], wait_rate_limit=False)
    assert result.status == "sent" and zc.fake.texts("1")[-2:] == ["p1", "p2"]
    assert zc.sleeps == [zalo_client.INLINE_RATE_DELAY]


async def test_proxy_error_page_is_a_failure_and_5xx_a_retry(zc: Client) -> None:
    await zc.client.send_texts("1", ["warm"])
    zc.fake.fail_http_next(404)
    assert (await zc.client.send_texts("1", ["x"])).status == "failed"
    zc.fake.fail_http_next(502)
    result = await zc.client.send_texts("1", ["x"])
    assert result.status == "retry" and result.retry_after == zalo_client.NETWORK_BACKOFF


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (-230, "undeliverable"),
        (-232, "undeliverable"),
        (-213, "undeliverable"),
        (-227, "undeliverable"),
        (-244, "blocked"),
        (-201, "failed"),
        (-124, "failed"),
    ],
)
async def test_error_codes_map_to_outcomes(zc: Client, code: int, status: str) -> None:
    await zc.client.send_texts("1", ["warm"])
    zc.fake.fail_next(code)
    result = await zc.client.send_texts("1", ["x", "y"])
    assert result.status == status and result.code == code and result.sent_parts == 0
    assert result.detail == f"zalo error {code}" and not result.needs_admin
    assert zc.fake.texts("1") == ["warm"]  # stopped at the first failure


#: Codes only an administrator can clear: app set-up (-223), OA not verified (-221) or on a
#: package without API messaging (-224), policy (-248), paid feature (-320), no balance (-321).
@pytest.mark.parametrize("code", [-223, -221, -224, -248, -320, -321])
async def test_admin_codes_are_failed_and_say_so(
    zc: Client, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    await zc.client.send_texts("1", ["warm"])
    zc.fake.fail_next(code)
    with caplog.at_level("ERROR"):
        result = await zc.client.send_texts("1", ["x"])
    assert result.status == "failed" and result.needs_admin
    assert result.detail == f"zalo error {code}: needs an administrator (docs/zalo.md)"
    assert f"{code}: NEEDS AN ADMINISTRATOR" in caplog.text


async def test_buttons_are_sent_with_number_payloads(zc: Client) -> None:
    message = zalo_client.Message("Chọn:", ("Một", "Hai"), ("Chọn:\n1. Một\n2. Hai",))
    result = await zc.client.send_messages("1", [message])
    assert result.status == "sent" and result.sent_parts == 1
    [sent] = zc.fake.sent
    assert sent.text == "Chọn:" and sent.buttons == [("Một", "1"), ("Hai", "2")]
    assert {b["type"] for b in sent.body["message"]["attachment"]["payload"]["buttons"]} == {
        "oa.query.hide"
    }


async def test_refused_buttons_fall_back_to_numbered_text(
    zc: Client, caplog: pytest.LogCaptureFixture
) -> None:
    zc.fake.refuse_buttons = True
    message = zalo_client.Message("Chọn:", ("Một", "Hai"), ("Chọn:\n1. Một\n2. Hai",))
    with caplog.at_level("WARNING"):
        result = await zc.client.send_messages("1", [zalo_client.Message("trước"), message])
    assert result.status == "sent" and result.sent_parts == 2
    assert zc.fake.texts("1") == ["trước", "Chọn:\n1. Một\n2. Hai"]
    assert all(not m.buttons for m in zc.fake.sent)
    assert "refused a message with buttons (error -201)" in caplog.text


@pytest.mark.parametrize(
    ("code", "status", "admin"),
    [
        (-109, "failed", True),  # template id invalid
        (-111, "failed", True),  # template data empty
        (-112, "failed", True),  # template data invalid
        (-115, "failed", True),  # no balance
        (-117, "failed", True),  # OA or app may not use the template
        (-114, "undeliverable", False),  # the user is inactive or refuses
        (-118, "undeliverable", False),
        (-119, "undeliverable", False),
        (-321, "failed", True),
    ],
)
async def test_template_codes_map_to_outcomes(
    zc: Client, code: int, status: str, admin: bool
) -> None:
    zc.fake.templates["375847"] = {"ky": 30}
    zc.fake.fail_next(code)
    result = await zc.client.send_template("1", "375847", {"ky": "6 tháng"})
    assert (result.status, result.code, result.needs_admin) == (status, code, admin)
    assert result.sent_parts == 0


async def test_fake_template_endpoint_checks_id_params_and_lengths(zc: Client) -> None:
    zc.fake.templates["375847"] = {"ky": 10, "han": 30}
    send = zc.client.send_template
    assert (await send("1", "999", {"ky": "a", "han": "b"})).code == -109
    assert (await send("1", "375847", {"ky": "a"})).code == -111
    assert (await send("1", "375847", {"ky": "a" * 11, "han": "b"})).code == -112
    result = await send("1", "375847", {"ky": "6T2026", "han": "31/12"})
    assert result.status == "sent" and result.sent_parts == 1
    assert zc.fake.sent[-1].kind == "template" and zc.fake.texts("1") == ["6T2026\n31/12"]
    # Transaction messages are gone (Zalo ended them on 01/03/2026).
    url = zc.fake.base_url + "/v3.0/oa/message/transaction"
    async with zc.session.post(url, json={}) as resp:
        assert resp.status == 404


async def test_display_name_is_fetched_and_failure_is_none(zc: Client) -> None:
    zc.fake.display_names["7"] = " Nguyễn Thị Mai "
    assert await zc.client.user_display_name("7") == "Nguyễn Thị Mai"
    assert await zc.client.user_display_name("8") is None  # unknown: -213
    zc.fake.expire_access_token()
    assert await zc.client.user_display_name("7") is None  # refused token: no retry loop
    assert zc.fake.detail_requests == ["7", "8"]  # the third was refused at the token


async def test_refresh_timing_out_after_rotation_is_logged_for_an_admin(
    zc: Client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zalo_client, "TIMEOUT", aiohttp.ClientTimeout(total=0.2))
    zc.fake.token_latency_ms = 1000
    with caplog.at_level("ERROR"), pytest.raises(TokenError):
        await zc.tokens.access_token()
    assert zc.fake.refreshes == 1  # Zalo did rotate the pair...
    pair = await load_tokens(zc.store)
    assert pair is not None and pair.refresh_token == "RT-0"  # ...which the bot never heard
    assert "NEEDS AN ADMINISTRATOR" in caplog.text and "re-authorise the OA" in caplog.text
    assert "ZALO_REFRESH_TOKEN" in caplog.text and "RT-" not in caplog.text


async def test_unreachable_api_is_retry(store: Store, clock: FakeClock) -> None:
    settings = ZaloSettings(
        app_id="1",
        oa_secret=Secret("s"),
        app_secret=Secret("a"),
        access_token=Secret("AT"),
        refresh_token=Secret("RT"),
        api_base_url="http://127.0.0.1:9",
        oauth_base_url="http://127.0.0.1:9",
    )
    async with aiohttp.ClientSession() as session:
        tokens = TokenManager(store, settings, clock, session)
        await tokens.start()
        with pytest.raises(TokenError):
            await tokens.access_token()  # the seeded pair must be refreshed first
        clock.advance(timedelta(seconds=1))
        result = await ZaloClient(settings, tokens, session).send_texts("1", ["x"])
        assert result.status == "retry"


async def test_seed_once_but_a_new_environment_pair_wins(db_path: Path, clock: FakeClock) -> None:
    store = await Store.open(db_path)
    try:
        assert await seed_tokens(store, "AT-env", "RT-env", clock.now())
        assert not await seed_tokens(store, "AT-env", "RT-env", clock.now())
        await store._db.execute(
            "UPDATE zalo_tokens SET access_token = 'AT-9', refresh_token = 'RT-9'"
        )
        # A restart with the same environment keeps the rotated pair...
        assert not await seed_tokens(store, "AT-env", "RT-env", clock.now())
        pair = await load_tokens(store)
        assert pair is not None and pair.refresh_token == "RT-9"
        # ...while a pair the admin put there after re-authorising replaces it.
        assert await seed_tokens(store, "AT-new", "RT-new", clock.now())
        pair = await load_tokens(store)
        assert pair is not None and pair.refresh_token == "RT-new"
        assert "RT-new" not in repr(pair) and "AT-new" not in repr(pair)
    finally:
        await store.close()


async def test_fake_token_endpoint_rotates_and_rejects_reuse() -> None:
    async with FakeZaloAPI() as fake, aiohttp.ClientSession() as session:
        url = fake.base_url + "/v4/oa/access_token"
        form = {"refresh_token": "RT-0", "app_id": fake.app_id, "grant_type": "refresh_token"}
        headers = {"secret_key": fake.app_secret}
        async with session.post(url, data=form, headers=headers) as resp:
            first = await resp.json()
        assert first["refresh_token"] != "RT-0" and first["expires_in"] == "90000"
        async with session.post(url, data=form, headers=headers) as resp:
            again = await resp.json()
        assert again["error"] == -14014 and "access_token" not in again
        async with session.post(url, data=form, headers={"secret_key": "wrong"}) as resp:
            assert (await resp.json())["error"] == -14002


async def test_fake_send_endpoint_checks_token_and_text() -> None:
    async with FakeZaloAPI() as fake, aiohttp.ClientSession() as session:
        url = fake.base_url + "/v3.0/oa/message/cs"
        body = {"recipient": {"user_id": "1"}, "message": {"text": "x"}}
        async with session.post(url, json=body, headers={"access_token": "nope"}) as resp:
            assert resp.status == 200 and (await resp.json())["error"] == -216
        too_long = {"recipient": {"user_id": "1"}, "message": {"text": "x" * 2001}}
        async with session.post(url, json=too_long, headers={"access_token": "AT-0"}) as resp:
            assert (await resp.json())["error"] == -201
        async with session.post(url, json=body, headers={"access_token": "AT-0"}) as resp:
            assert (await resp.json())["error"] == 0
        assert fake.texts("1") == ["x"]


async def test_used_up_quota_is_retried_much_later(zc: Client) -> None:
    await zc.client.send_texts("1", ["warm"])
    zc.fake.fail_next(-211)
    result = await zc.client.send_texts("1", ["x"])
    assert result.status == "retry" and result.retry_after == zalo_client.QUOTA_BACKOFF


async def test_admin_errors_are_logged_as_errors(
    zc: Client, caplog: pytest.LogCaptureFixture
) -> None:
    await zc.client.send_texts("1", ["warm"])
    zc.fake.fail_next(-224)
    with caplog.at_level("ERROR"):
        await zc.client.send_texts("1", ["x"])
    assert "-224" in caplog.text and "docs/zalo.md" in caplog.text
    assert "package does not allow API messaging" in caplog.text


async def test_two_processes_refreshing_at_once_refresh_once(
    database: Path | str, clock: FakeClock
) -> None:
    """Two workers (two connections) meet an expired token at the same moment: one refreshes,
    the other waits for it and uses the new pair (a reused refresh token would be refused)."""
    first, second = await Store.open(database), await Store.open(database)
    try:
        async with FakeZaloAPI() as fake, aiohttp.ClientSession() as session:
            settings = fake.settings()
            managers = [TokenManager(s, settings, clock, session) for s in (first, second)]
            for manager in managers:
                await manager.start()
            clients = [ZaloClient(settings, m, session) for m in managers]
            await clients[0].send_texts("1", ["warm"])
            before = fake.refreshes
            fake.token_latency_ms = 200  # a refresh takes a while: the other process meets it
            fake.expire_access_token()
            results = await asyncio.gather(
                *(c.send_texts(str(10 + i), ["x"]) for i, c in enumerate(clients * 3))
            )
            assert {r.status for r in results} == {"sent"}
            assert fake.refreshes == before + 1 and not fake.refusals
    finally:
        await first.close()
        await second.close()
