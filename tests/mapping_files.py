"""Test helpers: turn a native results file from the generator into real-world layouts.

Survey tools (Defgo, SurveyXact/Rambøll, Enalyzer) deliver frequency tables: a row per unit and
question with a column per answer label, one wide row per unit with a column per question and
option, one sheet per unit, often percentages with the number of answers, with Danish headers
and Danish numbers. Each helper here writes one such layout from the generator's native file,
so a test can convert it back through the mapping and compare with the native import.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[2] / "shared" / "tools" / "gen_results.py"
DONT_KNOW = "Ved ikke"


@dataclass
class Native:
    """A native results file read as dicts: unit rows and question rows in file order."""

    rows: list[dict[str, str]]

    @property
    def units(self) -> list[dict[str, str]]:
        """One dict per unit (its first row), in file order."""
        seen: dict[str, dict[str, str]] = {}
        for row in self.rows:
            seen.setdefault(row["unit_id"], row)
        return list(seen.values())

    def questions(self) -> list[dict[str, str]]:
        """One dict per question (its first row), in order of first appearance."""
        seen: dict[str, dict[str, str]] = {}
        for row in self.rows:
            if row["question_id"]:
                seen.setdefault(row["question_id"], row)
        return list(seen.values())

    def answers(self, unit: str) -> list[dict[str, str]]:
        """The unit's question rows (indexed once: the large file has 5,000 units)."""
        if not hasattr(self, "_by_unit"):
            index: dict[str, list[dict[str, str]]] = {}
            for row in self.rows:
                if row["question_id"]:
                    index.setdefault(row["unit_id"], []).append(row)
            self._by_unit = index
        return self._by_unit.get(unit, [])

    def scales(self) -> list[list[str]]:
        """The distinct answer scales, in order of first appearance."""
        found: list[list[str]] = []
        for question in self.questions():
            labels = question["scale"].split("|")
            if labels not in found:
                found.append(labels)
        return found


def generate(kind: str, path: Path, *, year: int = 2025, seed: int = 1) -> Path:
    """The generator's file for `kind` ("gym", "apv") at `path`."""
    subprocess.run(  # noqa: S603 - our own generator, fixed arguments
        [sys.executable, str(GENERATOR), kind, "--year", str(year), "--seed", str(seed), "-o",
         str(path)],
        check=True,
    )  # fmt: skip
    return path


def read_native(path: Path) -> Native:
    with path.open(encoding="utf-8", newline="") as handle:
        return Native(list(csv.DictReader(handle, delimiter=";")))


def counts(row: dict[str, str]) -> list[int]:
    k = len(row["scale"].split("|"))
    return [int(row[f"n_{option}"]) for option in range(1, k + 1)]


def danish(value: float, decimals: int) -> str:
    """87.5 -> "87,5" (decimals as asked); 1234 -> "1.234"."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "X").replace(".", ",").replace("X", ".")


def percentages(
    numbers: list[int], n: int, decimals: int, *, danish_mark: bool = True
) -> list[str]:
    """Counts as the printed percentages a tool shows ("87,5 %")."""
    shown = []
    for number in numbers:
        value = 100 * number / n if n else 0.0
        text = danish(value, decimals) if danish_mark else f"{value:.{decimals}f}"
        shown.append(f"{text} %")
    return shown


def _scale_columns(native: Native) -> tuple[list[str], dict[tuple[str, ...], list[str]]]:
    """Column headers for every scale's labels (a label used by two scales gets a suffix)."""
    headers: list[str] = []
    by_scale: dict[tuple[str, ...], list[str]] = {}
    for scale in native.scales():
        names = []
        for label in scale:
            name = label
            suffix = 2
            while name in headers:
                name = f"{label} ({suffix})"  # the same label in another scale
                suffix += 1
            headers.append(name)
            names.append(name)
        by_scale[tuple(scale)] = names
    return headers, by_scale


