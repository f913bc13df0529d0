"""Add Danish translations without racing anyone: `python scripts/translate.py FILE.json`.

FILE.json maps English msgids to Danish ({"Send for approval": "Send til godkendelse"}; a
plural is {"%(n)d alert": ["%(n)d advarsel", "%(n)d advarsler"]}). Under one file lock it
extracts the texts (as `make messages`), merges them into the Danish catalogue, sets the given
translations and recompiles, so two people (or helpers) translating at once never lose each
other's lines. Prints the msgids still untranslated.
"""

from __future__ import annotations

import fcntl
import json
import subprocess  # noqa: S404
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "app/translations/da/LC_MESSAGES/messages.po"
BIN = ROOT / ".venv/bin"


def main(path: str | None) -> None:
    given: dict[str, str | list[str]] = json.loads(Path(path).read_text()) if path else {}
    with open("/tmp/kompas-po.lock", "w") as lock:  # noqa: PTH123, S108 - a lock, not data
        fcntl.flock(lock, fcntl.LOCK_EX)
        make = ["make", "--no-print-directory", "-C", str(ROOT), "messages"]
        subprocess.run(make, check=True, capture_output=True)  # noqa: S603, S607
        with PO.open("rb") as handle:
            catalogue = read_po(handle, locale="da")
        for message in catalogue:
            key = message.id if isinstance(message.id, str) else message.id[0]
            if key in given:
                value = given[key]
                message.string = tuple(value) if isinstance(value, list) else value
                message.flags.discard("fuzzy")
        with PO.open("wb") as handle:
            write_po(handle, catalogue)
        compile_ = [str(BIN / "pybabel"), "compile", "-d", str(ROOT / "app/translations")]
        subprocess.run(compile_, check=True, capture_output=True)  # noqa: S603
        missing = [
            m.id for m in catalogue
            if m.id and not (m.string if isinstance(m.string, str) else all(m.string))
        ]  # fmt: skip
    for msgid in missing:
        print("untranslated:", msgid)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
