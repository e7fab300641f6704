"""The Zalo template and billed-window settings: checked at start-up, in one line."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, TemplateParam, ZaloTemplate, load_settings

BASE = {
    "ZALO_APP_ID": "1",
    "ZALO_OA_SECRET": "a",
    "ZALO_APP_SECRET": "b",
    "ZALO_ACCESS_TOKEN": "c",
    "ZALO_REFRESH_TOKEN": "d",
}


def test_template_setting_is_parsed_with_default_length() -> None:
    env = {
        **BASE,
        "ZALO_TEMPLATE_ID": "375847",
        "ZALO_TEMPLATE_PARAMS": " ky=title:100 , han=line3:200,ma=period ",
    }
    zalo = load_settings(env).zalo
    assert zalo is not None
    assert zalo.template == ZaloTemplate(
        "375847",
        (
            TemplateParam("ky", "title", 100),
            TemplateParam("han", "line3", 200),
            TemplateParam("ma", "period", 30),
        ),
    )


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        ({"ZALO_TEMPLATE_ID": "375847"}, "ZALO_TEMPLATE_PARAMS is required"),
        ({"ZALO_TEMPLATE_PARAMS": "ky=title"}, "ZALO_TEMPLATE_ID is required"),
        ({"ZALO_TEMPLATE_ID": "37 58", "ZALO_TEMPLATE_PARAMS": "ky=title"}, "ZALO_TEMPLATE_ID"),
        ({"ZALO_TEMPLATE_ID": "1", "ZALO_TEMPLATE_PARAMS": "ky"}, "ZALO_TEMPLATE_PARAMS"),
        ({"ZALO_TEMPLATE_ID": "1", "ZALO_TEMPLATE_PARAMS": "ky=body"}, "not a reminder field"),
        ({"ZALO_TEMPLATE_ID": "1", "ZALO_TEMPLATE_PARAMS": "ky=title:201"}, "must be 1-200"),
        ({"ZALO_TEMPLATE_ID": "1", "ZALO_TEMPLATE_PARAMS": "ky=title:0"}, "must be 1-200"),
        ({"ZALO_TEMPLATE_ID": "1", "ZALO_TEMPLATE_PARAMS": "a=title,a=line2"}, "twice"),
        ({"ZALO_TEMPLATE_ID": "1", "ZALO_TEMPLATE_PARAMS": ",,"}, "at least one"),
        ({"ZALO_TRANSACTION_TEMPLATE": "transaction_event"}, "no longer used"),
        ({"ZALO_BILLED_WINDOW": "2"}, "ZALO_BILLED_WINDOW"),
    ],
)
def test_malformed_template_settings_fail_in_one_line(extra: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({**BASE, **extra})
    message = str(err.value)
    assert names in message and "\n" not in message
    assert message.startswith("ZALO_")
