"""Recognising a results file's layout from a bounded sample, and guessing its mapping.

Pure Python. The sample is the header and the first rows of each sheet; nothing here reads a
whole file. Header words are matched in Danish and English after normalising case, spacing
and punctuation ("Antal besvarelser:" and "antal_besvarelser" are the same word).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.domain import file_limits
from app.domain.importing_read import UnreadableFile, UnreadableRow
from app.domain.mapping_read import (
    MAX_TITLE_ROWS,
    SheetRows,
    check_cells,
    read_sheets,
    row_problem,
)
from app.domain.mapping_types import (
    CELL_REF,
    MAX_OPTIONS,
    Mapping,
    QuestionColumns,
    RespondentLevelFile,
    Sample,
    Sheet,
)
from app.domain.references import NotANumber, parse_danish_number

MAX_SAMPLE_ROWS = 200
MAX_SAMPLE_SHEETS = 50


def norm(text: str) -> str:
    """A header or label as compared: case, spacing and punctuation aside."""
    text = text.replace("\ufeff", "").replace("\u00a0", " ").casefold()
    text = re.sub(r"[_\-:./()\[\]#]+", " ", text)
    return " ".join(text.split())


def _words(*texts: str) -> frozenset[str]:
    return frozenset(norm(text) for text in texts)


ROLE_WORDS: dict[str, frozenset[str]] = {
    "unit_id": _words(
        "unit_id", "unit", "unit code", "enhed", "enhed id", "enheds-id", "enhedsid",
        "enhedskode", "enhedsnummer", "enhed nr", "enhedsnr", "afdeling", "afdelings-id",
        "afdelingskode", "afdelingsnummer", "afdeling nr", "klasse", "klasse-id", "hold",
        "team", "arbejdsplads", "department", "department id", "class", "organisationsenhed",
        "org. enhed", "institution", "institutionsnummer", "skole",
    ),
    "unit_name": _words(
        "unit_name", "unit name", "enhedsnavn", "enheds navn", "enhed navn", "navn på enhed",
        "afdelingsnavn", "klassenavn", "department name", "betegnelse", "enhedsbetegnelse",
        "institutionsnavn", "skolenavn",
    ),
    "parent_id": _words(
        "parent_id", "parent", "parent unit", "overenhed", "overordnet enhed", "forælder",
        "hører under", "overenhed id", "overordnet",
    ),
    "unit_type": _words("unit_type", "unit type", "enhedstype", "type", "enhedsniveau"),
    "invited": _words(
        "invited", "inviterede", "antal inviterede", "inviteret", "udsendte", "antal udsendte",
        "invitations", "population", "antal adspurgte", "adspurgte",
    ),
    "respondents": _words(
        "respondents", "besvarelser", "antal besvarelser", "antal respondenter",
        "respondenter", "svarantal", "responses", "number of responses", "gennemførte",
        "antal gennemførte", "antal svarpersoner", "svarpersoner",
    ),
    "question_id": _words(
        "question_id", "question id", "question code", "spørgsmål id", "spørgsmåls-id",
        "spørgsmålsid", "spørgsmålsnummer", "spørgsmål nr", "spm", "spm. nr.", "spm nr",
        "spørgsmålskode", "item", "item id", "kode", "nr", "nummer",
    ),
    "question_text": _words(
        "question_text", "question text", "spørgsmålstekst", "spørgsmål tekst", "tekst",
        "formulering", "question", "spørgsmål", "item text",
    ),
    "theme": _words("theme", "tema", "indikator", "indicator", "område", "dimension", "emne"),
    "option": _words(
        "option", "answer option", "svarmulighed", "svarmuligheder", "svarkategori",
        "svar", "answer", "kategori",
    ),
    "count": _words(
        "count", "antal", "frekvens", "frequency", "n", "antal svar", "i alt", "total",
        "besvarelser i alt", "antal svar i alt",
    ),
    "value": _words(
        "value", "procent", "andel", "pct", "%", "percent", "percentage", "share", "værdi",
        "procentdel", "andel (%)", "procent (%)", "andel i procent",
    ),
    "dont_know": _words(
        "n_dont_know", "dont know", "don't know", "ved ikke", "ved ikke/ikke relevant",
        "ikke relevant", "ved ikke / ønsker ikke at svare", "not applicable",
    ),
}  # fmt: skip
DONT_KNOW_WORDS = ROLE_WORDS["dont_know"]
_ROLE_BY_WORD: dict[str, str] = {word: role for role, words in ROLE_WORDS.items() for word in words}

# A header naming a person: the file holds individual answers.
PERSON_WORDS = _words(
    "respondent", "respondent id", "respondentid", "respondentnummer", "respondent nr",
    "besvarelse id", "besvarelses-id", "besvarelsesid", "besvarelse nr", "svar-id", "svarid",
    "response id", "responseid", "e-mail", "email", "mail", "e-mailadresse", "emailadresse",
    "e-mail adresse", "email address", "cpr", "cpr-nr", "cpr nr", "cpr-nummer", "cprnr",
    "personnummer", "navn", "name", "fornavn", "efternavn", "fulde navn", "full name",
    "first name", "last name", "elevnavn", "elevens navn", "medarbejdernavn", "medarbejder",
    "medarbejdernr", "medarbejdernr.", "medarbejder nr", "medarbejdernummer", "medarbejder id",
    "medarbejder-id", "elev-id", "elev id", "elevid", "elevnummer", "elev nr", "elev",
    "student id", "employee id", "employee", "person id", "personid", "unilogin", "uni-login",
    "brugernavn", "username", "user id", "ip", "ip address", "ip-adresse", "initialer",
    "telefon", "mobil", "phone", "fødselsdato", "birth date", "date of birth",
    "besvarelsestidspunkt", "tidspunkt for besvarelse", "submitdate", "submitted", "startdate",
)  # fmt: skip

_RESPONDENT_WHY_EN = (
    "Individual answers may not be imported: Kompas may only use survey results in aggregate, "
    "for statistics. Export the results as aggregates instead: the survey tool's frequency "
    "table or report per unit, with counts (or percentages with the number of answers) for "
    "each question and answer option."
)
_RESPONDENT_WHY_DA = (
    "Enkeltpersoners svar må ikke indlæses: Kompas må kun bruge resultaterne samlet, "
    "statistisk. Hent i stedet resultaterne samlet fra spørgeskemaværktøjet: frekvenstabellen "
    "eller rapporten pr. enhed, med antal (eller procenter med antal besvarelser) for hvert "
    "spørgsmål og hver svarmulighed."
)

# The answer labels of common scales, from option 1 up (a group of columns named by them).
KNOWN_SCALES: tuple[tuple[str, ...], ...] = (
    ("Helt uenig", "Uenig", "Hverken enig eller uenig", "Enig", "Helt enig"),
    ("Helt uenig", "Delvis uenig", "Hverken enig eller uenig", "Delvis enig", "Helt enig"),
    ("Aldrig", "Sjældent", "Nogle gange", "Tit", "Meget tit"),
    ("Aldrig", "Sjældent", "Nogle gange", "Ofte", "Altid"),
    ("Aldrig/næsten aldrig", "Sjældent", "Sommetider", "Ofte", "Altid"),
    ("Nej", "Ja, en enkelt gang", "Ja, flere gange"),
    ("Nej", "Ja"),
    ("I meget lav grad", "I lav grad", "Delvist", "I høj grad", "I meget høj grad"),
    ("Meget utilfreds", "Utilfreds", "Hverken eller", "Tilfreds", "Meget tilfreds"),
    ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"),
    ("Never", "Rarely", "Sometimes", "Often", "Always"),
    ("No", "Yes"),
)
_KNOWN_LABELS = {norm(label) for scale in KNOWN_SCALES for label in scale}

# A wide header: a question code, then the option ("GYM-01 Helt enig", "PT-1_1", "FT-01 (3)").
_WIDE_HEADER = re.compile(
    r"^(?P<q>[A-Za-zÆØÅæøå]{1,10}[-_ .]{0,2}\d{1,3}[A-Za-z]?)\s*(?:[-_:.(]\s*|\s+)(?P<o>.+?)\)?$"
)
_CODE = re.compile(r"^[A-Za-zÆØÅæøå]{0,10}[-_ .]?\d{1,4}[A-Za-z]?$")
_NUMBERED_OPTION = re.compile(
    r"^(?:n|svar|option|answer|svarmulighed|mulighed|valg|kategori)?\s*(\d{1,2})$"
)
COUNT_WORDS = _COUNT_LABELS = _words(
    "antal", "n", "antal besvarelser", "besvarelser", "i alt", "total", "antal svar", "count"
)  # fmt: skip


# --- reading the sample ---------------------------------------------------------------------


def read_sample(path: Path, *, rows: int = 20) -> Sample:
    """The header and first `rows` rows of each sheet (of the first 50), with the layout and
    kind of values detected. Bounded: never the whole file in memory.

    Raises importing_read.UnreadableFile for an unreadable, empty, foreign or over-large file
    and RespondentLevelFile for a file of individual answers.
    """
    rows = max(1, min(rows, MAX_SAMPLE_ROWS))

    def consume(file_format: str, sheets: Iterator[SheetRows]) -> tuple[str, list[Sheet]]:
        found: list[Sheet] = []
        for index, sheet_rows in enumerate(sheets):
            if index >= MAX_SAMPLE_SHEETS:
                break
            sheet = _sample_sheet(sheet_rows, rows, title_rows=True)
            if sheet is not None:
                found.append(sheet)
        return file_format, found

    try:
        file_format, sheets = read_sheets(path, consume)
    except UnreadableRow as unreadable:
        raise UnreadableFile(row_problem(unreadable)) from unreadable
    if not sheets:
        from app.domain.importing_problems import problem

        raise UnreadableFile(problem("empty_file"), file_format)
    sample = Sample(format=file_format, sheets=sheets, layout="unknown", values="counts")
    _refuse_respondent_level(sample)
    layout = detect_layout(sample)
    values = _detect_values(sample)
    sample = Sample(format=file_format, sheets=sheets, layout=layout, values=values)
    _refuse_respondent_rows(sample)
    return sample


def _sample_sheet(sheet_rows: SheetRows, rows: int, *, title_rows: bool) -> Sheet | None:
    above: list[list[str]] = []
    header: list[str] | None = None
    header_row = 0
    body: list[list[str]] = []
    later: list[list[str]] = []  # dense rows found after the first `rows`
    counted = 0
    more = False
    number = 0
    for number, row in enumerate(sheet_rows.rows, start=1):
        if header is None:
            check_cells(row, number)
            if not any(cell.strip() for cell in row):
                above.append(row)
                continue
            if title_rows and not _looks_like_header(row) and len(above) < MAX_TITLE_ROWS:
                above.append(row)
                continue
            header, header_row = _trimmed(row), number
            continue
        if not any(cell.strip() for cell in row):
            continue
        counted += 1
        if len(body) < rows:
            check_cells(row, number)
            body.append(row)
            continue
        more = True
        # Rows that only declare units (a parent's row) say little about the columns: look a
        # little further for rows that fill most of the header, and sample those instead.
        if counted > _DENSE_SCAN or _dense_rows(body, len(header)) + len(later) >= rows // 2:
            break
        if _dense(row, len(header)):
            check_cells(row, number)
            later.append(row)
    if later:
        body = body[: rows - len(later)] + later
    if header is None:
        if not above:
            return None
        # Only short rows: take the first non-empty one as the header.
        firsts = [(i, row) for i, row in enumerate(above) if any(c.strip() for c in row)]
        if not firsts:
            return None
        index, first = firsts[0]
        header, header_row = _trimmed(first), index + 1
        body = [row for row in above[index + 1 :] if any(c.strip() for c in row)][:rows]
        above = above[:index]
    return Sheet(
        name=sheet_rows.name,
        header=header,
        rows=body,
        row_count=None if more else counted,
        header_row=header_row,
        above=[_trimmed(row) for row in above],
    )


_DENSE_SCAN = 5_000


def _dense(row: list[str], width: int) -> bool:
    return sum(1 for cell in row if cell.strip()) * 2 > width


def _dense_rows(rows: list[list[str]], width: int) -> int:
    return sum(1 for row in rows if _dense(row, width))


def _trimmed(row: list[str]) -> list[str]:
    row = list(row)
    while row and not row[-1].strip():
        row.pop()
    return row


def _looks_like_header(row: list[str]) -> bool:
    """A table's header: at least three filled cells, mostly words, not numbers."""
    filled = [cell for cell in row if cell.strip()]
    if len(filled) < 3:  # noqa: PLR2004
        return False
    numbers = sum(1 for cell in filled if _number(cell) is not None)
    return numbers * 2 < len(filled)


