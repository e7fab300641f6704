"""The one-line report command: grammar variants, every problem class, messages, intent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content import ContentError
from bot.i18n import use_language
from bot.reporting import (
    REPORT_EXAMPLE,
    IndicatorSet,
    ParsedReport,
    Period,
    Problem,
    example_line,
    format_problems,
    load_calendar,
    load_indicators,
    parse_report,
    period_problem,
    report_intent,
    requested_period,
)

IND = load_indicators()
CAL = load_calendar()
NOV = date(2026, 11, 28)  # 2026-N on time; 2026-6T locked; 2027-6T not open yet
MAY = date(2026, 5, 20)  # 2026-6T on time; 2026-N not open yet
JUNE_LATE = date(2026, 6, 20)  # 2026-6T late; 2026-N on time


def ok(text: str, today: date = NOV) -> ParsedReport:
    result = parse_report(text, IND, CAL, today)
    assert isinstance(result, ParsedReport), [p.message() for p in result]
    return result


def bad(text: str, today: date = NOV) -> list[Problem]:
    result = parse_report(text, IND, CAL, today)
    assert isinstance(result, list), result
    assert result
    return result


def kinds(problems: list[Problem]) -> list[str]:
    return [p.kind for p in problems]


# --- indicators ------------------------------------------------------------------------------


def test_shipped_indicators_are_the_contract() -> None:
    assert IND.codes == ("tt", "nd", "nu", "sp", "th", "hv", "vu", "ht", "tl", "ct", "mh")
    assert all(ind.max == 100000 for ind in IND)
    nu = IND.get("NU")
    assert nu is not None
    assert nu.label.get("vi") == "Trong đó nữ"
    assert nu.label.get("en") == "Of whom women"
    assert all(ind.hint.get("vi") and ind.hint.get("en") for ind in IND)
    assert [(c.left, c.op, c.right) for c in IND.constraints] == [("nu", "<=", "nd")]
    assert "tt" in IND and "Tt" in IND and "xy" not in IND and 3 not in IND
    assert len(IND) == 11


@pytest.mark.parametrize(
    ("raw", "value"),
    [("0", 0), ("7", 7), ("007", 7), ("1200", 1200), ("1.200", 1200), (" 12.000.000 ", 12000000)],
)
def test_parse_value_accepts(raw: str, value: int) -> None:
    assert IND.parse_value(raw) == value


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("", "missing_value"),
        ("  ", "missing_value"),
        ("1.2", "not_number"),
        ("1.20", "not_number"),
        ("1.2000", "not_number"),
        ("1200.000", "not_number"),
        ("1,200", "not_number"),
        (".5", "not_number"),
        ("5.", "not_number"),
        ("+5", "not_number"),
        ("abc", "not_number"),
        ("3x", "not_number"),
        ("-3", "negative"),
        ("\u22123", "negative"),
        ("9" * 50, "too_large"),
    ],
)
def test_parse_value_refuses(raw: str, kind: str) -> None:
    result = IND.parse_value(raw)
    assert isinstance(result, Problem)
    assert result.kind == kind
    assert result.message()


def test_parse_value_names_the_indicator_when_given() -> None:
    problem = IND.parse_value("abc", "nd")
    assert isinstance(problem, Problem)
    with use_language("en"):
        assert problem.message().startswith("nd (Participants): «abc» is not a whole number")
    bare = IND.parse_value("abc")
    assert isinstance(bare, Problem)
    with use_language("vi"):
        assert bare.message().startswith("«abc» không phải số nguyên")


def test_check_max_and_constraints() -> None:
    assert IND.check({"nd": 50, "nu": 50, "tt": 100000}) == []
    problems = IND.check({"nd": 50, "nu": 70, "tt": 100001, "xy": 1, "hv": -1})
    assert sorted(kinds(problems)) == [
        "constraint",
        "negative",
        "too_large",
        "unknown_code",
    ]
    # A constraint with one side absent holds: partial reports and corrections are allowed.
    assert IND.check({"nu": 70}) == []


@pytest.mark.parametrize(
    ("yaml_text", "fragments"),
    [
        ("indicators: []\n", ["indicators.yaml", "'indicators'"]),
        ("indicators:\n  - {code: TT}\n", ["entry #1", "'code'"]),
        ("indicators:\n  - {code: abcde}\n", ["entry #1", "'code'"]),
        ("indicators:\n  - {code: no}\n", ["entry #1", "'code'", "quote"]),
        ("indicators:\n  - {code: n}\n", ["entry #1 (n)", "reserved"]),
        (
            "indicators:\n  - {code: tt, label: {vi: a}, hint: {vi: a, en: b}}\n",
            ["entry #1 (tt)", "'label.en'"],
        ),
        (
            "indicators:\n  - {code: tt, label: {vi: a, en: b}}\n",
            ["entry #1 (tt)", "'hint'"],
        ),
        (
            "indicators:\n  - {code: tt, lable: {vi: a, en: b}}\n",
            ["entry #1 (tt)", "'lable'", "unknown field"],
        ),
        (
            "indicators:\n"
            "  - {code: tt, label: {vi: a, en: b}, hint: {vi: a, en: b}}\n"
            "  - {code: tt, label: {vi: a, en: b}, hint: {vi: a, en: b}}\n",
            ["entry #2 (tt)", "duplicate"],
        ),
        (
            "indicators:\n  - {code: tt, label: {vi: a, en: b}, hint: {vi: a, en: b}, max: 0}\n",
            ["entry #1 (tt)", "'max'"],
        ),
        (
            "default_max: -5\n"
            "indicators:\n  - {code: tt, label: {vi: a, en: b}, hint: {vi: a, en: b}}\n",
            ["'default_max'"],
        ),
        (
            "indicators:\n  - {code: tt, label: {vi: a, en: b}, hint: {vi: a, en: b}}\n"
            "constraints:\n  - {left: tt, op: '<=', right: nd}\n",
            ["constraints #1", "'right'", "'nd'"],
        ),
        (
            "indicators:\n"
            "  - {code: tt, label: {vi: a, en: b}, hint: {vi: a, en: b}}\n"
            "  - {code: nd, label: {vi: a, en: b}, hint: {vi: a, en: b}}\n"
            "constraints:\n  - {left: tt, op: '=<', right: nd}\n",
            ["constraints #1", "'op'"],
        ),
    ],
)
def test_invalid_indicator_files_name_entry_and_field(
    tmp_path: Path, yaml_text: str, fragments: list[str]
) -> None:
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_indicators(path)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_custom_max_and_constraint_ops(tmp_path: Path) -> None:
    path = tmp_path / "indicators.yaml"
    path.write_text(
        "default_max: 10\n"
        "indicators:\n"
        "  - {code: a, label: {vi: A, en: A}, hint: {vi: a, en: a}}\n"
        "  - {code: b, label: {vi: B, en: B}, hint: {vi: b, en: b}, max: 500}\n"
        "constraints:\n"
        "  - {left: a, op: '<', right: b}\n"
        "  - {left: b, op: '>=', right: a}\n"
        "  - {left: a, op: '==', right: b}\n",
        encoding="utf-8",
    )
    ind = load_indicators(path)
    assert [i.max for i in ind] == [10, 500]
    assert kinds(ind.check({"a": 5, "b": 5})) == ["constraint"]  # a < b broken
    assert kinds(ind.check({"a": 11, "b": 11})) == ["too_large", "constraint"]
    with use_language("en"):
        message = ind.check({"a": 5, "b": 5})[0].message()
    assert message == "a (A) = 5 must be less than b (B) = 5. Check both numbers."


# --- grammar -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "BC tt=3 nd=120 nu=70",
        "bc tt=3 nd=120 nu=70",
        "Bc TT=3 ND=120 Nu=70",
        "/baocao tt=3 nd=120 nu=70",
        "/baocao@bdg_bot tt=3 nd=120 nu=70",
        "/BAOCAO@BdgBot tt=3 nd=120 nu=70",
        "báo cáo tt=3 nd=120 nu=70",
        "Báo Cáo tt=3 nd=120 nu=70",
        "BÁO CÁO tt=3 nd=120 nu=70",
        "bao cao tt=3 nd=120 nu=70",
        "baocao tt=3 nd=120 nu=70",
        "BC: tt=3 nd=120 nu=70",
        "  BC   tt=3   nd=120   nu=70  ",
        # between code and value
        "BC tt:3 nd:120 nu:70",
        "BC tt = 3 nd : 120 nu= 70",
        "BC tt 3 nd 120 nu 70",
        "BC tt3 nd120 nu70",
        "BC tt\t3 nd  120 nu =70",
        # between pairs
        "BC tt=3,nd=120,nu=70",
        "BC tt=3 , nd=120 ,nu=70",
        "BC tt=3;nd=120;nu=70",
        "BC tt=3 ; nd=120; nu=70;",
        "BC tt 3, nd 120; nu 70",
        "BC\ntt=3\nnd=120\nnu=70",
        "BC\r\ntt = 3\r\nnd = 120\r\nnu = 70\r\n",
        "BC tt=3,, nd=120 ;; nu=70",
        # sentence punctuation at the very end, and keyboard quirks
        "BC tt=3 nd=120 nu=70.",
        "BC tt=３ nd=１２０ nu=70",
        "BC tt=3 nd=120 nữ=70",
        "BC tt=3\u200b nd=120\u00a0nu=70",  # zero-width and no-break spaces pasted from apps
    ],
)
def test_grammar_variants(text: str) -> None:
    report = ok(text)
    assert report.values == {"tt": 3, "nd": 120, "nu": 70}
    assert report.period.id == "2026-N"
    assert report.period_given is False


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("BC nd=1.200", 1200),
        ("BC nd=12.000", 12000),
        ("BC nd=100.000", 100000),
        ("BC nd=1200", 1200),
        ("BC nd 1.200.", 1200),
        ("BC nd=0", 0),
        ("BC nd=007", 7),
    ],
)
def test_thousands_dots(text: str, value: int) -> None:
    assert ok(text).values == {"nd": value}


@pytest.mark.parametrize(
    ("text", "today", "period_id"),
    [
        ("BC 6T tt=3", MAY, "2026-6T"),
        ("BC 6t tt=3", MAY, "2026-6T"),
        ("BC 6T tt=3", JUNE_LATE, "2026-6T"),  # late filing keeps the six-month period
        ("BC N tt=3", NOV, "2026-N"),
        ("bc n tt=3", NOV, "2026-N"),
        ("BC 6T2026 tt=3", MAY, "2026-6T"),
        ("BC 6t2026 tt=3", MAY, "2026-6T"),
        ("BC N2026 tt=3", NOV, "2026-N"),
        ("BC 2026-6T tt=3", MAY, "2026-6T"),
        ("BC 2026-N tt=3", NOV, "2026-N"),
        ("BC 2026-n tt=3", NOV, "2026-N"),
        ("BC 6T 2026 tt=3", MAY, "2026-6T"),
        ("BC 6T-2026 tt=3", MAY, "2026-6T"),
        ("BC N: tt=3", NOV, "2026-N"),
        ("/baocao@bot 6T\ntt=3", MAY, "2026-6T"),
        ("báo cáo N2026, tt=3", NOV, "2026-N"),
    ],
)
def test_period_tokens(text: str, today: date, period_id: str) -> None:
    report = ok(text, today)
    assert report.period.id == period_id
    assert report.period_given is True
    assert report.values == {"tt": 3}


def test_default_period_when_none_given() -> None:
    assert ok("BC tt=3", MAY).period.id == "2026-6T"
    assert ok("BC tt=3", JUNE_LATE).period.id == "2026-N"
    assert ok("BC tt=3", date(2026, 12, 16)).period.id == "2027-6T"


def test_keyword_is_optional_for_parse_report() -> None:
    # The guided dialog may hand over a bare line; report_intent guards the chat.
    assert ok("tt=3 nd=5").values == {"tt": 3, "nd": 5}


def test_values_keep_order_and_use_canonical_codes() -> None:
    report = ok("BC MH=2 Tt=1")
    assert list(report.values) == ["mh", "tt"]


# --- problems ------------------------------------------------------------------------------


def test_unknown_code_lists_valid_codes() -> None:
    problems = bad("BC xy=3 tt=1")
    assert kinds(problems) == ["unknown_code"]
    valid = "tt, nd, nu, sp, th, hv, vu, ht, tl, ct, mh"
    with use_language("en"):
        assert problems[0].message() == f"Unknown code «xy». Valid codes: {valid}."
    with use_language("vi"):
        assert problems[0].message() == f"Không có mã «xy». Các mã hợp lệ: {valid}."


def test_unknown_code_quotes_what_was_typed() -> None:
    problems = bad("BC Bạo=3")
    assert problems[0].params["code"] == "Bạo"


@pytest.mark.parametrize("text", ["BC tt=3 tt=4", "BC tt=3 TT=3", "BC tt=3 nd=1 tt=x tt=5"])
def test_repeated_code(text: str) -> None:
    problems = bad(text)
    assert kinds(problems) == ["repeated_code"]
    with use_language("vi"):
        assert "Mã tt (Buổi truyền thông) được ghi nhiều lần" in problems[0].message()


@pytest.mark.parametrize(
    "text", ["BC tt= nd=5", "BC tt nd=5", "BC nd=5 tt", "BC tt=;nd=5", "BC tt=, nd=5", "BC tt:"]
)
def test_missing_value(text: str) -> None:
    problems = bad(text)
    assert kinds(problems) == ["missing_value"]
    with use_language("en"):
        assert problems[0].message() == (
            "tt (Communication sessions) has no number. "
            "Put the number right after the code, e.g. tt=5."
        )


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("BC tt=abc", "abc"),
        ("BC tt=1.2", "1.2"),
        ("BC tt=1.20", "1.20"),
        ("BC tt 12.00", "12.00"),
        ("BC tt=3x", "3x"),
        ("BC tt=+5", "+5"),
        ("BC tt1.2", "1.2"),
        ("BC tt=ba", "ba"),
    ],
)
def test_non_numeric_value(text: str, raw: str) -> None:
    problems = bad(text)
    assert kinds(problems) == ["not_number"]
    assert problems[0].params["raw"] == raw
    with use_language("vi"):
        assert f"«{raw}» không phải số nguyên" in problems[0].message()


@pytest.mark.parametrize("text", ["BC tt=-3", "BC tt -3", "BC tt=\u22123", "BC tt-3"])
def test_negative_value(text: str) -> None:
    problems = bad(text)
    assert kinds(problems) == ["negative"]
    with use_language("en"):
        assert "is negative" in problems[0].message()


@pytest.mark.parametrize("text", ["BC tt=100001", "BC tt=100.001", "BC tt=" + "9" * 60])
def test_value_above_max(text: str) -> None:
    problems = bad(text)
    assert kinds(problems) == ["too_large"]
    assert problems[0].params["max"] == 100000
    with use_language("en"):
        assert "above the maximum of 100000" in problems[0].message()
    with use_language("vi"):
        assert "vượt quá mức tối đa 100000" in problems[0].message()


def test_broken_constraint_names_both_labels_and_values() -> None:
    problems = bad("BC nd=50 nu=70")
    assert kinds(problems) == ["constraint"]
    with use_language("vi"):
        assert problems[0].message() == (
            "nu (Trong đó nữ) = 70 phải nhỏ hơn hoặc bằng nd (Lượt người tham dự) = 50. "
            "Hãy kiểm tra lại hai số này."
        )
    with use_language("en"):
        assert problems[0].message() == (
            "nu (Of whom women) = 70 must be at most nd (Participants) = 50. Check both numbers."
        )
    assert ok("BC nd=50 nu=50").values == {"nd": 50, "nu": 50}


@pytest.mark.parametrize("text", ["BC nd=1,200", "BC nd=1, 200", "BC nd 1 200"])
def test_comma_as_thousands_is_reported(text: str) -> None:
    problems = bad(text)
    assert kinds(problems) == ["orphan_value"]
    with use_language("en"):
        message = problems[0].message()
    assert "«200» has no code" in message
    assert "1.200 or 1200" in message


def test_orphan_number_without_thousands_hint() -> None:
    problems = bad("BC tt=3 45")
    assert kinds(problems) == ["orphan_value"]
    assert "joined" not in problems[0].params


@pytest.mark.parametrize("text", ["BC 7T tt=3", "BC 6T26 tt=3", "BC T6 tt=3", "BC 6T1800 tt=3"])
def test_unknown_period_token(text: str) -> None:
    problems = bad(text)
    assert kinds(problems) == ["unknown_period"]
    with use_language("en"):
        message = problems[0].message()
    assert "is not a report period" in message
    assert "N (Annual report 2026)" in message
    assert "6T (Six-month report 2027)" in message


def test_period_not_open_yet() -> None:
    for text in ("BC 6T2027 tt=3", "BC 6T tt=3"):
        problems = bad(text, NOV)
        assert kinds(problems) == ["period_not_open"]
        with use_language("vi"):
            message = problems[0].message()
        assert message.startswith("Báo cáo 6 tháng năm 2027 (hạn 15/06/2027) chưa mở")
        assert "16/12/2026" in message
        assert "BC N " in message  # points to the period open now
    assert kinds(bad("BC N tt=3", MAY)) == ["period_not_open"]


def test_locked_period_is_closed() -> None:
    problems = bad("BC 6T2026 tt=3", NOV)
    assert kinds(problems) == ["period_closed"]
    with use_language("en"):
        assert (
            problems[0]
            .message()
            .startswith("Six-month report 2026 (due 15/06/2026) is closed for reporting.")
        )
    assert ok("BC 6T2026 tt=3", date(2026, 7, 15)).period.id == "2026-6T"  # last late day
    assert kinds(bad("BC 6T2026 tt=3", date(2026, 7, 16))) == ["period_closed"]


def test_is_closed_overrides_the_calendar() -> None:
    def unlocked(period: Period) -> bool:
        return False

    def closed(period: Period) -> bool:
        return True

    report = parse_report("BC 6T2026 tt=3", IND, CAL, NOV, is_closed=unlocked)
    assert isinstance(report, ParsedReport)
    assert report.period.id == "2026-6T"
    problems = parse_report("BC tt=3", IND, CAL, NOV, is_closed=closed)
    assert isinstance(problems, list)
    assert kinds(problems) == ["period_closed"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BC", ["no_values"]),
        ("BC 6T", ["period_not_open", "no_values"]),
        ("BC N", ["no_values"]),
        ("BC !!!", ["unreadable", "no_values"]),
        ("BC N 200", ["orphan_value", "no_values"]),
        ("BC ??? tt=3", ["unreadable"]),
    ],
)
def test_no_pairs(text: str, expected: list[str]) -> None:
    assert kinds(bad(text)) == expected


@pytest.mark.parametrize("text", ["BC tt=3 N", "BC tt=3 6T2026 nd=4", "BC N tt=3 2026-N"])
def test_period_token_in_the_wrong_place(text: str) -> None:
    problems = bad(text)
    assert "period_misplaced" in kinds(problems)


def test_every_problem_is_reported_at_once() -> None:
    text = "BC 7T xy=1 tt=3 tt=4 nd=-5 nu=abc sp=1.2 th= hv=100001 vu=1,200 ?? ct"
    problems = bad(text)
    assert kinds(problems) == [
        "unknown_period",
        "unknown_code",
        "repeated_code",
        "negative",
        "not_number",
        "not_number",
        "missing_value",
        "orphan_value",
        "unreadable",
        "missing_value",
        "too_large",
    ]
    with use_language("vi"):
        rendered = format_problems(problems, limit=20)
    assert rendered.count("\n• ") == len(problems)


def test_constraint_and_max_reported_with_syntax_problems() -> None:
    assert kinds(bad("BC nd=50 nu=70 tt=x mh=200000")) == [
        "not_number",
        "too_large",
        "constraint",
    ]


def test_never_half_accepted() -> None:
    result = parse_report("BC tt=3 nd=120 nu=x", IND, CAL, NOV)
    assert isinstance(result, list)


# --- format_problems -----------------------------------------------------------------------


def test_format_problems_vi_and_en() -> None:
    problems = bad("BC xy=1 nd=50 nu=70")
    with use_language("vi"):
        text = format_problems(problems)
    lines = text.split("\n")
    assert lines[0] == "Báo cáo chưa được lưu. Vui lòng sửa các lỗi sau:"
    assert lines[1].startswith("• Không có mã «xy».")
    assert lines[2].startswith("• nu (Trong đó nữ) = 70")
    assert lines[-1] == "Ví dụ: BC 6T tt=3 nd=120 nu=70"
    with use_language("en"):
        text = format_problems(problems)
    assert text.split("\n")[0] == "The report was not saved. Please correct:"
    assert text.endswith("Example: BC 6T tt=3 nd=120 nu=70")


def test_format_problems_limit_and_example() -> None:
    problems = bad("BC " + " ".join(f"x{c}=1" for c in "abcdefghijklm"))
    assert len(problems) == 13
    with use_language("en"):
        text = format_problems(problems, limit=10, example=example_line(CAL, NOV))
    assert text.count("\n• ") == 10
    assert "…and 3 more problems." in text
    assert text.endswith("Example: BC N tt=3 nd=120 nu=70")
    with use_language("vi"):
        assert "…và 3 lỗi khác." in format_problems(problems)


def test_example_line_is_accepted_on_any_day() -> None:
    assert REPORT_EXAMPLE == "BC 6T tt=3 nd=120 nu=70"
    day = date(2025, 12, 1)
    while day < date(2028, 1, 1):
        assert isinstance(parse_report(example_line(CAL, day), IND, CAL, day), ParsedReport)
        day = day.fromordinal(day.toordinal() + 9)


# --- report_intent ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "báo cáo bạo lực gia đình ở đâu",
        "bao cao bao luc o dau",
        "tôi muốn báo cáo việc bị đánh",
        "Báo cáo vụ bạo lực ở xóm tôi",
        "bao cao nu bi danh",
        "báo cáo công an thế nào?",
        "báo cáo?",
        "bcd tt=3",
        "baocaoxyz",
        "xin chào",
        "tt=3 nd=5",
        "",
        "   ",
    ],
)
def test_intent_none_for_citizen_questions(text: str) -> None:
    assert report_intent(text) == "none"
    assert report_intent(text, calendar=CAL, indicators=IND) == "none"


@pytest.mark.parametrize(
    "text",
    [
        "BC",
        "bc",
        "/baocao",
        "/baocao@bdg_bot",
        "báo cáo",
        "Bao cao",
        "BC 6T",
        "bc n",
        "BC N2026",
        "BC 2026-6T",
        "BC 6T 2026",
        "BC:",
        "báo cáo 6T.",
    ],
)
def test_intent_start(text: str) -> None:
    assert report_intent(text) == "start"
    assert report_intent(text, calendar=CAL, indicators=IND) == "start"


@pytest.mark.parametrize(
    "text",
    [
        "BC tt=3",
        "bc 6T tt 3",
        "báo cáo tt3",
        "bao cao N, nd: 1.200",
        "/baocao hello",
        "/baocao@bot xin chào",
        "BC tt=ba",
        "BC tt: muoi",
        "báo cáo xy 5",
        "BC 7T",
        "BC 6T\ntt=3\nnd=120",
    ],
)
def test_intent_line(text: str) -> None:
    assert report_intent(text) == "line"
    assert report_intent(text, calendar=CAL, indicators=IND) == "line"


def test_intent_with_known_codes_only() -> None:
    # "xy: ..." looks like a code only when no indicator set is given.
    assert report_intent("BC xy: abc") == "line"
    assert report_intent("BC xy: abc", indicators=IND) == "none"


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200), st.dates(date(2000, 1, 1), date(2100, 12, 31)))
def test_arbitrary_text_after_bc_never_raises(tail: str, today: date) -> None:
    result = parse_report("BC " + tail, IND, CAL, today)
    assert isinstance(result, ParsedReport) or (isinstance(result, list) and result)
    if isinstance(result, list):
        assert all(isinstance(p, Problem) for p in result)
        for lang in ("vi", "en"):
            with use_language(lang):
                assert format_problems(result)
    report_intent("BC " + tail)
    report_intent(tail, calendar=CAL, indicators=IND)


_report_alphabet = st.sampled_from(list("BCbc6TtNn=:,; .\n0123456789-ndux"))


@settings(max_examples=300, deadline=None)
@given(st.text(_report_alphabet, max_size=60))
def test_report_like_noise_never_raises(tail: str) -> None:
    result = parse_report("BC " + tail, IND, CAL, NOV)
    assert isinstance(result, ParsedReport) or (isinstance(result, list) and result)


@st.composite
def report_lines(draw: st.DrawFn) -> tuple[str, dict[str, int]]:
    codes = draw(st.lists(st.sampled_from(IND.codes), unique=True, min_size=1))
    values = {code: draw(st.integers(0, 100000)) for code in codes}
    if "nu" in values and "nd" in values and values["nu"] > values["nd"]:
        values["nu"], values["nd"] = values["nd"], values["nu"]
    keyword = draw(st.sampled_from(["BC", "bc", "/baocao", "/baocao@bdg_bot", "báo cáo"]))
    parts = []
    for code, value in values.items():
        shown = draw(st.sampled_from([code, code.upper(), code.capitalize()]))
        between = draw(st.sampled_from(["=", ":", " ", " = ", ": ", ""]))
        number = f"{value:,}".replace(",", ".") if draw(st.booleans()) else str(value)
        parts.append(f"{shown}{between}{number}")
    pair_sep = draw(st.sampled_from([" ", ",", ";", "\n", " , ", " ;\n"]))
    return f"{keyword} N {pair_sep.join(parts)}", values


@settings(max_examples=300, deadline=None)
@given(report_lines())
def test_generated_valid_lines_round_trip(line_and_values: tuple[str, dict[str, int]]) -> None:
    line, values = line_and_values
    report = ok(line)
    assert report.values == values
    assert report.period.id == "2026-N"
    assert report_intent(line) == "line"


def test_indicator_set_from_data_is_reusable() -> None:
    data = {
        "indicators": [
            {"code": "ab", "label": {"vi": "A", "en": "A"}, "hint": {"vi": "h", "en": "h"}}
        ]
    }
    ind = IndicatorSet.from_data(data, Path("x.yaml"))
    assert ind.codes == ("ab",)
    assert ind.get("AB") is not None


def test_period_problem_for_the_guided_dialog() -> None:
    six_2026, six_2027 = CAL.period_of("6T", 2026), CAL.period_of("6T", 2027)
    assert period_problem(six_2026, CAL, MAY) is None
    assert period_problem(six_2026, CAL, JUNE_LATE) is None  # late still accepted
    closed = period_problem(six_2026, CAL, NOV)
    assert closed is not None and closed.kind == "period_closed"
    assert period_problem(six_2026, CAL, NOV, is_closed=lambda p: False) is None
    not_open = period_problem(six_2027, CAL, NOV)
    assert not_open is not None and not_open.kind == "period_not_open"
    with use_language("en"):
        assert not_open.message() == (
            "Six-month report 2027 (due 15/06/2027) is not open yet: it opens on 16/12/2026. "
            "Reports now go to Annual report 2026 (due 15/12/2026): write BC N followed by the "
            "figures."
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BC 6T", "2026-6T"),
        ("/baocao 2026-N", "2026-N"),
        ("báo cáo N 2026 tt=3", "2026-N"),
        ("BC", None),
        ("BC 7T", None),
        ("BC tt=3 6T", None),
    ],
)
def test_requested_period(text: str, expected: str | None) -> None:
    period = requested_period(text, CAL, MAY)
    assert (period.id if period else None) == expected


def test_message_with_missing_params_does_not_raise() -> None:
    with use_language("en"):
        message = Problem("period_not_open", {"period": "X"}).message()
    assert message.startswith("X is not open yet: it opens on …")
    assert Problem("no_such_kind").message() == "no_such_kind"