Cell = Callable[[dict[str, str]], list[str]]


def write_long(
    native: Native,
    path: Path,
    *,
    values: str = "counts",
    decimals: int = 1,
    per_question_count: bool = False,
) -> None:
    """A row per unit and question, a column per answer label (Danish headers), like a
    frequency table export. Percentages are of the answers including "Ved ikke"."""
    labels, by_scale = _scale_columns(native)
    header = ["Enhed", "Enhedsnavn", "Overenhed", "Type", "Inviterede", "Antal besvarelser"]
    header += ["Spørgsmål", "Spørgsmålstekst", "Tema", *labels, DONT_KNOW]
    if per_question_count:
        header.append("Antal svar")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        for row in native.rows:
            unit_cells = [row["unit_id"], row["unit_name"], row["parent_id"], row["unit_type"],
                          row["invited"], row["respondents"]]  # fmt: skip
            if not row["question_id"]:
                writer.writerow(unit_cells + [""] * (len(header) - len(unit_cells)))
                continue
            option_cells = {label: "" for label in labels}
            numbers = counts(row)
            dont_know = int(row["n_dont_know"] or 0)
            total = sum(numbers) + dont_know
            if values == "percent":
                shown = percentages([*numbers, dont_know], total, decimals)
            else:
                shown = [str(number) for number in [*numbers, dont_know]]
            for name, text in zip(by_scale[tuple(row["scale"].split("|"))], shown, strict=False):
                option_cells[name] = text
            line = unit_cells + [row["question_id"], row["question_text"], row["theme"]]
            line += [option_cells[label] for label in labels] + [shown[-1]]
            if per_question_count:
                line.append(str(total))
            writer.writerow(line)


def write_option_rows(native: Native, path: Path) -> None:
    """A row per unit, question and option ("Svarmulighed; Antal; Procent"), like a pivot."""
    header = ["Afdeling", "Overenhed", "Antal besvarelser", "Spørgsmål", "Svarmulighed",
              "Antal", "Procent"]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        for row in native.rows:
            unit_cells = [row["unit_id"], row["parent_id"], row["respondents"]]
            if not row["question_id"]:
                writer.writerow([*unit_cells, "", "", "", ""])
                continue
            numbers = counts(row)
            dont_know = int(row["n_dont_know"] or 0)
            labels = [*row["scale"].split("|"), DONT_KNOW]
            total = sum(numbers) + dont_know
            shown = percentages([*numbers, dont_know], total, 1)
            for label, number, percent in zip(labels, [*numbers, dont_know], shown, strict=True):
                writer.writerow([*unit_cells, row["question_id"], label, str(number), percent])


def write_wide(
    native: Native,
    path: Path,
    *,
    values: str = "counts",
    decimals: int = 1,
    option_names: str = "labels",
    thousands: bool = False,
) -> None:
    """A row per unit; a column per question and option ("FT-01 Helt enig" or "FT-01_1")."""
    questions = native.questions()
    header = ["Enhed", "Enhedsnavn", "Overenhed", "Inviterede", "Antal besvarelser"]
    for question in questions:
        labels = question["scale"].split("|")
        for number, label in enumerate(labels, start=1):
            name = label if option_names == "labels" else str(number)
            header.append(f"{question['question_id']} {name}" if option_names == "labels"
                          else f"{question['question_id']}_{name}")  # fmt: skip
        header.append(f"{question['question_id']} {DONT_KNOW}")
    rows = []
    for unit in native.units:
        answers = {row["question_id"]: row for row in native.answers(unit["unit_id"])}
        number_cell = (lambda x: danish(int(x), 0)) if thousands else str
        line = [unit["unit_id"], unit["unit_name"], unit["parent_id"],
                number_cell(unit["invited"]) if unit["invited"] else "",
                number_cell(unit["respondents"]) if unit["respondents"] else ""]  # fmt: skip
        for question in questions:
            k = len(question["scale"].split("|"))
            answer = answers.get(question["question_id"])
            if answer is None:
                line += [""] * (k + 1)
                continue
            numbers = counts(answer)
            dont_know = int(answer["n_dont_know"] or 0)
            if values == "percent":
                line += percentages([*numbers, dont_know], sum(numbers) + dont_know, decimals)
            else:
                line += [number_cell(str(number)) for number in [*numbers, dont_know]]
        rows.append(line)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)


