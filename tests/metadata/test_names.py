import pytest

from tessera.metadata.names import (
    field_name_problems,
    object_name_problems,
    snake_case_from_label,
    workspace_slug_problems,
)


def codes(problems):
    return [p.code for p in problems]


@pytest.mark.parametrize("name", ["deal", "line_item", "x2", "case", "order", "user", "subscription", "type"])
def test_good_names(name):
    assert field_name_problems(name, ("api_name",)) == []
    assert object_name_problems(name, ("api_name",)) == []


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Deal", "NAME_NOT_SNAKE_CASE"),
        ("close date", "NAME_NOT_SNAKE_CASE"),
        ("deal__stage", "NAME_NOT_SNAKE_CASE"),
        ("_deal", "NAME_NOT_SNAKE_CASE"),
        ("deal_", "NAME_NOT_SNAKE_CASE"),
        ("2nd", "NAME_NOT_SNAKE_CASE"),
        ("select", "NAME_RESERVED"),
        ("null", "NAME_RESERVED"),
        ("edges", "NAME_RESERVED"),
        ("created_at", "NAME_RESERVED"),
        ("id", "NAME_RESERVED"),
        ("x" * 49, "NAME_LENGTH"),
        ("", "NAME_REQUIRED"),
        (None, "NAME_REQUIRED"),
    ],
)
def test_bad_field_names(name, code):
    problems = field_name_problems(name, ("input", "api_name"))
    assert codes(problems) == [code]
    assert problems[0].path == ("input", "api_name")


def test_snake_case_problems_suggest_a_name():
    (problem,) = field_name_problems("Close Date", ())
    assert "such as 'close_date'" in problem.message


def test_object_names():
    assert codes(object_name_problems("d", ())) == ["NAME_LENGTH"]
    assert codes(object_name_problems("x" * 41, ())) == ["NAME_LENGTH"]
    assert codes(object_name_problems("query", ())) == ["NAME_RESERVED"]
    (problem,) = object_name_problems("deal_connection", ())
    assert problem.code == "NAME_RESERVED" and "_connection" in problem.message


def test_workspace_slugs_may_be_sql_words():
    assert workspace_slug_problems("default") == []
    assert codes(workspace_slug_problems("Default")) == ["NAME_NOT_SNAKE_CASE"]


def test_snake_case_from_label():
    assert snake_case_from_label("Deal Stages") == "deal_stages"
    assert snake_case_from_label("  People & Co. ") == "people_co"
