"""The lexer of the search language: text -> tokens with their spans, and errors that point at the bad part.

Token kinds:

======== =====================================================================================================
WORD     a run of word characters (``name``, ``tags``, ``AND``, ``1abc``); keywords are words the parser
         recognizes case-insensitively, so a tag key may be spelled like a keyword
NUMBER   an integer or decimal literal, optionally negative (``3``, ``-3``, ``2.5``, ``1e3``)
STRING   a value in single or double quotes. As in MLflow, the text between the outer quotes is taken verbatim:
         a doubled quote or a backslash-quote keeps the literal from ending, but is not unescaped
BACKTICK a tag key in backticks (```my key```)
OP       ``= != <> == < <= > >=`` (the parser refuses ``<>`` and ``==`` with a hint, as MLflow does)
LPAREN, RPAREN, COMMA, DOT, END
======== =====================================================================================================
"""

from __future__ import annotations

import re
from typing import Final

import attrs

from registry.errors import InvalidParameterValue

__all__ = ["Token", "located_error", "tokenize"]

WORD: Final = "WORD"
NUMBER: Final = "NUMBER"
STRING: Final = "STRING"
BACKTICK: Final = "BACKTICK"
OP: Final = "OP"
LPAREN: Final = "LPAREN"
RPAREN: Final = "RPAREN"
COMMA: Final = "COMMA"
DOT: Final = "DOT"
END: Final = "END"

# One alternation, tried in order at each position. The quoted-literal patterns are the ones SQL lexers use
# (MLflow's sqlparse among them), so a literal ends exactly where it ends for MLflow.
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<STRING>'(?:''|\\'|[^'])*'|"(?:""|\\"|[^"])*")
  | (?P<BACKTICK>`[^`]*`)
  | (?P<NUMBER>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?!\w))
  | (?P<WORD>\w+)
  | (?P<OP><=|>=|!=|<>|==|=|<|>)
  | (?P<LPAREN>\()
  | (?P<RPAREN>\))
  | (?P<COMMA>,)
  | (?P<DOT>\.)
    """,
    re.VERBOSE,
)


@attrs.frozen(slots=True)
class Token:
    """One token: its kind, its source text and its span ``[start, end)`` in the input."""

    kind: str
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        """The text in upper case (how keywords are compared)."""
        return self.text.upper()

    def is_word(self, *words: str) -> bool:
        """Whether this is a WORD equal to one of ``words``, ignoring case."""
        return self.kind == WORD and self.text.upper() in words


def located_error(what: str, source: str, start: int, end: int, *, subject: str = "filter") -> InvalidParameterValue:
    """An `InvalidParameterValue` whose message shows ``source`` with a caret under ``[start, end)``.

    Control characters in ``source`` are shown as spaces so that the caret line stays aligned.
    """
    shown = "".join(" " if (c.isspace() or not c.isprintable()) else c for c in source)
    end = max(end, start + 1)
    caret = " " * start + "^" * (end - start)
    message = f"Invalid {subject} {source!r}: {what} (at position {start + 1}).\n    {shown}\n    {caret}"
    return InvalidParameterValue(message, **{subject.replace(" ", "_"): source, "position": start})


def tokenize(source: str, *, subject: str = "filter") -> tuple[Token, ...]:
    """Split ``source`` into tokens, ending with an ``END`` token at ``len(source)``.

    Raises:
        InvalidParameterValue: on an unterminated quote or backtick, or a character the language has no use
            for; the message points at it.
    """
    tokens: list[Token] = []
    pos = 0
    length = len(source)
    while pos < length:
        match = _TOKEN_RE.match(source, pos)
        if match is None:
            char = source[pos]
            if char in "'\"`":
                closer = {"'": "quote", '"': "double quote", "`": "backtick"}[char]
                raise located_error(
                    f"unterminated {closer}; close the value with a matching {char}",
                    source,
                    pos,
                    length,
                    subject=subject,
                )
            raise located_error(f"unexpected character {char!r}", source, pos, pos + 1, subject=subject)
        kind = match.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos, match.end()))
        pos = match.end()
    tokens.append(Token(END, "", length, length))
    return tuple(tokens)
