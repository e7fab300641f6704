"""The SQLite-flavoured SQL of the repositories, as the PostgreSQL backend rewrites it."""

from __future__ import annotations

import pytest

from bot.storage.postgres import translate


def test_question_marks_become_numbered_outside_literals() -> None:
    sql, names = translate("SELECT '?', \"a?\" FROM t WHERE a = ? AND b = 'it''s ?' AND c = ?")
    assert sql == "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b = 'it''s ?' AND c = $2"
    assert names is None


def test_named_parameters_keep_one_number_each_and_casts_stay() -> None:
    sql, names = translate("SELECT x::text FROM t WHERE a <= :now AND b > :now - :gap")
    assert sql == "SELECT x::text FROM t WHERE a <= $1 AND b > $1 - $2"
    assert names == ("now", "gap")


def test_json_functions() -> None:
    sql, _ = translate("SELECT 1 WHERE k IN (SELECT value FROM json_each(?))")
    assert sql == "SELECT 1 WHERE k IN (SELECT value FROM json_array_elements_text($1::json))"
    sql, names = translate("SELECT 1 WHERE c IN (SELECT value FROM json_each(:channels))")
    assert "json_array_elements_text($1::json)" in sql and names == ("channels",)
    sql, _ = translate("SELECT a FROM d WHERE json_extract(state, '$.mode') = 'confirm'")
    assert sql == "SELECT a FROM d WHERE (state::json ->> 'mode') = 'confirm'"


def test_mixing_both_parameter_styles_is_refused() -> None:
    with pytest.raises(ValueError, match="mixes"):
        translate("SELECT ? WHERE a = :a")
