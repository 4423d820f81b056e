"""Search: every comparator, field, ordering, tie-break, paging edge and error, over a fake state."""

from __future__ import annotations

import base64
import json

import pytest
from search_support import FakeState, mv, rm

from registry.domain.stages import Stage
from registry.errors import InvalidParameterValue, RegistryError
from registry.search import PagedList, parse_filter, search_model_versions, search_registered_models
from registry.search.evaluate import like_regex
from registry.search.nodes import And, Comparison, Or


def names(page):
    return [entity.name for entity in page]


def versions(page):
    return [(v.name, v.version) for v in page]


@pytest.fixture
def models_state() -> FakeState:
    return FakeState(
        models=[
            rm("churn-a", created=1, updated=50, tags={"team": "risk", "t1": "abc"}, description="first churn"),
            rm("churn-B", created=2, updated=40, tags={"team": "growth", "t1": "abcd", "my key": "v"}),
            rm("fraud", created=3, updated=40, tags={"a.b": "dotted"}, aliases={"champion": 2}),
            rm("Fraud_2", created=4, updated=10, description="Second fraud"),
            rm("it's", created=5, updated=5),
        ]
    )


@pytest.fixture
def versions_state() -> FakeState:
    return FakeState(
        versions=[
            mv("fraud", 1, created=10, updated=10, run_id="r1", source="s3://b/fraud/1", tags={"status": "passed"}),
            mv(
                "fraud",
                2,
                created=20,
                updated=60,
                run_id="r2",
                source="s3://b/fraud/2",
                tags={"status": "failed"},
                stage=Stage.PRODUCTION,
                aliases=["champion"],
                description="the good one",
            ),
            mv("fraud", 3, created=30, updated=60, run_id=None, source="models:/other/1", stage=Stage.STAGING),
            mv(
                "churn",
                1,
                created=15,
                updated=60,
                run_id="r1",
                source="s3://b/churn/1",
                tags={"status": "passed"},
                aliases=["a", "b"],
            ),
            mv("churn", 10, created=25, updated=25, run_id="R3", source="S3://b/churn/10", stage=Stage.ARCHIVED),
        ]
    )


# -- registered models: fields and comparators ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ["Fraud_2", "churn-B", "churn-a", "fraud", "it's"]),
        ("", ["Fraud_2", "churn-B", "churn-a", "fraud", "it's"]),
        ("   ", ["Fraud_2", "churn-B", "churn-a", "fraud", "it's"]),
        ("name = 'fraud'", ["fraud"]),
        ('name = "fraud"', ["fraud"]),
        ("attribute.name = 'fraud'", ["fraud"]),
        ("name != 'fraud'", ["Fraud_2", "churn-B", "churn-a", "it's"]),
        ("name LIKE 'churn-%'", ["churn-B", "churn-a"]),
        ("name LIKE 'Churn-%'", []),
        ("name ILIKE 'CHURN-%'", ["churn-B", "churn-a"]),
        ("name LIKE 'fraud'", ["fraud"]),
        ("name LIKE 'frau'", []),
        ("name LIKE '_raud'", ["fraud"]),
        ("name ILIKE '_raud%'", ["Fraud_2", "fraud"]),
        ("name LIKE '%\\_2'", []),  # no escape character, as in MLflow: the backslash is literal
        ("name IN ('fraud', 'nope', 'churn-a')", ["churn-a", "fraud"]),
        ("name in ('fraud',)", ["fraud"]),
        ("name NOT IN ('fraud', 'churn-a')", ["Fraud_2", "churn-B", "it's"]),
        ("name not in ('fraud')", ["Fraud_2", "churn-B", "churn-a", "it's"]),
        ('name = "it\'s"', ["it's"]),
        ("tags.team = 'risk'", ["churn-a"]),
        ("tag.team = 'risk'", ["churn-a"]),
        ("tags.team != 'risk'", ["churn-B"]),  # only models that have the tag
        ("tags.t1 LIKE 'ab%'", ["churn-B", "churn-a"]),
        ("tags.t1 ILIKE 'aB%'", ["churn-B", "churn-a"]),
        ("tags.t1 != 'abcd' and tags.t1 LIKE 'ab%'", ["churn-a"]),
        ("tags.T1 = 'abc'", []),
        ("tags.`my key` = 'v'", ["churn-B"]),
        ("tags.\"my key\" = 'v'", ["churn-B"]),
        ("tags.'my key' = 'v'", ["churn-B"]),
        ("tags.a.b = 'dotted'", ["fraud"]),
        ("tags.`a.b` = 'dotted'", ["fraud"]),
        ("tags.team IS NULL", ["Fraud_2", "fraud", "it's"]),
        ("tags.team IS NOT NULL", ["churn-B", "churn-a"]),
        ("tags.team is not null AND name LIKE '%a'", ["churn-a"]),
        ("name = 'fraud' OR tags.team = 'growth'", ["churn-B", "fraud"]),
        ("(name = 'fraud' OR name = 'it''s') AND name LIKE 'f%'", ["fraud"]),
        ("description = 'first churn'", ["churn-a"]),
        ("description ILIKE '%fraud%'", ["Fraud_2"]),
        ("description IS NULL", ["churn-B", "fraud", "it's"]),
        ("description != 'first churn'", ["Fraud_2"]),
        ("alias = 'champion'", ["fraud"]),
        ("aliases = 'champion'", ["fraud"]),
        ("alias IS NULL", ["Fraud_2", "churn-B", "churn-a", "it's"]),
        ("creation_timestamp >= 3", ["Fraud_2", "fraud", "it's"]),
        ("last_updated_timestamp < 40", ["Fraud_2", "it's"]),
    ],
)
def test_registered_model_filters(models_state, filter_string, expected):
    assert names(search_registered_models(models_state, filter_string)) == expected


