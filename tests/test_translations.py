"""Danish is the default language: every text in the code must have its Danish translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "_nl": (1, 2)}  # fmt: skip


def _searched(path: str) -> bool:
    """As `make messages` (--ignore-dirs): babel's default would skip `templates/_macros`."""
    name = Path(path).name
    return not name.startswith(".") and name != "__pycache__"


def test_every_text_has_a_danish_translation() -> None:
    with (ROOT / "app/translations/da/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale="da")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue
        if m.id and m.string and not m.fuzzy and all(m.string if isinstance(m.string, tuple)
                                                    else [m.string])
    }  # fmt: skip
    missing = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT / "app", METHODS, keywords=KEYWORDS, directory_filter=_searched
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid and msgid not in translated:
            missing.add(msgid)
    assert missing == set(), "run `make messages` and translate these in the Danish .po"