def _number(text: str) -> float | None:
    try:
        return parse_danish_number(text)
    except NotANumber:
        return None


# --- native, signature ----------------------------------------------------------------------


def is_native(sample: Sample) -> bool:
    """The file is already in Kompas's own layout (import-format.md): no mapping needed."""
    if not sample.sheets:
        return False
    header = {cell.strip().lower() for cell in sample.sheets[0].header}
    has_answers = "n_1" in header or {"n", "mean"} <= header
    return {"unit_id", "question_id"} <= header and has_answers


def signature(sample: Sample) -> str:
    """A digest of the layout and the normalised header(s), to find a saved profile again.

    For one sheet per unit only the first sheet's header counts (the sheets' names are the
    units, and they change).
    """
    sheets = [table_sheet(sample)] if sample.layout == "sheets" else sample.sheets
    parts = [sample.layout]
    for sheet in sheets:
        parts.append("\x1e".join(norm(cell) for cell in sheet.header))
        if sample.layout == "sheets":
            parts.append("\x1e".join(norm(row[0]) for row in sheet.above if row))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


# --- roles and layout -----------------------------------------------------------------------


_AMBIGUOUS_QUESTION = _words("spørgsmål", "question", "spm")
_EXPLICIT_TEXT = ROLE_WORDS["question_text"] - _AMBIGUOUS_QUESTION