def test_doubled_quotes_are_kept_verbatim_as_mlflow_does(models_state):
    # MLflow's parser ends the literal correctly but does not unescape it: 'it''s' means the text it''s.
    assert names(search_registered_models(models_state, "name = 'it''s'")) == []
    assert names(search_registered_models(models_state, 'name = "it\'s"')) == ["it's"]


# -- model versions: fields and comparators -------------------------------------------------------------------


ALL_VERSIONS_DEFAULT_ORDER = [("churn", 1), ("fraud", 3), ("fraud", 2), ("churn", 10), ("fraud", 1)]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ALL_VERSIONS_DEFAULT_ORDER),
        ("name = 'fraud'", [("fraud", 3), ("fraud", 2), ("fraud", 1)]),
        ("name != 'fraud'", [("churn", 1), ("churn", 10)]),
        ("name IN ('churn')", [("churn", 1), ("churn", 10)]),
        ("name NOT IN ('churn')", [("fraud", 3), ("fraud", 2), ("fraud", 1)]),
        ("name LIKE 'fr%'", [("fraud", 3), ("fraud", 2), ("fraud", 1)]),
        ("name ILIKE 'FR%'", [("fraud", 3), ("fraud", 2), ("fraud", 1)]),
        ("run_id = 'r1'", [("churn", 1), ("fraud", 1)]),
        ("run_id != 'r1'", [("fraud", 2), ("churn", 10)]),  # a version without a run id never matches !=
        ("run_id IN ('r1', 'r2')", [("churn", 1), ("fraud", 2), ("fraud", 1)]),
        ("run_id NOT IN ('r1')", [("fraud", 2), ("churn", 10)]),
        ("run_id LIKE 'r%'", [("churn", 1), ("fraud", 2), ("fraud", 1)]),
        ("run_id ILIKE 'r%'", [("churn", 1), ("fraud", 2), ("churn", 10), ("fraud", 1)]),
        ("run_id IS NULL", [("fraud", 3)]),
        ("source_path = 's3://b/fraud/1'", [("fraud", 1)]),
        ("source_path != 's3://b/fraud/1'", [("churn", 1), ("fraud", 3), ("fraud", 2), ("churn", 10)]),
        ("source_path LIKE 's3://%'", [("churn", 1), ("fraud", 2), ("fraud", 1)]),
        ("source_path ILIKE 's3://%'", [("churn", 1), ("fraud", 2), ("churn", 10), ("fraud", 1)]),
        ("version_number = 2", [("fraud", 2)]),
        ("version_number = '2'", [("fraud", 2)]),
        ("version_number = 02", [("fraud", 2)]),
        ("version_number != 1", [("fraud", 3), ("fraud", 2), ("churn", 10)]),
        ("version_number > 2", [("fraud", 3), ("churn", 10)]),
        ("version_number >= 2", [("fraud", 3), ("fraud", 2), ("churn", 10)]),
        ("version_number < 2", [("churn", 1), ("fraud", 1)]),
        ("version_number <= 2", [("churn", 1), ("fraud", 2), ("fraud", 1)]),
        ("version_number > -1 AND version_number < 3 AND name = 'fraud'", [("fraud", 2), ("fraud", 1)]),
        ("tags.status = 'passed'", [("churn", 1), ("fraud", 1)]),
        ("tags.status != 'passed'", [("fraud", 2)]),
        ("tags.status IS NULL", [("fraud", 3), ("churn", 10)]),
        ("name='fraud' and tags.status='passed'", [("fraud", 1)]),
        ("name='fraud' AnD tags.status='passed'", [("fraud", 1)]),
        ("current_stage = 'Production'", [("fraud", 2)]),
        ("stage = 'production'", [("fraud", 2)]),
        ("current_stage != 'None'", [("fraud", 3), ("fraud", 2), ("churn", 10)]),
        ("stage IN ('staging', 'PRODUCTION')", [("fraud", 3), ("fraud", 2)]),
        ("stage NOT IN ('None', 'Archived')", [("fraud", 3), ("fraud", 2)]),
        ("alias = 'champion'", [("fraud", 2)]),
        ("alias != 'champion'", [("churn", 1), ("fraud", 3), ("churn", 10), ("fraud", 1)]),
        ("alias IN ('b', 'champion')", [("churn", 1), ("fraud", 2)]),
        ("alias NOT IN ('b', 'champion')", [("fraud", 3), ("churn", 10), ("fraud", 1)]),
        ("alias LIKE 'cham%'", [("fraud", 2)]),
        ("alias ILIKE 'CHAM%'", [("fraud", 2)]),
        ("alias IS NOT NULL", [("churn", 1), ("fraud", 2)]),
        ("alias IS NULL", [("fraud", 3), ("churn", 10), ("fraud", 1)]),
        ("description = 'the good one'", [("fraud", 2)]),
        ("description IS NOT NULL", [("fraud", 2)]),
        ("creation_timestamp > 20", [("fraud", 3), ("churn", 10)]),
        ("last_updated_timestamp = 60", [("churn", 1), ("fraud", 3), ("fraud", 2)]),
        ("name = 'fraud' OR run_id = 'R3'", [("fraud", 3), ("fraud", 2), ("churn", 10), ("fraud", 1)]),
        (
            "(name = 'churn' OR name = 'fraud') AND (version_number = 1 OR version_number = 10)",
            [("churn", 1), ("churn", 10), ("fraud", 1)],
        ),
    ],
)
def test_model_version_filters(versions_state, filter_string, expected):
    assert versions(search_model_versions(versions_state, filter_string)) == expected


