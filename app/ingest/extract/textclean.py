"""Bytes to clean text: encoding detection, binary rejection, whitespace and line unwrapping."""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SNIFF_BYTES = 8192
# Western text saved by Windows or older sites is mostly ASCII with a few accented
# letters, pound signs or curly quotes; too few bytes for charset-normalizer to tell
# cp1252 from its Central European or DOS cousins, so it is recognised first.
_MAX_NON_ASCII_SHARE = 0.1
_MAX_CONTROL_SHARE = 0.01
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile("[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ENDS_CLAUSE = re.compile(r"""[.!?…:;]["'”’)\]]*$""")


class UndecodableText(ValueError):
    """Bytes that are not text in any encoding we can recognise (binary, or garbled)."""


def decode_article_bytes(data: bytes) -> str:
    """Decode a file's bytes: UTF-8 or a BOM first, then Western 8-bit, then charset-normalizer."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise UndecodableText("binary file (it contains NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode_legacy(data)
    if _control_share(text) > _MAX_CONTROL_SHARE:
        raise UndecodableText("binary file (it is full of control characters), not text")
    return text


def _decode_legacy(data: bytes) -> str:
    """Decode non-UTF-8 bytes: cp1252 when it reads as Western text, else the best guess."""
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _looks_western(western):
        return western
    best = from_bytes(data).best()
    if best is None:
        raise UndecodableText("binary file or unknown text encoding (no encoding fits its bytes)")
    return str(best)


def _looks_western(text: str) -> bool:
    """True for mostly-ASCII text whose other characters are printable (letters, quotes, £)."""
    non_ascii = [char for char in text if ord(char) > 127]
    if len(non_ascii) > _MAX_NON_ASCII_SHARE * max(len(text), 1):
        return False
    return all(unicodedata.category(char) != "Cc" for char in non_ascii)


def _control_share(text: str) -> float:
    """Share of control characters (other than tabs and newlines): high in binary files."""
    sample = text[:_SNIFF_BYTES]
    controls = sum(
        1 for char in sample if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS
    )
    return controls / max(len(sample), 1)


def normalise_line(line: str) -> str:
    """One line with invisible characters dropped and runs of spaces (incl. no-break) collapsed."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", line)).strip()


def text_lines(text: str) -> list[str]:
    """The text's non-blank lines, normalised, with hard-wrapped sentences joined back together.

    A line is joined to the one before it (in the same block) only when that one stops
    mid-clause and this one starts in lower case, so one-line paragraphs stay apart.
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines: list[str] = []
    previous_blank = True
    for raw in text.split("\n"):
        line = normalise_line(raw)
        if not line:
            previous_blank = True
            continue
        if not previous_blank and lines and _continues(lines[-1], line):
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
        previous_blank = False
    return lines


def _continues(previous: str, line: str) -> bool:
    """True when `line` carries on the sentence that `previous` broke off (a hard wrap)."""
    return line[0].islower() and not _ENDS_CLAUSE.search(previous)


# Sentence ends in any script: a Japanese or Chinese paragraph ends with 。！？, not ".".
_SENTENCE_END = re.compile(r"""[!?…。！？]["'”’」』)\]]*$""")


def ends_sentence(line: str) -> bool:
    """True when a line ends a sentence: a full stop (see below), or ! ? … 。！？ in any script."""
    return ends_with_full_stop(line) or bool(_SENTENCE_END.search(line.rstrip()))


def ends_with_full_stop(line: str) -> bool:
    """True when a line ends a sentence with a full stop (not an abbreviation such as `U.S.`)."""
    stripped = line.rstrip("\"'”’)] ")
    if not stripped.endswith(".") or stripped.endswith(".."):
        return False
    return not re.search(r"(?:\b[A-Z]\.){2,}$", stripped)
