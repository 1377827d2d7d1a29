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

# Queries and filters every engine (and every node) must answer with exactly the same articles.
SAME_ANSWERS: list[dict[str, str]] = [{"q": q} for q in SAME_MATCHES] + [
    {"q": "economy", "search_in": "title"},
    {"q": "economy", "search_in": "body"},
    {"q": "economy", "from": "2005-01-01", "to": "2005-01-31"},
    {"q": "film", "tag": "entertainment"},
    {"tag": "sport", "language": "en"},
    {"entity": "Tony Blair"},
    {"entity": "Tony Blair", "q": "election"},
    {"entity_type": "location", "q": "oil"},
    {"q": "economy", "source": "Reuters"},
    {"source": "The Guardian", "from": "2005-01-01", "to": "2005-06-30"},
    {"q": "election", "duplicates": "exclude"},
    {"tag": "politics", "duplicates": "exclude", "source": "Reuters"},
]
