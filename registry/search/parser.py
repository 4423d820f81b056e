"""The parser of the search language: tokens -> a checked, typed syntax tree (``registry.search.nodes``).

Grammar (keywords are case-insensitive; field names and tag keys are case-sensitive)::

    filter     := <empty> | or_expr
    or_expr    := and_expr ( OR and_expr )*                      OR is an extension
    and_expr   := primary ( AND primary )*
    primary    := "(" or_expr ")" | comparison                  parentheses are an extension
    comparison := field op value
                | field [NOT] IN "(" string ( "," string )* [","] ")"
                | field IS [NOT] NULL                            an extension
    field      := attribute | "attribute." attribute | ("tags" | "tag") "." key
    key        := word ( "." word )* | `backticked` | 'quoted' | "quoted"
    op         := = | != | < | <= | > | >= | LIKE | ILIKE
    value      := 'string' | "string" | integer

Which fields exist, and which operators each accepts, depends on what is searched (`FIELDS`). Every
filter MLflow accepts parses to the conditions MLflow evaluates; the extensions only give meaning to text
MLflow refuses. The few malformed strings MLflow's parser lets through (a dangling ``AND``, two conditions with
nothing between them) are refused here, with a caret at the spot.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

import attrs

from registry.domain.stages import Stage
from registry.errors import InvalidParameterValue
from registry.search.lexer import (
    BACKTICK,
    COMMA,
    DOT,
    END,
    LPAREN,
    NUMBER,
    OP,
    RPAREN,
    STRING,
    WORD,
    Token,
    located_error,
    tokenize,
)
from registry.search.nodes import And, Comparison, Field, Node, Or, Value

__all__ = ["FIELDS", "MODELS", "VERSIONS", "FieldSpec", "parse_filter"]

MODELS = "registered_models"
VERSIONS = "model_versions"

_STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
_LIST_OPS = frozenset({"IN", "NOT IN"})
_NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
_OP_ORDER = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL")

# Deep enough for any filter a person writes, shallow enough that recursion never reaches Python's limit.
MAX_NESTING = 64


@attrs.frozen
class FieldSpec:
    """A searchable field: its value type (``string``, ``number``, ``stage``, ``alias``, ``tag``) and operators."""

    type: str
    ops: frozenset[str]

    def op_list(self) -> str:
        return ", ".join(op for op in _OP_ORDER if op in self.ops)


_TAG = FieldSpec("tag", _STRING_OPS | _NULL_OPS)
_DESCRIPTION = FieldSpec("string", _STRING_OPS | _LIST_OPS | _NULL_OPS)
_ALIAS = FieldSpec("alias", _STRING_OPS | _LIST_OPS | _NULL_OPS)
_TIMESTAMP = FieldSpec("number", _NUMERIC_OPS)

#: The attributes each search accepts. MLflow's own: models ``name``; versions ``name``, ``run_id``,
#: ``source_path``, ``version_number``. The rest are extensions (timestamps, description, stage, aliases).
FIELDS: Mapping[str, Mapping[str, FieldSpec]] = {
    MODELS: {
        "name": FieldSpec("string", _STRING_OPS | _LIST_OPS),
        "description": _DESCRIPTION,
        "alias": _ALIAS,
        "creation_timestamp": _TIMESTAMP,
        "last_updated_timestamp": _TIMESTAMP,
    },
    VERSIONS: {
        "name": FieldSpec("string", _STRING_OPS | _LIST_OPS),
        "run_id": FieldSpec("string", _STRING_OPS | _LIST_OPS | _NULL_OPS),
        "source_path": FieldSpec("string", _STRING_OPS | _NULL_OPS),
        "version_number": FieldSpec("number", _NUMERIC_OPS),
        "current_stage": FieldSpec("stage", frozenset({"=", "!="}) | _LIST_OPS),
        "description": _DESCRIPTION,
        "alias": _ALIAS,
        "creation_timestamp": _TIMESTAMP,
        "last_updated_timestamp": _TIMESTAMP,
    },
}
_SYNONYMS = {"stage": "current_stage", "aliases": "alias"}
_TAG_PREFIXES = ("tags", "tag")
_INTEGER = re.compile(r"\s*-?\d+\s*")


def field_spec(kind: str, field: Field) -> FieldSpec:
    """The spec of a parsed field (tags share one)."""
    return _TAG if field.kind == "tag" else FIELDS[kind][field.key]


def parse_filter(filter_string: str | None, kind: str) -> Node | None:
    """Parse ``filter_string`` for a search of ``kind`` (`MODELS` or `VERSIONS`).

    Returns ``None`` for no filter (``None``, empty or blank), else the syntax tree. Results are cached on
    the string, so a repeated search does not parse again.

    Raises:
        InvalidParameterValue: for anything malformed, with the position and a caret line in the message.
    """
    if filter_string is None:
        return None
    if not isinstance(filter_string, str):
        raise InvalidParameterValue(
            f"filter_string must be a string such as \"name = 'my-model'\", not {type(filter_string).__name__}.",
            filter=filter_string,
        )
    if kind not in FIELDS:
        raise InvalidParameterValue(f"Unknown search kind {kind!r}: use {MODELS!r} or {VERSIONS!r}.")
    return _parse_cached(filter_string, kind)


@functools.lru_cache(maxsize=1024)
def _parse_cached(source: str, kind: str) -> Node | None:
    return _Parser(source, kind).parse()


class _Parser:
    """A recursive-descent parser over the token list (one instance per parse)."""

    def __init__(self, source: str, kind: str) -> None:
        self.source = source
        self.kind = kind
        self.fields = FIELDS[kind]
        self.tokens = tokenize(source)
        self.pos = 0
        self.depth = 0

    # -- helpers ----------------------------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != END:
            self.pos += 1
        return tok

    def error(self, what: str, start: int, end: int) -> InvalidParameterValue:
        return located_error(what, self.source, start, end)

    def error_at(self, what: str, tok: Token) -> InvalidParameterValue:
        return self.error(what, tok.start, tok.end)

    @staticmethod
    def describe(tok: Token) -> str:
        return "the end of the filter" if tok.kind == END else repr(tok.text)

    # -- grammar ----------------------------------------------------------------------------------------------

    def parse(self) -> Node | None:
        if self.tok.kind == END:
            return None
        node = self.or_expr()
        if self.tok.kind != END:
            if self.tok.kind == RPAREN:
                raise self.error_at("unbalanced ')' with no '(' before it", self.tok)
            raise self.error_at(
                f"expected AND, OR or the end of the filter after a condition, found {self.describe(self.tok)}",
                self.tok,
            )
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.tok.is_word("OR"):
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.primary()]
        while self.tok.is_word("AND"):
            self.advance()
            children.append(self.primary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == LPAREN:
            if self.depth >= MAX_NESTING:
                raise self.error_at(f"parentheses nested deeper than {MAX_NESTING} levels", tok)
            self.advance()
            self.depth += 1
            node = self.or_expr()
            self.depth -= 1
            if self.tok.kind != RPAREN:
                raise self.error(
                    f"missing ')' to close the '(' at position {tok.start + 1}; found {self.describe(self.tok)}",
                    self.tok.start,
                    self.tok.end,
                )
            self.advance()
            return node
        if tok.kind == END:
            previous = self.tokens[self.pos - 1] if self.pos else tok
            raise self.error(
                f"expected a condition after {previous.text!r}, but the filter ends there",
                previous.start,
                previous.end,
            )
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.field()
        spec = field_spec(self.kind, field)
        op_start = self.tok.start
        op = self.operator()
        op_end = self.tokens[self.pos - 1].end
        if op not in spec.ops:
            label = f"tag {field.key!r}" if field.kind == "tag" else f"{field.key!r}"
            raise self.error(
                f"operator {op} cannot be used with {label}; it accepts {spec.op_list()}", op_start, op_end
            )
        value: Value
        if op in _NULL_OPS:
            value = None
        elif op in _LIST_OPS:
            value = tuple(self.text_of(item, spec) for item in self.string_list())
        else:
            value = self.value(field, spec)
        return Comparison(field, op, value, field.start, self.tokens[self.pos - 1].end)

    def field(self) -> Field:
        tok = self.tok
        if tok.kind != WORD:
            raise self.error_at(
                f"expected a field such as name or tags.<key>, found {self.describe(tok)}; "
                f"searchable attributes are {', '.join(self.fields)}",
                tok,
            )
        self.advance()
        dot = self.tok
        if dot.kind == DOT and dot.start == tok.end:
            self.advance()
            if tok.text in _TAG_PREFIXES:
                key, end = self.tag_key(dot)
                return Field("tag", key, tok.start, end)
            if tok.text == "attribute":
                name_tok = self.tok
                if name_tok.kind != WORD or name_tok.start != dot.end:
                    raise self.error_at("expected an attribute name after 'attribute.'", name_tok)
                self.advance()
                return self.attribute(name_tok, tok.start)
            raise self.error(
                f"unknown entity type {tok.text!r}; use tags.<key> (or tag.<key>) for tags and a bare "
                f"attribute name (or attribute.<name>) for attributes",
                tok.start,
                tok.end,
            )
        return self.attribute(tok, tok.start)

    def attribute(self, tok: Token, start: int) -> Field:
        key = _SYNONYMS.get(tok.text, tok.text)
        if key not in self.fields:
            hint = ""
            if tok.text.lower() in self.fields or tok.text.lower() in _SYNONYMS:
                hint = f" (attribute names are lower case: {tok.text.lower()!r})"
            raise self.error(
                f"unknown attribute {tok.text!r}{hint}; searchable attributes are {', '.join(self.fields)} "
                f"and tags.<key>",
                start,
                tok.end,
            )
        return Field("attribute", key, start, tok.end)

    def tag_key(self, dot: Token) -> tuple[str, int]:
        first = self.tok
        if first.start != dot.end or first.kind not in (WORD, NUMBER, STRING, BACKTICK):
            raise self.error(
                "expected a tag key after 'tags.'; put keys with spaces or symbols in backticks: tags.`my key`",
                dot.start,
                dot.end,
            )
        self.advance()
        if first.kind in (STRING, BACKTICK):
            return first.text[1:-1], first.end
        # An unquoted key runs over adjacent words and dots, so tags.a.b is the key "a.b" (as in MLflow).
        end = first.end
        while self.tok.start == end and self.tok.kind in (WORD, NUMBER, DOT):
            end = self.advance().end
        key = self.source[first.start : end]
        if key.endswith("."):
            raise self.error("a tag key cannot end with '.'; quote it with backticks", first.start, end)
        return key, end

    def operator(self) -> str:
        tok = self.advance()
        if tok.kind == OP:
            if tok.text == "==":
                raise self.error_at("'==' is not an operator here; use '='", tok)
            if tok.text == "<>":
                raise self.error_at("'<>' is not an operator here; use '!='", tok)
            return tok.text
        if tok.is_word("LIKE", "ILIKE", "IN"):
            return tok.upper
        if tok.is_word("NOT"):
            nxt = self.advance()
            if nxt.is_word("IN"):
                return "NOT IN"
            raise self.error_at("expected IN after NOT (NOT is only used in NOT IN and IS NOT NULL)", nxt)
        if tok.is_word("IS"):
            nxt = self.advance()
            if nxt.is_word("NULL"):
                return "IS NULL"
            if nxt.is_word("NOT"):
                last = self.advance()
                if last.is_word("NULL"):
                    return "IS NOT NULL"
                raise self.error_at("expected NULL after IS NOT", last)
            raise self.error_at("expected NULL or NOT NULL after IS", nxt)
        raise self.error_at(
            f"expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL), found {self.describe(tok)}",
            tok,
        )

    def string_list(self) -> list[Token]:
        opener = self.advance()
        if opener.kind != LPAREN:
            raise self.error_at(
                f"expected a parenthesized list of quoted strings such as ('a', 'b'), found {self.describe(opener)}",
                opener,
            )
        items: list[Token] = []
        while True:
            tok = self.advance()
            if tok.kind == RPAREN and items:
                break
            if tok.kind == RPAREN:
                raise self.error("the list is empty; IN needs at least one quoted string", opener.start, tok.end)
            if tok.kind != STRING:
                raise self.error_at(f"expected a quoted string in the list, found {self.describe(tok)}", tok)
            items.append(tok)
            sep = self.advance()
            if sep.kind == RPAREN:
                break
            if sep.kind != COMMA:
                raise self.error_at(f"expected ',' or ')' in the list, found {self.describe(sep)}", sep)
            if self.tok.kind == RPAREN:  # a trailing comma, as in ('a',)
                self.advance()
                break
        return items

    def value(self, field: Field, spec: FieldSpec) -> Value:
        tok = self.advance()
        if spec.type == "number":
            if tok.kind == NUMBER and not any(c in tok.text for c in ".eE"):
                return int(tok.text)
            if tok.kind == STRING and _INTEGER.fullmatch(tok.text[1:-1]):
                return int(tok.text[1:-1])
            raise self.error_at(f"{field.key} must be compared with an integer, found {self.describe(tok)}", tok)
        if tok.kind == STRING:
            return self.text_of(tok, spec)
        if tok.kind == NUMBER:
            raise self.error_at(
                f"expected a quoted string for {field.key!r}, found the number {tok.text}; quote it: '{tok.text}'",
                tok,
            )
        if tok.kind in (WORD, BACKTICK):
            raise self.error_at(f"values must be quoted with ' or \"; found {self.describe(tok)}", tok)
        raise self.error_at(f"expected a quoted value, found {self.describe(tok)}", tok)

    def text_of(self, tok: Token, spec: FieldSpec) -> str:
        """The text of a quoted value: verbatim between the quotes, stage names canonicalized."""
        text = tok.text[1:-1]
        if spec.type == "stage":
            try:
                return Stage.parse(text).value
            except InvalidParameterValue:
                stages = ", ".join(repr(s.value) for s in Stage)
                raise self.error_at(f"{text!r} is not a stage; use one of {stages} (case-insensitive)", tok) from None
        return text
