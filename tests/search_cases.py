"""Searches whose answers every engine must agree on, shared by the engine comparisons."""

# Words, phrases, prefixes, OR, NOT, accents, case, and punctuation inside words: every
# full-text engine (FTS5, tantivy, PostgreSQL) must find exactly the same articles for each.
SAME_MATCHES = [
    "blair",
    "BLAIR brown",
    '"prime minister"',
    '"gordon brown" -blair',
    "elect*",
    '"world cup"*',
    "chelsea OR arsenal",
    "(oil OR gas) prices",
    "tax NOT vat",
    "U.S.",
    "e-mail",
    "£1bn",
    "3.5%",
    "o'neill",
    "beyoncé",
    "café",
    "mp3",
    "don't",
]
