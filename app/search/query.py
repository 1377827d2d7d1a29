"""The search query language: parse what users type into `q`, then compile it for an engine.

User text never reaches SQLite FTS5 or PostgreSQL as typed: it is parsed into a small tree
and every word is quoted again by the compilers, so punctuation can not cause an engine error.

Syntax (matching ignores case and accents: `medvedev` finds "Medvédev"):

    putin biden          both words (AND is implied; writing AND is optional)
    "prime minister"     the exact phrase
    elect*               a word starting with "elect" (election, elected, ...)
    brexit OR eu         either word
    tax -vat             "tax" but not "vat"; also: tax NOT vat, -"value added"
    (oil OR gas) prices  parentheses group; NOT binds tightest, then AND, then OR,
                         so `a b OR c` means `(a b) OR c`
    U.S.  e-mail  IS-K   words with punctuation inside are searched as phrases:
                         "u s", "e mail", "is k"; a word of only punctuation is ignored

Operators are upper-case: lower-case `and`, `or`, `not` are plain words, and so is `near`
(NEAR is not an operator); to search for the word "or", write it in lower case or quoted.
A leading `-` excludes (`-5` excludes the number 5; quote it to search for it). A `*`
counts only at the end of a word or right after a closing quote (`"prime min"*`). Column
filters such as `title:x` are not syntax; the colon is punctuation. A quote left open runs
to the end of the query, so `"prime minister` works while typing. Parentheses must balance.

A query that can not be searched raises QuerySyntaxError with the character position of the
problem and a hint: an empty query, an operator with nothing on one side (`a OR`), an unclosed
or unmatched parenthesis, or a query (or OR alternative) that only excludes words (`-tax`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from app.search.letters import fold_letters

QUOTES = '"“”„'  # straight and typographic quotes, as pasted from articles
MAX_NESTING = 10  # deeper trees overflow the FTS5 expression parser (~30 levels of output)
# Defaults of settings.max_query_words and settings.max_query_prefixes.
MAX_WORDS = 32
MAX_PREFIXES = 8
_OPERATORS = ("AND", "OR", "NOT")
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LEXEME = re.compile(
    rf"(?P<paren>[()])|[{QUOTES}](?P<quoted>[^{QUOTES}]*)(?:[{QUOTES}]\*?)?|(?P<chunk>[^\s(){QUOTES}]+)"
)


class QuerySyntaxError(Exception):
    """A query that can not be searched; says where (0-based character offset, None for the
    query as a whole) and what to do."""

    def __init__(self, message: str, position: int | None, hint: str) -> None:
        where = "" if position is None else f" (at character {position})"
        super().__init__(f"{message}{where}: {hint}")
        self.message = message
        self.position = position
        self.hint = hint


@dataclass(frozen=True)
class Term:
    """One word; with prefix, any word starting with it."""

    text: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Words that must appear together in this order; with prefix, the last one is a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Not:
    """Excludes matches of `item`; only ever a member of an And with a positive sibling."""

    item: Query


@dataclass(frozen=True)
class And:
    """All positive items match and no Not item does."""

    items: tuple[Query | Not, ...]


@dataclass(frozen=True)
class Or:
    """At least one item matches."""

    items: tuple[Query, ...]


Query = Term | Phrase | And | Or


def split_words(text: str) -> list[str]:
    """Split text into words as FTS5's unicode61 tokenizer does: runs of letters and digits.

    Combining marks stay with their word and are NFC-composed, so a decomposed "é" stays one
    letter; a run of marks alone is not a word. Arabic-script words are folded as the index
    folds them (app/search/letters.py), so either keyboard's letters find both.
    """
    words: list[str] = []
    current: list[str] = []
    for char in fold_letters(text) + " ":
        if _is_word_char(char):
            current.append(char)
            continue
        if any(_is_word_char(c, marks=False) for c in current):
            words.append(unicodedata.normalize("NFC", "".join(current)))
        current = []
    return words


def _is_word_char(char: str, *, marks: bool = True) -> bool:
    """True for the characters unicode61 keeps in tokens (letters, digits, private use)."""
    category = unicodedata.category(char)
    return category[0] in ("LNM" if marks else "LN") or category == "Co"


@dataclass(frozen=True)
class _Token:
    """One lexical unit (WORD, NEG, AND, OR, "(" or ")"); a punctuation-only WORD has no node."""

    kind: str
    position: int
    text: str
    node: Term | Phrase | None = None


def _lex(text: str) -> Iterator[_Token]:
    """Cut the query into tokens; never fails (an open quote runs to the end)."""
    for match in _LEXEME.finditer(text):
        position, lexeme = match.start(), match.group()
        if match["paren"]:
            yield _Token(lexeme, position, lexeme)
        elif match["quoted"] is not None:
            node = _words_node(match["quoted"], prefix=lexeme.endswith("*"))
            yield _Token("WORD", position, lexeme, node)
        elif match["chunk"]:
            following = text[match.end() : match.end() + 1]
            yield from _lex_chunk(lexeme, position, following)


def _lex_chunk(chunk: str, position: int, following: str) -> Iterator[_Token]:
    """Tokens for a run of non-space characters: an operator, a negation, a word."""
    if chunk in _OPERATORS:
        yield _Token("NEG" if chunk == "NOT" else chunk, position, chunk)
    elif chunk.startswith("-") and (len(chunk) > 1 or (following and following in QUOTES + "(")):
        yield _Token("NEG", position, "-")
        if len(chunk) > 1:
            yield _Token("WORD", position + 1, chunk[1:], _word_node(chunk[1:]))
    else:
        yield _Token("WORD", position, chunk, _word_node(chunk))


def _word_node(chunk: str) -> Term | Phrase | None:
    """The node for an unquoted word; a trailing * makes it a prefix."""
    stripped = chunk.rstrip("*")
    return _words_node(stripped, prefix=len(stripped) < len(chunk))


def _words_node(text: str, prefix: bool) -> Term | Phrase | None:
    """A Term for one word, a Phrase for several, None when text has no words."""
    words = split_words(text)
    if not words:
        return None
    if len(words) == 1:
        return Term(words[0], prefix)
    return Phrase(tuple(words), prefix)


def parse_query(
    text: str,
    *,
    max_length: int = 1000,
    max_words: int = MAX_WORDS,
    max_prefixes: int = MAX_PREFIXES,
) -> Query:
    """Parse user search text into a Query tree, or raise QuerySyntaxError saying what to fix.

    The engines' work grows with the words and prefix* terms of a query (each prefix is
    expanded to every indexed word it starts, inside the engine where no time limit reaches),
    so both are bounded before any searching starts.
    """
    if len(text) > max_length:
        raise QuerySyntaxError(
            f"the query is longer than {max_length} characters",
            max_length,
            f"shorten the query to {max_length} characters or fewer",
        )
    tokens = list(_lex(text))
    _check_size(tokens, max_words, max_prefixes)
    return _Parser(tokens).parse()


def _check_size(tokens: Sequence[_Token], max_words: int, max_prefixes: int) -> None:
    """Raise at the first word past `max_words` or prefix past `max_prefixes`."""
    words = prefixes = 0
    for token in tokens:
        if token.node is None:
            continue
        words += 1 if isinstance(token.node, Term) else len(token.node.words)
        prefixes += token.node.prefix
        if words > max_words:
            raise QuerySyntaxError(
                f"the query has more than {max_words} words",
                token.position,
                f"search with at most {max_words} words (phrase words count one each)",
            )
        if prefixes > max_prefixes:
            raise QuerySyntaxError(
                f"the query has more than {max_prefixes} prefix* terms",
                token.position,
                f"use at most {max_prefixes} words ending in *, or write whole words",
            )


class _Parser:
    """Recursive descent over the tokens: or_expr := and_expr (OR and_expr)*,
    and_expr := [AND] unary..., unary := NEG* primary, primary := WORD | ( or_expr )."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.nesting = 0

    def peek(self) -> _Token | None:
        """The next token, or None at the end."""
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        """Consume and return the next token."""
        self.index += 1
        return self.tokens[self.index - 1]

    def at(self, *kinds: str) -> bool:
        """True when the next token is one of kinds ("END" stands for the end of the query)."""
        token = self.peek()
        return ("END" if token is None else token.kind) in kinds

    def expect_word_after(self, operator: _Token) -> None:
        """Raise unless something that can be matched follows the operator just taken."""
        if self.at("END", "OR", "AND", ")"):
            raise _missing_word(operator, "after")

    def parse(self) -> Query:
        """The whole query: one or_expr, every parenthesis matched, something positive."""
        node = self.parse_or()
        if self.at(")"):
            stray = self.take()
            raise QuerySyntaxError(
                "unmatched ')'",
                stray.position,
                f"remove the ')' at {stray.position} or add a '(' before it",
            )
        if node is None:
            raise QuerySyntaxError(
                "the query has no words to search for",
                0,
                "type at least one word of letters or digits",
            )
        start = self.tokens[0].position
        return _require_positive(
            node, start, "a query needs at least one word that is not excluded"
        )

    def parse_or(self) -> Query | Not | None:
        """Alternatives separated by OR; each must match something on its own."""
        if self.at("OR"):
            raise _missing_word(self.take(), "before")
        branches: list[tuple[Query | Not, int]] = []
        while True:
            start = self.peek()
            branch = self.parse_and()
            if branch is not None and start is not None:
                branches.append((branch, start.position))
            if not self.at("OR"):
                break
            self.expect_word_after(self.take())
        if len(branches) <= 1:
            return branches[0][0] if branches else None
        hint = "an OR alternative needs a word that is not excluded: add one, or remove the OR"
        items: list[Query] = []
        for branch, position in branches:
            checked = _require_positive(branch, position, hint)
            items.extend(checked.items if isinstance(checked, Or) else [checked])
        # A repeated alternative or item matches nothing more, but FTS5 scores each copy.
        unique = tuple(dict.fromkeys(items))
        return unique[0] if len(unique) == 1 else Or(unique)

    def parse_and(self) -> Query | Not | None:
        """Items that must all match, joined by spaces or AND; groups are merged in."""
        items: list[Query | Not] = []
        seen_item = False
        while not self.at("END", "OR", ")"):
            if self.at("AND"):
                operator = self.take()
                if not seen_item:
                    raise _missing_word(operator, "before")
                self.expect_word_after(operator)
                continue
            node = self.parse_unary()
            seen_item = True
            if isinstance(node, And):
                items.extend(node.items)
            elif node is not None:
                items.append(node)
        unique = tuple(dict.fromkeys(items))
        if len(unique) <= 1:
            return unique[0] if unique else None
        return And(unique)

    def parse_unary(self) -> Query | Not | None:
        """A primary after any number of NOT or '-'; two negations cancel out."""
        negations: list[_Token] = []
        while self.at("NEG"):
            negations.append(self.take())
            self.expect_word_after(negations[-1])
        node = self.parse_primary()
        if node is None or len(negations) % 2 == 0:
            return node
        if isinstance(node, Not):
            return node.item
        hint = "put a word that is not excluded inside the excluded parentheses"
        return Not(_require_positive(node, negations[0].position, hint))

    def parse_primary(self) -> Query | Not | None:
        """A word, a phrase or a parenthesised group (None for a word of only punctuation)."""
        token = self.take()  # callers stop at END, OR, AND and ")", so this is a WORD or "("
        if token.kind == "WORD":
            return token.node
        if self.nesting >= MAX_NESTING:
            hint = f"use at most {MAX_NESTING} levels of parentheses"
            raise QuerySyntaxError("too many nested parentheses", token.position, hint)
        if self.at(")"):
            hint = "put a word inside the parentheses or remove them"
            raise QuerySyntaxError("empty parentheses", token.position, hint)
        self.nesting += 1
        node = self.parse_or()
        self.nesting -= 1
        if not self.at(")"):
            hint = f"close the parenthesis opened at {token.position}"
            raise QuerySyntaxError("unclosed parenthesis", token.position, hint)
        self.take()
        return node


