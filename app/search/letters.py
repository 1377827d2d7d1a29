"""Arabic-script letter folding: one spelling per word, whichever keyboard typed it.

Persian, Dari, Pashto, Urdu and Arabic share a script whose keyboards type different code
points for the same letter (Arabic ي and ك, Persian ی and ک), and writers add optional
vowel marks (harakat) and tatweel (ـ, a stretching stroke). Every engine compares words
after fold_letters(): documents before they are indexed (the FTS5 triggers, PostgreSQL's
generated tsvector and the tantivy sync use the same table, as SQL for the databases) and
queries before they are compiled. Stored text is never changed, so snippets show it as
written.

The zero-width non-joiner (U+200C) only stops two letters joining inside a word, and ingest
drops it from stored text (app/ingest/extract/textclean.py), so it is removed here too: می‌خواهد
and میخواهد are one word on every engine; می خواهد, with a space, is two other words.
"""

from __future__ import annotations

import re

# Each letter on the left is compared as the one on the right.
LETTER_VARIANTS = {
    "ي": "ی",  # Arabic yeh → Persian yeh
    "ى": "ی",  # alef maksura
    "ئ": "ی",  # yeh with hamza (decomposed, its hamza is a mark and removed anyway)
    "ك": "ک",  # Arabic kaf → Persian keheh
    "ة": "ه",  # teh marbuta
    "ۀ": "ه",  # heh with yeh above (Persian ezafe)
    "ہ": "ه",  # Urdu heh goal
    "ۂ": "ه",  # heh goal with hamza
    "ھ": "ه",  # heh doachashmee (Urdu aspiration; a single ه on other keyboards)
    "أ": "ا",  # alef with hamza above
    "إ": "ا",  # alef with hamza below
    "آ": "ا",  # alef with madda
    "ؤ": "و",  # waw with hamza
}
# Removed: tatweel, the harakat with shadda and sukun, madda and hamza marks U+064B–U+0655,
# superscript alef U+0670 and the zero-width non-joiner U+200C. The rarer Quranic and
# Kashmiri marks U+0656–U+065F are left: SQLite's parser takes no more than about 28 nested
# replace() calls (sqlite_fold), and the table has 27.
REMOVED = "\u0640" + "".join(chr(code) for code in range(0x064B, 0x0656)) + "\u0670\u200c"

_TABLE = str.maketrans({**LETTER_VARIANTS, **dict.fromkeys(REMOVED)})
# Looked for first: translate() maps character by character, and most text has none of these.
_FOLDED = re.compile(f"[{''.join(LETTER_VARIANTS)}{REMOVED}]")


def fold_letters(text: str) -> str:
    """`text` with Arabic-script letter variants unified and tatweel and harakat removed."""
    if text.isascii() or not _FOLDED.search(text):
        return text
    return text.translate(_TABLE)


def sqlite_fold(expression: str) -> str:
    """SQL folding the SQLite text `expression` as fold_letters does (SQLite has no translate)."""
    for variant, letter in LETTER_VARIANTS.items():
        expression = f"replace({expression}, '{variant}', '{letter}')"
    for mark in REMOVED:
        expression = f"replace({expression}, '{mark}', '')"
    return expression


def postgres_fold(expression: str) -> str:
    """SQL folding the PostgreSQL text `expression` as fold_letters does (translate() drops
    the characters it has no replacement for)."""
    variants = "".join(LETTER_VARIANTS)
    letters = "".join(LETTER_VARIANTS.values())
    return f"translate({expression}, '{variants}{REMOVED}', '{letters}')"


# A run of removed characters that is a whole word (a line of tatweel), not part of one.
_REMOVED_CHARACTER = re.compile(f"[{REMOVED}]")
_LONE_MARKS = re.compile(rf"(?<![^\W_])[{REMOVED}]+(?![^\W_{REMOVED}])")


def fold_letters_keeping_words(text: str) -> str:
    """fold_letters, except that a word made only of removed characters stays, so the
    folded text has the same words as `text`, one for one (for highlighting `text`)."""
    if text.isascii():
        return text
    if not _REMOVED_CHARACTER.search(text):
        # Nothing to keep (most text not in Arabic script): splitting on _LONE_MARKS, whose
        # lookbehind is tried at every character, cost ten times this search.
        return fold_letters(text)
    kept = _LONE_MARKS.split(text)
    lone = _LONE_MARKS.findall(text)
    return "".join(
        fold_letters(piece) + word for piece, word in zip(kept, [*lone, ""], strict=True)
    )