def test_like_regex_treats_everything_but_percent_and_underscore_literally():
    assert like_regex("a.c").fullmatch("a.c")
    assert not like_regex("a.c").fullmatch("abc")
    assert like_regex("a%c").fullmatch("a\nb\nc")
    assert like_regex("[x]*").fullmatch("[x]*")
    assert not like_regex("ab").fullmatch("abab")


def test_deleted_versions_never_appear(versions_state):
    versions_state.drop_version("fraud", 2)
    assert ("fraud", 2) not in versions(search_model_versions(versions_state))
    assert versions(search_model_versions(versions_state, "alias = 'champion'")) == []


def test_results_carry_their_aliases(versions_state):
    (champion,) = search_model_versions(versions_state, "alias = 'champion'")
    assert champion.aliases == ["champion"]


# -- what a search reads ---------------------------------------------------------------------------------------


def test_name_equality_only_reads_that_models_versions(versions_state):
    versions_state.reads.clear()
    search_model_versions(versions_state, "name = 'fraud' AND tags.status = 'passed'")
    assert versions_state.reads == [("model_versions", "fraud")]


def test_name_in_reads_only_the_named_models(versions_state):
    versions_state.reads.clear()
    search_model_versions(versions_state, "name IN ('churn', 'missing') AND version_number > 0")
    assert versions_state.reads == [("model_versions", "churn")]