def _missing_word(operator: _Token, side: str) -> QuerySyntaxError:
    """The error for an operator with nothing to apply to on one side."""
    hint = f"put a word {side} {operator.text}"
    if operator.text in _OPERATORS:
        hint += f", or write {operator.text.lower()} in lower case to search for the word"
    return QuerySyntaxError(f"{operator.text} needs a word {side} it", operator.position, hint)


def _require_positive(node: Query | Not, position: int, hint: str) -> Query:
    """Node itself when it matches something on its own; FTS5's NOT needs a left-hand side."""
    if isinstance(node, Not) or (
        isinstance(node, And) and all(isinstance(item, Not) for item in node.items)
    ):
        raise QuerySyntaxError("nothing to match: only excluded words", position, hint)
    return node


def to_fts5(query: Query, columns: Sequence[str] | None = None) -> str:
    """A safe FTS5 MATCH expression; with columns, only those columns are searched."""
    expression = _fts5(query)
    if columns is None:
        return expression
    if not columns or not all(_COLUMN_NAME.fullmatch(name) for name in columns):
        raise ValueError(f"columns must be a non-empty list of plain column names: {columns!r}")
    return f"{{{' '.join(columns)}}} : ({expression})"


def _fts5(node: Query) -> str:
    """FTS5 text for a node; every word is a double-quoted string, so nothing is syntax."""
    if isinstance(node, Term | Phrase):
        text = node.text if isinstance(node, Term) else " ".join(node.words)
        return '"' + text.replace('"', '""') + '"' + ("*" if node.prefix else "")
    if isinstance(node, Or):
        return " OR ".join(_fts5_operand(item) for item in node.items)
    positives = [item for item in node.items if not isinstance(item, Not)]
    expression = " AND ".join(_fts5_operand(item) for item in positives)
    if len(positives) > 1 and len(positives) < len(node.items):
        expression = f"({expression})"
    # FTS5's NOT is binary and left-associative: (a AND b) NOT c NOT d.
    for item in node.items:
        if isinstance(item, Not):
            expression += " NOT " + _fts5_operand(item.item)
    return expression


