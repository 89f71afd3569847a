"""Names that are not text. A POSIX file name is bytes; Python hands one that is not UTF-8 to us as a `str` holding
surrogates (`os.fsdecode(b"a\\xff")` is `"a\\udcff"`), which no UTF-8 encoder takes: not the exposition, not
SQLite, not a web page. One rule for all of them:

- shown (a label, a log line, a page): `label_text`, each byte that is not UTF-8 written as `\\xNN` - visible,
  stable (the same folder always gives the same label) and valid UTF-8;
- stored (the ledger): `to_db` / `from_db`, the name's exact bytes as an SQLite BLOB, read back as the same `str`,
  so a stored name still finds its folder. Text names are stored as text, as before.
"""

from __future__ import annotations

_ESCAPED = range(0xDC80, 0xDD00)  # the surrogates os.fsdecode makes of the bytes 0x80-0xFF
_SURROGATES = range(0xD800, 0xE000)


def is_text(name: str) -> bool:
    """Whether `name` encodes as UTF-8 (holds no surrogate)."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def label_text(name: str) -> str:
    """`name` as valid UTF-8 text: a byte that was not UTF-8 shows as `\\xNN`, any other lone surrogate as `\\uNNNN`;
    a name that is text is returned unchanged."""
    if is_text(name):
        return name
    out = []
    for ch in name:
        code = ord(ch)
        if code in _ESCAPED:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code in _SURROGATES:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def to_db(value: object) -> object:
    """An SQL parameter: a name that is not text becomes its bytes (a BLOB, compared byte for byte); a lone
    surrogate no file name can hold falls back to `label_text`. Everything else is passed as is."""
    if not isinstance(value, str) or is_text(value):
        return value
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return label_text(value)


def from_db(value: object) -> object:
    """A column read back: the BLOB of a name (the ledger stores no other) is that name's `str` again."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value