def test_name_like_tests_names_before_reading_versions(versions_state):
    versions_state.reads.clear()
    search_model_versions(versions_state, "name LIKE 'ch%' OR name = 'nope'")
    assert versions_state.reads == [("names", None), ("model_versions", "churn")]


def test_contradictory_names_read_nothing(versions_state):
    versions_state.reads.clear()
    assert search_model_versions(versions_state, "name = 'fraud' AND name = 'churn'") == []
    assert versions_state.reads == []


def test_full_scan_sorts_everything_only_when_a_revision_is_searched_again(versions_state):
    versions_state.reads.clear()
    # The first search of a revision filters and sorts only the matches; the second builds the sorted list;
    # later ones reuse it.
    first = search_model_versions(versions_state, "tags.status = 'passed'")
    second = search_model_versions(versions_state, "tags.status = 'passed'")
    third = search_model_versions(versions_state, "tags.status = 'failed'")
    assert versions(first) == versions(second) == [("churn", 1), ("fraud", 1)]
    assert versions(third) == [("fraud", 2)]
    assert versions_state.reads.count(("all_model_versions", None)) == 2
    versions_state.put_version(mv("fraud", 4, created=99, tags={"status": "passed"}))
    assert versions(search_model_versions(versions_state, "tags.status = 'passed'"))[0] == ("fraud", 4)
    assert versions(search_model_versions(versions_state, "tags.status = 'passed'"))[0] == ("fraud", 4)
    assert versions(search_model_versions(versions_state, "tags.status = 'passed'"))[0] == ("fraud", 4)
    assert versions_state.reads.count(("all_model_versions", None)) == 4


def test_unfiltered_search_sorts_and_caches_at_once(versions_state):
    versions_state.reads.clear()
    search_model_versions(versions_state)
    search_model_versions(versions_state, "version_number > 0")
    assert versions_state.reads.count(("all_model_versions", None)) == 1


def test_state_without_seq_is_searched_without_a_cache(versions_state):
    class NoSeq:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            if name == "seq":
                raise AttributeError(name)
            return getattr(self.inner, name)

    state = NoSeq(versions_state)
    assert versions(search_model_versions(state, "version_number = 10")) == [("churn", 10)]
    versions_state.put_version(mv("churn", 11, created=1))
    assert versions(search_model_versions(state, "version_number > 10")) == [("churn", 11)]


# -- ordering ---------------------------------------------------------------------------------------------------


@pytest.fixture
def ties_state() -> FakeState:
    # MLflow's order_by test: MR1, MR2 updated at 1; MR3, MR4 at 2.
    return FakeState(
        models=[
            rm("MR3", created=2, updated=2),
            rm("MR1", created=1, updated=1),
            rm("MR4", created=2, updated=2),
            rm("MR2", created=1, updated=1),
        ]
    )


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, ["MR1", "MR2", "MR3", "MR4"]),
        ([], ["MR1", "MR2", "MR3", "MR4"]),
        (["name DESC"], ["MR4", "MR3", "MR2", "MR1"]),
        (["last_updated_timestamp ASC", "name DESC"], ["MR2", "MR1", "MR4", "MR3"]),
        (["timestamp ASC", "name   DESC"], ["MR2", "MR1", "MR4", "MR3"]),
        (["last_updated_timestamp DESC"], ["MR3", "MR4", "MR1", "MR2"]),  # tie-break: name ASC
        (["timestamp\tASC"], ["MR1", "MR2", "MR3", "MR4"]),
        (["timestamp\r\rASC"], ["MR1", "MR2", "MR3", "MR4"]),
        (["timestamp\nASC"], ["MR1", "MR2", "MR3", "MR4"]),
        (["timestamp  aSC"], ["MR1", "MR2", "MR3", "MR4"]),
        (["timestamp  deSc", "name deSc"], ["MR4", "MR3", "MR2", "MR1"]),
        (["timestamp"], ["MR1", "MR2", "MR3", "MR4"]),
        (["creation_timestamp DESC"], ["MR3", "MR4", "MR1", "MR2"]),
        (["`name` DESC"], ["MR4", "MR3", "MR2", "MR1"]),
        (["attribute.name DESC"], ["MR4", "MR3", "MR2", "MR1"]),
        ("name DESC", ["MR4", "MR3", "MR2", "MR1"]),  # one clause given as a string
    ],
)
def test_registered_model_order_by(ties_state, order_by, expected):
    assert names(search_registered_models(ties_state, order_by=order_by)) == expected


