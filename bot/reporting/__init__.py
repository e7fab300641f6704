"""Officers' activity reports: indicators, periods and the one-line report command.

Pure logic: nothing here does I/O except reading the two YAML files in `content/`.
"""

from bot.reporting.indicators import (
    Constraint,
    ContentError,
    Indicator,
    IndicatorSet,
    Problem,
    load_indicators,
)
from bot.reporting.parser import (
    REPORT_EXAMPLE,
    ParsedReport,
    example_line,
    format_problems,
    parse_report,
    period_problem,
    report_intent,
    requested_period,
)
from bot.reporting.periods import (
    Period,
    PeriodCalendar,
    PeriodKind,
    ReminderSettings,
    Status,
    load_calendar,
)

__all__ = [
    "REPORT_EXAMPLE",
    "Constraint",
    "ContentError",
    "Indicator",
    "IndicatorSet",
    "ParsedReport",
    "Period",
    "PeriodCalendar",
    "PeriodKind",
    "Problem",
    "ReminderSettings",
    "Status",
    "example_line",
    "format_problems",
    "load_calendar",
    "load_indicators",
    "parse_report",
    "period_problem",
    "report_intent",
    "requested_period",
]