def _fts5_operand(node: Query) -> str:
    """FTS5 text for a node used inside an operator: compound nodes get parentheses."""
    return f"({_fts5(node)})" if isinstance(node, And | Or) else _fts5(node)


def to_tsquery(query: Query) -> str:
    """PostgreSQL tsquery text (pass as a bind parameter to to_tsquery); lexemes lower-cased."""
    if isinstance(query, Term):
        return _lexeme(query.text) + (":*" if query.prefix else "")
    if isinstance(query, Phrase):
        lexemes = [_lexeme(word) for word in query.words]
        return " <-> ".join(lexemes) + (":*" if query.prefix else "")
    if isinstance(query, Or):
        return " | ".join(_tsquery_operand(item) for item in query.items)
    return " & ".join(
        "!" + _tsquery_operand(item.item) if isinstance(item, Not) else _tsquery_operand(item)
        for item in query.items
    )


def _lexeme(word: str) -> str:
    """A single-quoted tsquery lexeme; quotes and backslashes doubled, as tsquery requires."""
    return "'" + word.lower().replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery_operand(node: Query) -> str:
    """tsquery text for a node inside an operator: phrases and compounds get parentheses."""
    compound = isinstance(node, And | Or) or (isinstance(node, Phrase) and len(node.words) > 1)
    return f"({to_tsquery(node)})" if compound else to_tsquery(node)


def query_terms(query: Query) -> list[str]:
    """The words and phrases a match contains (not the excluded ones), for highlighting."""
    if isinstance(query, Term):
        return [query.text]
    if isinstance(query, Phrase):
        return [" ".join(query.words)]
    terms: list[str] = []
    for item in query.items:
        if not isinstance(item, Not):
            terms.extend(term for term in query_terms(item) if term not in terms)
    return terms