@pytest.fixture
def version_ties_state() -> FakeState:
    return FakeState(
        versions=[
            mv("b", 1, created=1, updated=5),
            mv("b", 2, created=2, updated=5),
            mv("a", 1, created=3, updated=5),
            mv("a", 2, created=1, updated=7),
            mv("c", 1, created=1, updated=1),
        ]
    )


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # default: last_updated_timestamp DESC, name ASC, version_number DESC
        (None, [("a", 2), ("a", 1), ("b", 2), ("b", 1), ("c", 1)]),
        (["name ASC"], [("a", 2), ("a", 1), ("b", 2), ("b", 1), ("c", 1)]),  # tie-break: version DESC
        (["name DESC"], [("c", 1), ("b", 2), ("b", 1), ("a", 2), ("a", 1)]),
        (["version_number ASC"], [("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 2)]),  # tie-break: name ASC
        (["version_number DESC", "name DESC"], [("b", 2), ("a", 2), ("c", 1), ("b", 1), ("a", 1)]),
        (["creation_timestamp ASC"], [("a", 2), ("b", 1), ("c", 1), ("b", 2), ("a", 1)]),
        (["last_updated_timestamp ASC"], [("c", 1), ("a", 1), ("b", 2), ("b", 1), ("a", 2)]),
        (["last_updated_timestamp ASC", "version_number ASC"], [("c", 1), ("a", 1), ("b", 1), ("b", 2), ("a", 2)]),
    ],
)
def test_model_version_order_by(version_ties_state, order_by, expected):
    assert versions(search_model_versions(version_ties_state, order_by=order_by)) == expected


def test_narrowed_and_full_scan_paths_order_alike(version_ties_state):
    for order_by in (None, ["name DESC"], ["version_number ASC"], ["creation_timestamp ASC"]):
        everything = versions(search_model_versions(version_ties_state, order_by=order_by))
        narrowed = versions(search_model_versions(version_ties_state, "name IN ('a', 'b', 'c')", order_by=order_by))
        scanned = versions(search_model_versions(version_ties_state, "version_number > 0", order_by=order_by))
        assert everything == narrowed == scanned


# -- paging -----------------------------------------------------------------------------------------------------


def many_models(count: int) -> FakeState:
    return FakeState(models=[rm(f"RM{i:03}", created=i, updated=i) for i in range(count)])


def collect(search, state, page_size, **kwargs):
    pages = []
    token = None
    while True:
        page = search(state, max_results=page_size, page_token=token, **kwargs)
        assert isinstance(page, PagedList)
        pages.append(page)
        token = page.token
        if token is None:
            return pages


def test_mlflow_pagination_flow():
    state = many_models(50)
    expected = [f"RM{i:03}" for i in range(50)]
    query = "name LIKE 'RM%'"
    page1 = search_registered_models(state, query, max_results=5)
    assert names(page1) == expected[0:5] and page1.token is not None
    page2 = search_registered_models(state, query, max_results=10, page_token=page1.token)
    assert names(page2) == expected[5:15] and page2.token is not None
    page3 = search_registered_models(state, query, max_results=20, page_token=page2.token)
    assert names(page3) == expected[15:35] and page3.token is not None
    page4 = search_registered_models(state, query, max_results=100, page_token=page3.token)
    assert names(page4) == expected[35:] and page4.token is None


def test_empty_result_has_no_token():
    state = many_models(3)
    page = search_registered_models(state, "name = 'nothing'")
    assert page == [] and page.token is None
    assert search_registered_models(FakeState()) == []


def test_exact_multiple_of_the_page_size_ends_without_an_empty_page():
    state = many_models(10)
    pages = collect(search_registered_models, state, 5)
    assert [len(p) for p in pages] == [5, 5]
    assert pages[-1].token is None
    scanned = collect(search_registered_models, state, 5, filter_string="creation_timestamp >= 0")
    assert [len(p) for p in scanned] == [5, 5]


def test_last_page_is_short():
    state = many_models(11)
    pages = collect(search_registered_models, state, 5)
    assert [len(p) for p in pages] == [5, 5, 1]


def test_one_page_exactly_full():
    state = many_models(5)
    page = search_registered_models(state, max_results=5)
    assert len(page) == 5 and page.token is None


def test_page_tokens_resume_after_the_last_entity_even_when_others_write_between_pages(version_ties_state):
    state = version_ties_state
    first = search_model_versions(state, max_results=2)
    assert versions(first) == [("a", 2), ("a", 1)]
    # Another writer deletes an entity already returned and adds one that sorts before the page boundary.
    state.drop_version("a", 2)
    state.put_version(mv("a", 3, created=9, updated=9))
    rest = search_model_versions(state, max_results=10, page_token=first.token)
    assert versions(rest) == [("b", 2), ("b", 1), ("c", 1)]


def test_empty_string_token_means_first_page():
    state = many_models(3)
    assert names(search_registered_models(state, page_token="")) == ["RM000", "RM001", "RM002"]


def test_paged_list_is_a_list_with_a_token():
    page = PagedList([1, 2], "t")
    assert page == [1, 2] and page.token == "t" and isinstance(page, list)
    assert "token='t'" in repr(page)


# -- errors -----------------------------------------------------------------------------------------------------


def error_of(call, *args, **kwargs) -> InvalidParameterValue:
    with pytest.raises(InvalidParameterValue) as info:
        call(*args, **kwargs)
    err = info.value
    assert err.error_code == "INVALID_PARAMETER_VALUE"
    return err


@pytest.mark.parametrize(
    ("filter_string", "message", "caret"),
    [
        ("nme = 'x'", "unknown attribute 'nme'", "^^^"),
        ("Name = 'x'", "attribute names are lower case", "^^^^"),
        ("name = x", "values must be quoted", "       ^"),
        ("name = 3", "expected a quoted string for 'name'", "       ^"),
        ("name = ", "expected a quoted value", "       ^"),
        ("name 'x'", "expected an operator", "     ^^^"),
        ("name == 'x'", "use '='", "     ^^"),
        ("name <> 'x'", "use '!='", "     ^^"),
        ("name > 'x'", "operator > cannot be used with 'name'", "     ^"),
        ("name IS NULL", "operator IS NULL cannot be used with 'name'", "     ^^^^^^^"),
        ("source_path IN ('a')", "operator IN cannot be used with 'source_path'", "            ^^"),
        ("version_number IN (1, 2)", "operator IN cannot be used with 'version_number'", "               ^^"),
        ("version_number LIKE '1%'", "operator LIKE cannot be used", "               ^^^^"),
        ("version_number = 'one'", "must be compared with an integer", "                 ^^^^^"),
        ("version_number = 1.5", "must be compared with an integer", "                 ^^^"),
        ("tags.k = 3", "expected a quoted string for 'k'", "         ^"),
        ("tags.k IN ('a')", "operator IN cannot be used with tag 'k'", "       ^^"),
        ("tags.k < 'a'", "operator < cannot be used with tag 'k'", "       ^"),
        ("tags. = 'a'", "expected a tag key", "    ^"),
        ("tags.a. = 'a'", "cannot end with '.'", "     ^^"),
        ("tags.my-key = 'a'", "unexpected character '-'", "       ^"),
        ("attr.name = 'x'", "unknown entity type 'attr'", "^^^^"),
        ("`tags`.a = 'x'", "expected a field", "^^^^^^"),
        ("name = 'x' AND", "expected a condition after 'AND'", "           ^^^"),
        ("AND name = 'x'", "unknown attribute 'AND'", "^^^"),
        ("name = 'x' name = 'y'", "expected AND, OR or the end", "           ^^^^"),
        ("name = 'x' AND AND name = 'y'", "unknown attribute 'AND'", "               ^^^"),
        ("name = 'x';", "unexpected character ';'", "          ^"),
        ("name = 'x", "unterminated quote", "       ^^"),
        ('name = "x', "unterminated double quote", "       ^^"),
        ("tags.`a = 'x'", "unterminated backtick", "     ^^^^^^^^"),
        ("(name = 'x'", "missing ')'", "           ^"),
        ("name = 'x')", "unbalanced ')'", "          ^"),
        ("()", "expected a field", " ^"),
        ("name IN ()", "the list is empty", "        ^^"),
        ("name IN ('a', 3)", "expected a quoted string in the list", "              ^"),
        ("name IN ('a' 'b')", "expected ',' or ')'", "             ^^^"),
        ("name IN 'a'", "expected a parenthesized list", "        ^^^"),
        ("name NOT 'a'", "expected IN after NOT", "         ^^^"),
        ("tags.k IS 'a'", "expected NULL or NOT NULL after IS", "          ^^^"),
        ("tags.k IS NOT 'a'", "expected NULL after IS NOT", "              ^^^"),
        ("stage = 'prod'", "'prod' is not a stage", "        ^^^^^^"),
        ("current_stage LIKE 'P%'", "operator LIKE cannot be used", "              ^^^^"),
        ("name = 'x' OR", "expected a condition after 'OR'", "           ^^"),
        ("NOT name = 'x'", "unknown attribute 'NOT'", "^^^"),
    ],
)
def test_filter_errors_point_at_the_offending_part(versions_state, filter_string, message, caret):
    err = error_of(search_model_versions, versions_state, filter_string)
    text = str(err)
    assert message in text
    lines = text.splitlines()
    assert lines[-2] == "    " + "".join(" " if c.isspace() else c for c in filter_string)
    assert lines[-1] == "    " + caret
    assert err.filter == filter_string and isinstance(err.position, int)


@pytest.mark.parametrize(
    "filter_string",
    ["run_id = 'x'", "source_path = 'x'", "version_number = 1", "stage = 'None'", "current_stage = 'None'"],
)
def test_version_only_fields_are_refused_for_registered_models(models_state, filter_string):
    assert "unknown attribute" in str(error_of(search_registered_models, models_state, filter_string))


def test_deep_nesting_is_an_error_not_a_recursion_error(versions_state):
    deep = "(" * 5000 + "name = 'x'" + ")" * 5000
    assert "nested deeper" in str(error_of(search_model_versions, versions_state, deep))
    assert search_model_versions(versions_state, "(" * 50 + "name = 'fraud'" + ")" * 50) != []


def test_filter_must_be_a_string(versions_state):
    assert "must be a string" in str(error_of(search_model_versions, versions_state, 42))


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        (["creation"], "Invalid order by key 'creation'"),
        (["name ASC", "last_updated_timestamp DESC blah"], "unexpected 'blah'"),
        (["name UP"], "expected ASC or DESC"),
        (["tags.x ASC"], "ordering by tags is not supported"),
        (["timestamp"], "Invalid order by key 'timestamp'"),  # the SQL store's alias is for models only
        (["run_id"], "Invalid order by key 'run_id'"),
        ([""], "the clause is empty"),
        (["name", "name DESC"], "duplicate fields"),
        (["version_number", "version_number"], "duplicate fields"),
        (["'name"], "unterminated quote"),
        ([3], "must be a list of strings"),
        (7, "must be a list of strings"),
    ],
)
def test_version_order_by_errors(versions_state, order_by, message):
    err = error_of(search_model_versions, versions_state, order_by=order_by)
    assert message in str(err)


