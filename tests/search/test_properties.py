"""Search properties: fuzzed input raises only RegistryError; results agree with a naive oracle; paging is lossless.

The oracle is written here independently of the package: a random condition tree is generated as data,
rendered to filter text for the search, and evaluated directly (its own LIKE matcher, its own null rules,
its own sort) for the expected answer. So the parser, the evaluator, the name narrowing, the sorted-list cache
and the ordering are all checked against plain code that shares nothing with them.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_support import FakeState, mv, rm

from registry.domain.stages import Stage
from registry.errors import RegistryError
from registry.search import search_model_versions, search_registered_models

# -- random registries ------------------------------------------------------------------------------------------

NAMES = ["a", "A", "ab", "aB", "a_b", "a%b", "b.c", "x y", "é", "ba"]
TAG_KEYS = ["k", "K", "my key", "a.b"]
TEXTS = ["", "a", "A", "ab", "a_b", "a%b", "xa", "b'c", 'q"', "aa", "é"]
RUN_IDS = [None, "r1", "R1", "r2", "r_1"]
SOURCES = [None, "s3://a", "s3://A", "models:/a/1"]
ALIASES = ["champ", "prod", "Champ"]
DESCRIPTIONS = [None, "", "good", "Good one", "bad"]

tag_dicts = st.dictionaries(st.sampled_from(TAG_KEYS), st.sampled_from(TEXTS), max_size=3)
stamps = st.integers(0, 3)


@st.composite
def registries(draw: st.DrawFn) -> FakeState:
    model_names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=6))
    models = []
    versions = []
    for name in model_names:
        count = draw(st.integers(0, 4))
        aliases = draw(st.lists(st.sampled_from(ALIASES), unique=True, max_size=2)) if count else []
        alias_of = {alias: draw(st.integers(1, count)) for alias in aliases}
        models.append(
            rm(
                name,
                created=draw(stamps),
                updated=draw(stamps),
                tags=draw(tag_dicts),
                description=draw(st.sampled_from(DESCRIPTIONS)),
                aliases=alias_of,
            )
        )
        for number in range(1, count + 1):
            if draw(st.integers(0, 5)) == 0:
                continue  # a deleted version: absent from the state
            versions.append(
                mv(
                    name,
                    number,
                    created=draw(stamps),
                    updated=draw(stamps),
                    tags=draw(tag_dicts),
                    run_id=draw(st.sampled_from(RUN_IDS)),
                    source=draw(st.sampled_from(SOURCES)),
                    stage=draw(st.sampled_from(list(Stage))),
                    description=draw(st.sampled_from(DESCRIPTIONS)),
                    aliases=[a for a, n in alias_of.items() if n == number],
                )
            )
    return FakeState(models=models, versions=versions)


# -- random filters, as data ------------------------------------------------------------------------------------

STRING_OPS = ["=", "!=", "LIKE", "ILIKE"]
LIST_OPS = ["IN", "NOT IN"]
NUMERIC_OPS = ["=", "!=", "<", "<=", ">", ">="]
NULL_OPS = ["IS NULL", "IS NOT NULL"]
PATTERNS = [*TEXTS, "%", "a%", "%b", "_", "a_", "%a%", "A%", "_b%", "r%", "s3:%", "%.%", "%%"]

# field -> (attribute on the entity, operators, kind of value)
VERSION_FIELDS = {
    "name": ("name", STRING_OPS + LIST_OPS, "name"),
    "run_id": ("run_id", STRING_OPS + LIST_OPS + NULL_OPS, "run_id"),
    "source_path": ("source", STRING_OPS + NULL_OPS, "source"),
    "version_number": ("version", NUMERIC_OPS, "int"),
    "current_stage": ("current_stage", ["=", "!=", *LIST_OPS], "stage"),
    "description": ("description", STRING_OPS + LIST_OPS + NULL_OPS, "text"),
    "alias": ("aliases", STRING_OPS + LIST_OPS + NULL_OPS, "alias"),
    "creation_timestamp": ("creation_timestamp", NUMERIC_OPS, "int"),
    "last_updated_timestamp": ("last_updated_timestamp", NUMERIC_OPS, "int"),
}
MODEL_FIELDS = {
    key: VERSION_FIELDS[key] for key in ("name", "description", "alias", "creation_timestamp", "last_updated_timestamp")
}
SPELLINGS = {"current_stage": ["current_stage", "stage"], "alias": ["alias", "aliases"], "name": ["name"]}
VALUES = {
    "name": NAMES,
    "run_id": [r for r in RUN_IDS if r],
    "source": [s for s in SOURCES if s],
    "text": [d for d in DESCRIPTIONS if d is not None] + TEXTS,
    "alias": ALIASES,
    "tag": TEXTS,
}


def quote(text: str, draw: st.DrawFn) -> str:
    if "'" in text:
        return f'"{text}"'
    if '"' in text:
        return f"'{text}'"
    return draw(st.sampled_from([f"'{text}'", f'"{text}"']))


def keyword(word: str, draw: st.DrawFn) -> str:
    return draw(st.sampled_from([word, word.lower(), word.title()]))


@st.composite
def conditions(draw: st.DrawFn, fields: dict[str, tuple[str, list[str], str]]) -> tuple[tuple[Any, ...], str]:
    """A condition as (oracle data, filter text)."""
    if draw(st.booleans()):
        key = draw(st.sampled_from(TAG_KEYS))
        op = draw(st.sampled_from(STRING_OPS + NULL_OPS))
        prefix = draw(st.sampled_from(["tags.", "tag."]))
        if key in ("k", "K") or (key == "a.b" and draw(st.booleans())):
            spelled = prefix + key
        else:
            spelled = prefix + draw(st.sampled_from([f"`{key}`", f'"{key}"']))
        data: tuple[Any, ...] = ("tag", key, op, None)
        if op in NULL_OPS:
            text = f"{spelled} {' '.join(keyword(w, draw) for w in op.split())}"
        else:
            value = draw(st.sampled_from(PATTERNS if "LIKE" in op else VALUES["tag"]))
            data = ("tag", key, op, value)
            text = f"{spelled} {keyword(op, draw)} {quote(value, draw)}"
        return data, text
    field = draw(st.sampled_from(sorted(fields)))
    attribute, ops, value_kind = fields[field]
    op = draw(st.sampled_from(ops))
    spelled = draw(st.sampled_from(SPELLINGS.get(field, [field])))
    if field == "name" and draw(st.integers(0, 4)) == 0:
        spelled = "attribute.name"
    op_text = " ".join(keyword(w, draw) for w in op.split())
    if op in NULL_OPS:
        return (attribute, value_kind, op, None), f"{spelled} {op_text}"
    if value_kind == "int":
        number = draw(st.integers(-1, 5))
        text_value = draw(st.sampled_from([str(number), f"'{number}'"]))
        return (attribute, value_kind, op, number), f"{spelled} {op_text} {text_value}"
    if value_kind == "stage":
        pool = [s.value for s in Stage]
        if op in LIST_OPS:
            chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
            spelled_values = [draw(st.sampled_from([c, c.upper(), c.lower()])) for c in chosen]
            listed = ", ".join(quote(v, draw) for v in spelled_values)
            return (attribute, value_kind, op, tuple(chosen)), f"{spelled} {op_text} ({listed})"
        chosen_one = draw(st.sampled_from(pool))
        shown = draw(st.sampled_from([chosen_one, chosen_one.lower()]))
        return (attribute, value_kind, op, chosen_one), f"{spelled} {op_text} {quote(shown, draw)}"
    if op in LIST_OPS:
        chosen = draw(st.lists(st.sampled_from(VALUES[value_kind]), min_size=1, max_size=3))
        listed = ", ".join(quote(v, draw) for v in chosen)
        trailing = "," if draw(st.integers(0, 4)) == 0 else ""
        return (attribute, value_kind, op, tuple(chosen)), f"{spelled} {op_text} ({listed}{trailing})"
    value = draw(st.sampled_from(PATTERNS if "LIKE" in op else VALUES[value_kind]))
    return (attribute, value_kind, op, value), f"{spelled} {op_text} {quote(value, draw)}"


def trees(fields: dict[str, tuple[str, list[str], str]], *, extensions: bool = True) -> st.SearchStrategy[Any]:
    """A filter tree as (oracle data, filter text): conditions joined by AND (and, with extensions, OR)."""
    leaves = conditions(fields)
    if not extensions:
        return st.lists(leaves, min_size=1, max_size=4).map(
            lambda items: (("AND", [d for d, _ in items]), " AND ".join(t for _, t in items))
        )

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.tuples(st.sampled_from(["AND", "OR"]), st.lists(children, min_size=2, max_size=3)).map(
            lambda pair: ((pair[0], [d for d, _ in pair[1]]), f" {pair[0]} ".join(f"({t})" for _, t in pair[1]))
        )

    return st.recursive(leaves, extend, max_leaves=6)


# -- the oracle -------------------------------------------------------------------------------------------------


def like(text: str, pattern: str, fold: bool) -> bool:
    """SQL LIKE by recursion over the pattern (no regular expressions)."""
    if fold:
        text, pattern = text.lower(), pattern.lower()

    @functools.cache
    def match(i: int, j: int) -> bool:
        if j == len(pattern):
            return i == len(text)
        if pattern[j] == "%":
            return match(i, j + 1) or (i < len(text) and match(i + 1, j))
        if i == len(text):
            return False
        return (pattern[j] == "_" or pattern[j] == text[i]) and match(i + 1, j + 1)

    return match(0, 0)


def compare(value: Any, op: str, rhs: Any) -> bool:
    if op == "=":
        return value == rhs
    if op == "!=":
        return value != rhs
    if op == "<":
        return value < rhs
    if op == "<=":
        return value <= rhs
    if op == ">":
        return value > rhs
    if op == ">=":
        return value >= rhs
    if op == "LIKE":
        return like(value, rhs, False)
    if op == "ILIKE":
        return like(value, rhs, True)
    if op == "IN":
        return value in rhs
    assert op == "NOT IN"
    return value not in rhs


def oracle(node: Any, entity: Any) -> bool:
    if node[0] in ("AND", "OR"):
        results = [oracle(child, entity) for child in node[1]]
        return all(results) if node[0] == "AND" else any(results)
    if node[0] == "tag":
        _, key, op, value = node
        present = key in entity.tags
        if op == "IS NULL":
            return not present
        if op == "IS NOT NULL":
            return present
        return present and compare(entity.tags[key], op, value)
    attribute, kind, op, value = node
    actual = getattr(entity, attribute)
    if kind == "alias":
        held = set(actual)
        if op == "IS NULL":
            return not held
        if op == "IS NOT NULL":
            return bool(held)
        if op == "=":
            return value in held
        if op == "!=":
            return value not in held
        if op == "IN":
            return bool(held & set(value))
        if op == "NOT IN":
            return not held & set(value)
        return any(compare(alias, op, value) for alias in held)
    if op == "IS NULL":
        return actual is None
    if op == "IS NOT NULL":
        return actual is not None
    if actual is None:
        return False
    if kind == "stage":
        actual = str(actual)
    return compare(actual, op, value)


MODEL_ORDER_KEYS = {
    "name": "name",
    "creation_timestamp": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
    "timestamp": "last_updated_timestamp",
}
VERSION_ORDER_KEYS = {
    "name": "name",
    "version_number": "version",
    "creation_timestamp": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
}


@st.composite
def order_bys(draw: st.DrawFn, keys: dict[str, str]) -> list[str] | None:
    if draw(st.integers(0, 3)) == 0:
        return None
    chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique_by=lambda k: keys[k], max_size=3))
    return [f"{key}{draw(st.sampled_from(['', ' ASC', ' DESC', ' desc', '  asc']))}" for key in chosen]


def oracle_sort(entities: list[Any], order_by: list[str] | None, keys: dict[str, str], versions: bool) -> list[Any]:
    spec: list[tuple[str, bool]] = []
    for clause in order_by or []:
        parts = clause.split()
        spec.append((keys[parts[0]], len(parts) == 1 or parts[1].upper() == "ASC"))
    if not order_by and versions:
        spec = [("last_updated_timestamp", False), ("name", True), ("version", False)]
    named = {attribute for attribute, _ in spec}
    if "name" not in named:
        spec.append(("name", True))
    if versions and "version" not in named:
        spec.append(("version", False))

    def cmp(a: Any, b: Any) -> int:
        for attribute, ascending in spec:
            x, y = getattr(a, attribute), getattr(b, attribute)
            if x != y:
                return (-1 if x < y else 1) * (1 if ascending else -1)
        return 0

    return sorted(entities, key=functools.cmp_to_key(cmp))


def all_versions(state: FakeState) -> list[Any]:
    return [v for per_model in state.versions.values() for v in per_model.values()]


def key_of(entity: Any) -> tuple[str, int | None]:
    return (entity.name, getattr(entity, "version", None))


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(registries(), trees(VERSION_FIELDS), order_bys(VERSION_ORDER_KEYS))
def test_version_search_agrees_with_the_oracle(state, tree, order_by):
    data, text = tree
    expected = oracle_sort([v for v in all_versions(state) if oracle(data, v)], order_by, VERSION_ORDER_KEYS, True)
    for _ in range(3):  # the first search of a revision filters then sorts; later ones scan a sorted list
        got = search_model_versions(state, text, max_results=200_000, order_by=order_by)
        assert [key_of(v) for v in got] == [key_of(v) for v in expected], text
        assert got.token is None


@PROPERTY_SETTINGS
@given(registries(), trees(MODEL_FIELDS), order_bys(MODEL_ORDER_KEYS))
def test_model_search_agrees_with_the_oracle(state, tree, order_by):
    data, text = tree
    models = list(state.models.values())
    expected = oracle_sort([m for m in models if oracle(data, m)], order_by, MODEL_ORDER_KEYS, False)
    for _ in range(3):
        got = search_registered_models(state, text, max_results=1000, order_by=order_by)
        assert [m.name for m in got] == [m.name for m in expected], text


@PROPERTY_SETTINGS
@given(registries(), trees(VERSION_FIELDS, extensions=False), order_bys(VERSION_ORDER_KEYS), st.integers(1, 7))
def test_every_page_size_concatenates_to_the_unpaged_result(state, tree, order_by, page_size):
    _, text = tree
    text = None if page_size == 7 else text  # also page through the unfiltered (cached, sliced) path
    whole = search_model_versions(state, text, max_results=200_000, order_by=order_by)
    pages: list[Any] = []
    token = None
    for _ in range(len(whole) + 2):
        page = search_model_versions(state, text, max_results=page_size, order_by=order_by, page_token=token)
        assert len(page) <= page_size
        assert page or token is None, "only a first page may be empty"
        pages.extend(page)
        token = page.token
        if token is None:
            break
    assert [key_of(v) for v in pages] == [key_of(v) for v in whole]


@PROPERTY_SETTINGS
@given(registries(), trees(MODEL_FIELDS), order_bys(MODEL_ORDER_KEYS), st.integers(1, 4))
def test_model_pages_concatenate_to_the_unpaged_result(state, tree, order_by, page_size):
    _, text = tree
    whole = search_registered_models(state, text, max_results=1000, order_by=order_by)
    pages: list[Any] = []
    token = None
    while True:
        page = search_registered_models(state, text, max_results=page_size, order_by=order_by, page_token=token)
        pages.extend(page)
        token = page.token
        if token is None:
            break
    assert [m.name for m in pages] == [m.name for m in whole]


# -- fuzzing: nothing but RegistryError ---------------------------------------------------------------------

PIECES = [
    "name", "tags", "tag", ".", "k", "`k`", "`", "'", '"', "'x'", '"x"', "=", "!=", "<", ">=", "==", "<>",
    "LIKE", "ilike", "IN", "NOT", "IS", "NULL", "AND", "or", "(", ")", ",", "3", "-1", "1.5", "1e9",
    "version_number", "run_id", "source_path", "stage", "current_stage", "alias", "description", "attribute",
    "timestamp", "%", "_", "\\", ";", "\n", "\t", "é", "\x00", "99999999999999999999999",
]  # fmt: skip

fuzzed_filters = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join),
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
)
SMALL = FakeState(
    models=[rm("a", tags={"k": "x"}, aliases={"champ": 1})],
    versions=[mv("a", 1, tags={"k": "x"}, run_id="r", source="s", aliases=["champ"])],
)


@settings(max_examples=1500, deadline=None)
@given(fuzzed_filters)
def test_fuzzed_filters_raise_nothing_but_registry_errors(text):
    for search in (search_model_versions, search_registered_models):
        try:
            search(SMALL, text)
        except RegistryError as err:
            assert err.error_code == "INVALID_PARAMETER_VALUE"


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.text(max_size=20),
        st.lists(st.one_of(st.text(max_size=20), st.lists(st.sampled_from(PIECES), max_size=4).map(" ".join))),
        st.integers(),
    ),
    st.one_of(st.none(), st.text(max_size=30), st.binary(max_size=30).map(lambda b: b.hex()), st.integers()),
    st.one_of(st.integers(-2, 5), st.floats(allow_nan=True), st.text(max_size=3), st.none(), st.booleans()),
)
def test_fuzzed_order_by_tokens_and_sizes_raise_nothing_but_registry_errors(order_by, token, max_results):
    for search in (search_model_versions, search_registered_models):
        try:
            search(SMALL, None, max_results=max_results, order_by=order_by, page_token=token)
        except RegistryError as err:
            assert err.error_code == "INVALID_PARAMETER_VALUE"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_fuzzed_token_payloads_raise_nothing_but_registry_errors(payload):
    import base64

    token = base64.urlsafe_b64encode(payload).decode()
    try:
        search_model_versions(SMALL, page_token=token)
    except RegistryError as err:
        assert err.error_code == "INVALID_PARAMETER_VALUE"
