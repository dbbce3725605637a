"""The repositories' portable SQL in PostgreSQL's parameter style: names and marks become $n, text stays text."""

import pytest

from bot.db.postgres import _arguments, _count, describe, translate


def test_question_marks_become_numbered_parameters():
    assert translate("SELECT * FROM jobs WHERE id = ? AND state IN (?, ?)") == (
        "SELECT * FROM jobs WHERE id = $1 AND state IN ($2, $3)",
        None,
    )


def test_a_name_used_twice_is_one_parameter():
    text, names = translate("VALUES (:now, :now, :guild)")
    assert (text, names) == ("VALUES ($1, $1, $2)", ("now", "guild"))
    assert _arguments("VALUES (:now, :now, :guild)", {"guild": 7, "now": "t", "unused": 1})[1] == ["t", 7]


def test_quoted_text_casts_and_identifiers_are_left_alone():
    sql = "SELECT ':x?', \"odd:name\", '2026-01-01 10:00'::timestamptz, 'it''s ?' FROM t WHERE a = :a"
    text, names = translate(sql)
    assert text == "SELECT ':x?', \"odd:name\", '2026-01-01 10:00'::timestamptz, 'it''s ?' FROM t WHERE a = $1"
    assert names == ("a",)


def test_mixing_styles_is_refused():
    with pytest.raises(ValueError, match="mixes"):
        translate("SELECT :a, ?")


def test_row_counts_come_from_the_command_tag():
    assert [_count("UPDATE 3"), _count("INSERT 0 1"), _count("DELETE 0"), _count("CREATE TABLE")] == [3, 1, 0, -1]


def test_a_url_is_logged_without_its_password():
    assert describe("postgresql://tween:s3cret@db:5432/tween") == "postgresql://tween:***@db:5432/tween"
    assert describe("postgresql://tween@db/tween") == "postgresql://tween@db/tween"