@pytest.mark.parametrize(
    "order_by",
    [["timestamp", "last_updated_timestamp"], ["last_updated_timestamp ASC", "last_updated_timestamp DESC"]],
)
def test_registered_model_order_by_duplicates(models_state, order_by):
    assert "duplicate fields" in str(error_of(search_registered_models, models_state, order_by=order_by))


def test_registered_model_order_by_unknown_key_after_a_valid_one(models_state):
    err = error_of(search_registered_models, models_state, order_by=["name ASC", "version_number DESC"])
    assert "Invalid order by key 'version_number'" in str(err)
    assert str(err).splitlines()[-1] == "    ^^^^^^^^^^^^^^"


@pytest.mark.parametrize("max_results", [0, -1, 1.5, 1e15, "10", None, True])
def test_max_results_must_be_a_positive_int(models_state, versions_state, max_results):
    assert "max_results" in str(error_of(search_registered_models, models_state, max_results=max_results))
    assert "max_results" in str(error_of(search_model_versions, versions_state, max_results=max_results))


def test_max_results_limits(models_state, versions_state):
    assert len(search_registered_models(models_state, max_results=1000)) == 5
    assert "at most 1000" in str(error_of(search_registered_models, models_state, max_results=1001))
    assert len(search_model_versions(versions_state, max_results=200_000)) == 5
    assert "at most 200000" in str(error_of(search_model_versions, versions_state, max_results=200_001))