def write_sheets(
    native: Native, path: Path, *, values: str = "counts", unit_in: str = "name"
) -> None:
    """An XLSX workbook with one sheet per unit that has answers: a few title rows
    ("Enhed", "Antal besvarelser", "Inviterede"), then a frequency table with a row per
    question and a column per answer label. A cover sheet comes first."""
    import openpyxl

    labels, by_scale = _scale_columns(native)
    workbook = openpyxl.Workbook()
    cover = workbook.active
    cover.title = "Forside"
    cover.append(["Trivselsmåling 2025"])
    cover.append(["Rapport pr. enhed"])
    for unit in native.units:
        answers = native.answers(unit["unit_id"])
        if not answers:
            continue
        title = unit["unit_id"] if unit_in == "name" else f"Ark {len(workbook.sheetnames)}"
        sheet = workbook.create_sheet(title)
        sheet.append(["Rapport for enheden"])
        sheet.append(["Enhed", unit["unit_id"]])
        sheet.append(["Enhedsnavn", unit["unit_name"]])
        sheet.append(["Antal besvarelser", int(unit["respondents"])])
        sheet.append(["Inviterede", int(unit["invited"])])
        sheet.append([])
        sheet.append(["Spørgsmål", "Spørgsmålstekst", *labels, DONT_KNOW])
        for row in answers:
            cells: dict[str, object] = {label: None for label in labels}
            numbers = counts(row)
            dont_know = int(row["n_dont_know"] or 0)
            total = sum(numbers) + dont_know
            shown: list[object]
            if values == "percent":
                shown = [number / total if total else 0 for number in [*numbers, dont_know]]
            else:
                shown = [*numbers, dont_know]
            for name, value in zip(by_scale[tuple(row["scale"].split("|"))], shown, strict=False):
                cells[name] = value
            sheet.append([row["question_id"], row["question_text"],
                          *(cells[label] for label in labels), shown[-1]])  # fmt: skip
            if values == "percent":
                for cell in sheet[sheet.max_row][2:]:
                    cell.number_format = "0.0%"
    workbook.save(path)


def write_option_sheets(native: Native, path: Path) -> None:
    """An XLSX workbook with one sheet per unit: a row per answer label and a column per
    question (a transposed frequency table), the unit's id in cell B1."""
    import openpyxl

    labels, by_scale = _scale_columns(native)
    questions = native.questions()
    workbook = openpyxl.Workbook()
    first = True
    for unit in native.units:
        answers = {row["question_id"]: row for row in native.answers(unit["unit_id"])}
        if not answers:
            continue
        if first:
            sheet = workbook.active
            sheet.title = "Enhed 1"
            first = False
        else:
            sheet = workbook.create_sheet(f"Enhed {len(workbook.sheetnames) + 1}")
        sheet.append(["Enhed:", unit["unit_id"]])
        sheet.append(["Besvarelser:", int(unit["respondents"])])
        sheet.append(["Svarmulighed", *(q["question_id"] for q in questions)])
        table: dict[str, list[object]] = {label: [] for label in [*labels, DONT_KNOW]}
        for question in questions:
            row = answers[question["question_id"]]
            names = by_scale[tuple(row["scale"].split("|"))]
            numbers = dict(zip(names, counts(row), strict=True))
            for label in labels:
                table[label].append(numbers.get(label))
            table[DONT_KNOW].append(int(row["n_dont_know"] or 0))
        for label, cells in table.items():
            sheet.append([label, *cells])
    workbook.save(path)