def header_roles(header: list[str], rows: list[list[str]]) -> dict[str, str]:
    """role -> header, from header words and (where a word is ambiguous) the values."""
    roles: dict[str, str] = {}
    words = [norm(cell) for cell in header]
    explicit_text = any(word in _EXPLICIT_TEXT for word in words)
    for position, cell in enumerate(header):
        word = words[position]
        role = _ROLE_BY_WORD.get(word)
        if role is None:
            continue
        if word in _AMBIGUOUS_QUESTION:
            values = [
                row[position] for row in rows if position < len(row) and row[position].strip()
            ]
            if values:
                codes = sum(1 for value in values if _CODE.match(value.strip()))
                role = "question_id" if codes * 2 > len(values) else "question_text"
            else:
                role = "question_id" if explicit_text else "question_text"
        if role in roles:
            continue
        roles[role] = cell
    if "unit_id" not in roles and "unit_name" in roles:
        roles["unit_id"] = roles.pop("unit_name")
    if "question_id" not in roles and "question_text" in roles:
        roles["question_id"] = roles.pop("question_text")
    return roles


def wide_columns(header: list[str]) -> list[QuestionColumns]:
    """Question and option columns of a wide header ("GYM-01 Helt enig", "PT-1_1", …)."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for cell in header:
        match = _WIDE_HEADER.match(cell.strip())
        if not match:
            continue
        code = match.group("q").strip()
        grouped.setdefault(code, []).append((match.group("o").strip(), cell))
    questions: list[QuestionColumns] = []
    for code, parts in grouped.items():
        options: list[tuple[int, str]] = []
        dont_know = count = None
        for position, (option, cell) in enumerate(parts):
            # "Jeg klarer mig godt - Helt enig (%)": the option is the last part, no marks.
            word = norm(option.rsplit(" - ", 1)[-1].replace("%", " "))
            word = " ".join(w for w in word.split() if w not in ("pct", "procent", "andel"))
            if word in DONT_KNOW_WORDS or word in _words("vi", "dk"):
                dont_know = cell
            elif word in _COUNT_LABELS or word in ROLE_WORDS["respondents"]:
                count = cell
            else:
                numbered = _NUMBERED_OPTION.match(word.replace(" ", ""))
                order = int(numbered.group(1)) if numbered else 100 + position
                options.append((order, cell))
        options.sort()
        if 2 <= len(options) <= MAX_OPTIONS:  # noqa: PLR2004
            questions.append(QuestionColumns(code, [cell for _, cell in options], dont_know, count))
    return questions


def table_sheet(sample: Sample) -> Sheet:
    """The first sheet whose header names a unit, a question or an option (a workbook may
    open with a cover sheet), else the first sheet."""
    for sheet in sample.sheets:
        roles = header_roles(sheet.header, sheet.rows)
        if {"unit_id", "question_id", "option"} & roles.keys():
            return sheet
    return sample.sheets[0]


def detect_layout(sample: Sample) -> str:
    if is_native(sample):
        return "native"
    first = table_sheet(sample)
    roles = header_roles(first.header, first.rows)
    tabled = [sheet for sheet in sample.sheets if len(sheet.header) >= 2]  # noqa: PLR2004
    if sample.format == "xlsx" and "unit_id" not in roles:
        if ("question_id" in roles or "option" in roles) and tabled:
            return "sheets"
        if len(tabled) > 1 and len({tuple(map(norm, s.header)) for s in tabled}) == 1:
            return "sheets"
    if "question_id" in roles or "option" in roles:
        return "long"
    if "unit_id" in roles and wide_columns(first.header):
        return "wide"
    return "unknown"


def _detect_values(sample: Sample) -> str:
    for sheet in sample.sheets[:3]:
        roles = header_roles(sheet.header, sheet.rows)
        if "value" in roles:
            return "percent"
        if any("%" in cell or "procent" in norm(cell) for cell in sheet.header):
            return "percent"
        cells = [cell for row in sheet.rows for cell in row]
        if any(cell.strip().endswith("%") for cell in cells):
            return "percent"
    return "counts"


def _refuse_respondent_level(sample: Sample) -> None:
    for sheet in sample.sheets:
        for cell in sheet.header:
            word = norm(cell)
            if word in PERSON_WORDS or word.startswith("cpr") or "e mail" in word:
                raise RespondentLevelFile(
                    f'The column "{cell}" names a person, so the file holds individual '
                    f"answers. {_RESPONDENT_WHY_EN}",
                    f'Kolonnen "{cell}" udpeger en person, så filen indeholder enkeltpersoners '
                    f"svar. {_RESPONDENT_WHY_DA}",
                )


def _refuse_respondent_rows(sample: Sample) -> None:
    """A file of one row per person: a unit repeating over rows of single answers."""
    sheet = table_sheet(sample)
    roles = header_roles(sheet.header, sheet.rows)
    if sample.layout == "long" and "option" in roles:
        if not {"count", "value", "respondents"} & roles.keys():
            raise RespondentLevelFile(
                f'The column "{roles["option"]}" holds one answer per row and no column '
                f"holds a count or a percentage, so each row is one person's answer. "
                f"{_RESPONDENT_WHY_EN}",
                f'Kolonnen "{roles["option"]}" har ét svar pr. række, og ingen kolonne har et '
                f"antal eller en procent, så hver række er én persons svar. "
                f"{_RESPONDENT_WHY_DA}",
            )
        return
    if sample.layout not in ("wide", "unknown") or "unit_id" not in roles:
        return
    position = sheet.header.index(roles["unit_id"])
    units = Counter(row[position].strip() for row in sheet.rows if position < len(row))
    units.pop("", None)
    if not units or max(units.values()) < 2:  # noqa: PLR2004
        return
    role_positions = {sheet.header.index(header) for header in roles.values()}
    answers = [
        cell.strip()
        for row in sheet.rows
        for index, cell in enumerate(row)
        if index not in role_positions and cell.strip()
    ]
    single = sum(1 for cell in answers if _single_answer(cell))
    if answers and single * 10 >= len(answers) * 8:
        raise RespondentLevelFile(
            f'The unit in "{roles["unit_id"]}" repeats over rows whose cells are single answers, '
            f"so each row is one person's answers. {_RESPONDENT_WHY_EN}",
            f'Enheden i "{roles["unit_id"]}" går igen i flere rækker, hvis celler er enkelte '
            f"svar, så hver række er én persons svar. {_RESPONDENT_WHY_DA}",
        )


def _single_answer(cell: str) -> bool:
    number = _number(cell)
    if number is None:
        return not cell.endswith("%")
    return number.is_integer() and 1 <= number <= MAX_OPTIONS


# --- suggesting a mapping -------------------------------------------------------------------


def suggest(sample: Sample) -> Mapping:
    """The best guess of a mapping from header words, values and layout."""
    layout = sample.layout if sample.layout in ("long", "wide", "sheets") else "long"
    if sample.layout == "native":
        layout = "long"
    sheet = table_sheet(sample)
    roles = header_roles(sheet.header, sheet.rows)
    values = sample.values
    if "option" in roles and "count" in roles:
        values = "counts"  # counts beside the percentages: read the counts
    # A workbook whose table is not on the first sheet (or one named "results"): name it.
    chosen = sheet.name if sample.format == "xlsx" and sheet is not sample.sheets[0] else ""
    if layout == "wide":
        columns = {role: header for role, header in roles.items() if role in _UNIT_ROLES}
        return Mapping("wide", values, columns, wide_columns(sheet.header), sheet=chosen)
    columns = {role: header for role, header in roles.items()}
    if layout == "sheets":
        for role in ("unit_id", "parent_id", "unit_type"):
            columns.pop(role, None)
    if layout == "long":
        _per_question_count(columns, sheet)
    taken = set(columns.values())
    if "option" in columns:
        questions = _option_rows(sheet, columns) if layout == "long" else []
        if layout == "sheets":
            questions = _question_columns(sheet, columns)
    else:
        questions = _option_groups(sheet, [h for h in sheet.header if h not in taken and h])
    mapping = Mapping(layout, values, columns, questions, sheet=chosen if layout == "long" else "")
    if layout == "sheets":
        mapping.sheet_unit, mapping.cells = _sheet_cells(sample)
    return mapping


_UNIT_ROLES = ("unit_id", "unit_name", "parent_id", "unit_type", "invited", "respondents")


def _per_question_count(columns: dict[str, str], sheet: Sheet) -> None:
    """A respondents column whose value changes within a unit counts answers per question."""
    if "respondents" not in columns or "count" in columns or "unit_id" not in columns:
        return
    unit_at = sheet.header.index(columns["unit_id"])
    count_at = sheet.header.index(columns["respondents"])
    seen: dict[str, str] = {}
    for row in sheet.rows:
        if max(unit_at, count_at) >= len(row):
            continue
        unit, count = row[unit_at].strip(), row[count_at].strip()
        if seen.setdefault(unit, count) != count:
            columns["count"] = columns.pop("respondents")
            return


def _option_groups(sheet: Sheet, candidates: list[str]) -> list[QuestionColumns]:
    """Option columns of a long table, split into scale groups."""
    positions = {header: sheet.header.index(header) for header in candidates}

    def numeric(header: str) -> bool:
        at = positions[header]
        cells = [row[at] for row in sheet.rows if at < len(row) and row[at].strip()]
        return all(_number(cell) is not None for cell in cells)

    options = [header for header in candidates if numeric(header)]
    if not options:
        return []
    numbered = [_NUMBERED_OPTION.match(norm(h).replace(" ", "")) for h in options]
    if all(numbered):
        ordered = sorted(zip(options, numbered, strict=True), key=lambda p: int(p[1].group(1)))  # type: ignore[union-attr]
        return [QuestionColumns("", [header for header, _ in ordered][:MAX_OPTIONS])]
    groups = _scale_groups(sheet, options, positions)
    return [QuestionColumns("", group) for group in groups if 2 <= len(group) <= MAX_OPTIONS]  # noqa: PLR2004


def _known_scale_at(options: list[str], start: int) -> int:
    """The length of the longest known scale whose labels the columns from `start` are."""
    best = 0
    for scale in KNOWN_SCALES:
        words = [norm(label) for label in scale]
        if [norm(o) for o in options[start : start + len(words)]] == words:
            best = max(best, len(words))
    return best


def _scale_groups(sheet: Sheet, options: list[str], positions: dict[str, int]) -> list[list[str]]:
    """Known scales first; the columns between them grouped by the rows they fill."""
    groups: list[list[str]] = []
    run: list[str] = []
    index = 0
    while index < len(options):
        known = _known_scale_at(options, index)
        if known:
            groups += _fill_groups(sheet, run, positions)
            run = []
            groups.append(options[index : index + known])
            index += known
        else:
            run.append(options[index])
            index += 1
    return groups + _fill_groups(sheet, run, positions)


def _fill_groups(sheet: Sheet, options: list[str], positions: dict[str, int]) -> list[list[str]]:
    """Consecutive columns filled on the same rows form a group: a column filled on rows
    none of the group's first column fills starts a new one, and so does the first column
    the sample never fills after one it does (and the other way round)."""

    def filled(header: str) -> set[int]:
        at = positions[header]
        return {i for i, row in enumerate(sheet.rows) if at < len(row) and row[at].strip()}

    groups: list[list[str]] = []
    first_rows: set[int] = set()
    for header in options:
        rows = filled(header)
        if groups and (rows & first_rows or (not rows and not first_rows)):
            groups[-1].append(header)
            continue
        groups.append([header])
        first_rows = rows
    return groups


def _option_rows(sheet: Sheet, columns: dict[str, str]) -> list[QuestionColumns]:
    """A row per option: the option labels of each question, in order of appearance."""
    option_at = sheet.header.index(columns["option"])
    question_at = sheet.header.index(columns["question_id"]) if "question_id" in columns else -1
    sequences: dict[str, list[str]] = {}
    for row in sheet.rows:
        if option_at >= len(row):
            continue
        question = row[question_at].strip() if 0 <= question_at < len(row) else ""
        label = row[option_at].strip()
        if label and label not in sequences.setdefault(question, []):
            sequences[question].append(label)
    groups: list[list[str]] = []
    for labels in sequences.values():
        if all(_number(label) is not None for label in labels):
            continue  # numbered options need no labels
        if labels not in groups:
            groups.append(labels)
    unknown = ROLE_WORDS["dont_know"]
    return [
        QuestionColumns(
            "",
            [label for label in group if norm(label) not in unknown],
            next((label for label in group if norm(label) in unknown), None),
        )
        for group in groups
    ]


def _question_columns(sheet: Sheet, columns: dict[str, str]) -> list[QuestionColumns]:
    """One sheet per unit, a row per option and a column per question: each question's
    options are the labels whose cells it fills in the sample, in row order."""
    option_at = sheet.header.index(columns["option"])
    labelled = [(row[option_at].strip(), row) for row in sheet.rows if option_at < len(row)]
    labelled = [(label, row) for label, row in labelled if label]
    labels = [label for label, _ in labelled]
    count = next((label for label in labels if norm(label) in _COUNT_LABELS), None)
    dont_know = next((label for label in labels if norm(label) in ROLE_WORDS["dont_know"]), None)
    taken = set(columns.values())
    questions = []
    for at, header in enumerate(sheet.header):
        if not header.strip() or header in taken:
            continue
        options = [
            label
            for label, row in labelled
            if label not in (count, dont_know) and at < len(row) and row[at].strip()
        ]
        if len(options) < 2:  # noqa: PLR2004 - unanswered in the sample: every label
            options = [label for label in labels if label not in (count, dont_know)]
        questions.append(QuestionColumns(header, options[:MAX_OPTIONS], dont_know, count))
    return questions


def _sheet_cells(sample: Sample) -> tuple[str, dict[str, str]]:
    """Where a sheet names its unit and counts: the label left of the value above the table."""
    sheet = table_sheet(sample)
    sheet_unit = "name"
    cells: dict[str, str] = {}
    for row in sheet.above:
        filled = [cell for cell in row if cell.strip()]
        if len(filled) < 2:  # noqa: PLR2004
            continue
        label = filled[0]
        word = norm(label)
        role = _ROLE_BY_WORD.get(word)
        if role == "unit_id" and sheet_unit == "name":
            sheet_unit = label
        elif role in ("unit_name", "parent_id", "unit_type", "invited", "respondents"):
            cells.setdefault(role, label)
        elif role == "count" and "respondents" not in cells:
            cells["respondents"] = label
    return sheet_unit, cells


def label_value(rows: Iterable[list[str]], where: str) -> str | None:
    """The value a sheet gives at `where`: a cell ("B2") or the label left of the value."""
    rows = list(rows)
    if CELL_REF.match(where):
        column, row_number = _cell_position(where)
        if row_number <= len(rows) and column < len(rows[row_number - 1]):
            return rows[row_number - 1][column].strip()
        return None
    wanted = norm(where)
    for row in rows:
        for index, cell in enumerate(row):
            if norm(cell) == wanted:
                rest = [value.strip() for value in row[index + 1 :] if value.strip()]
                return rest[0] if rest else None
    return None


def _cell_position(ref: str) -> tuple[int, int]:
    letters = "".join(char for char in ref if char.isalpha())
    column = 0
    for char in letters:
        column = column * 26 + (ord(char) - ord("A") + 1)
    return column - 1, int(ref[len(letters) :])


__all__ = [
    "file_limits",
    "detect_layout",
    "header_roles",
    "is_native",
    "label_value",
    "norm",
    "read_sample",
    "signature",
    "suggest",
    "wide_columns",
]