def forged(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("evilhax", "could not base64-decode"),
        ("!!!!", "could not base64-decode"),
        (base64.urlsafe_b64encode(b"\xff\xfe").decode(), "could not base64-decode"),
        (forged([1, 2]), "not a page token of this registry"),
        (forged({"offset": 5}), "not a page token of this registry"),
        (12, "expected a string"),
    ],
)
def test_malformed_page_tokens(models_state, token, message):
    assert message in str(error_of(search_registered_models, models_state, page_token=token))


def test_page_token_from_another_search_is_refused():
    state = many_models(10)
    token = search_registered_models(state, max_results=2).token
    assert token is not None
    for other in (
        {"filter_string": "name LIKE 'RM%'"},
        {"order_by": ["name DESC"]},
    ):
        err = error_of(search_registered_models, state, max_results=2, page_token=token, **other)
        assert "different filter_string or order_by" in str(err)
    # ... and a models token is not a versions token.
    assert "different" in str(error_of(search_model_versions, state, page_token=token))


def test_page_token_with_a_position_of_the_wrong_shape_is_refused():
    state = many_models(10)
    token = search_registered_models(state, max_results=2).token
    payload = json.loads(base64.urlsafe_b64decode(token))
    for after in ([1], [], None, ["RM001", 2], [True]):
        payload["after"] = after
        err = error_of(search_registered_models, state, max_results=2, page_token=forged(payload))
        assert "does not fit" in str(err)


def test_every_error_is_a_registry_error(versions_state):
    err = error_of(search_model_versions, versions_state, "name = ")
    assert isinstance(err, RegistryError) and isinstance(err, ValueError)


# -- the syntax tree --------------------------------------------------------------------------------------------


def test_parse_builds_a_frozen_tree_with_spans_and_caches_it():
    tree = parse_filter("name = 'a' OR (tags.k = 'v' AND version_number >= '3')", "model_versions")
    assert isinstance(tree, Or)
    first, second = tree.children
    assert isinstance(first, Comparison) and (first.start, first.end) == (0, 10)
    assert isinstance(second, And)
    number = second.children[1]
    assert number.value == 3 and number.field.key == "version_number"
    assert parse_filter("name = 'a' OR (tags.k = 'v' AND version_number >= '3')", "model_versions") is tree
    with pytest.raises(AttributeError):
        first.op = "!="  # type: ignore[misc]


def test_stage_values_are_canonicalized_in_the_tree():
    tree = parse_filter("stage IN ('production', 'STAGING')", "model_versions")
    assert isinstance(tree, Comparison) and tree.field.key == "current_stage"
    assert tree.value == ("Production", "Staging")
