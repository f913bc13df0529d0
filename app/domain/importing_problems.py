"""Problems found while importing a results file, with their Danish and English wording.

Every error, warning and notice the import engine reports is a `Problem` built by
`problem(code, ...)` from the message table below, so that each machine code has exactly
one wording in each language and the wording can be reviewed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One error, warning or notice about an uploaded results file."""

    row: int | None  # row number as a spreadsheet shows it (header = 1); None: the whole file
    column: str | None  # header name, lower-cased; None when no single column is at fault
    value: str  # the value found ("" if none)
    message_da: str  # what is wrong and what was expected, in plain Danish
    message_en: str  # the same in English
    code: str  # machine code, one of MESSAGES


# code -> (Danish, English). Placeholders are filled from problem()'s arguments: {column},
# {value} and the keyword details. User data only ever goes in as an argument to format(),
# so braces in a cell value cannot break the message.
MESSAGES: dict[str, tuple[str, str]] = {
    # --- the file as a whole -------------------------------------------------------------
    "empty_file": (
        "Filen er tom.",
        "The file is empty.",
    ),
    "no_rows": (
        "Filen har en overskriftsrække, men ingen rækker med enheder eller resultater.",
        "The file has a header row but no rows with units or results.",
    ),
    "not_csv_or_xlsx": (
        "Filen er hverken en CSV-fil eller en Excel-fil (XLSX). "
        "Gem resultaterne som CSV (UTF-8) eller XLSX, og prøv igen.",
        "The file is neither a CSV file nor an Excel file (XLSX). "
        "Save the results as CSV (UTF-8) or XLSX and try again.",
    ),
    "damaged_xlsx": (
        "Filen ligner en Excel-fil (XLSX), men kan ikke læses; den er måske beskadiget. "
        "Åbn den i Excel, gem den igen, og prøv igen.",
        "The file looks like an Excel file (XLSX) but cannot be read; it may be damaged. "
        "Open it in Excel, save it again and try again.",
    ),
    "malformed_csv": (
        "Rækken kan ikke læses som CSV, fx fordi et anførselstegn ikke er lukket, "
        "eller fordi en celle er alt for lang.",
        "The row cannot be read as CSV, for example because a quote is not closed "
        "or a cell is far too long.",
    ),
    "too_many_errors": (
        "Der er flere end {limit} fejl; kun de første {limit} er vist. "
        "Ret dem, og indlæs filen igen for at se resten.",
        "There are more than {limit} errors; only the first {limit} are shown. "
        "Fix them and upload the file again to see the rest.",
    ),
    # --- the header row ------------------------------------------------------------------
    "missing_column": (
        'Kolonnen "{column}" mangler. Den skal være med.',
        'The column "{column}" is missing. It is required.',
    ),
    "missing_answer_columns": (
        "Filen har hverken kolonnerne n_1 … n_k (fordelingen af svar) eller kolonnerne "
        "n og mean, så der er ingen svar at læse.",
        "The file has neither the columns n_1 … n_k (the distribution of answers) nor the "
        "columns n and mean, so there are no answers to read.",
    ),
    "repeated_column": (
        'Kolonnen "{column}" står mere end én gang i overskriftsrækken. '
        "Hver kolonne må kun stå der én gang.",
        'The column "{column}" appears more than once in the header row. '
        "Each column may appear only once.",
    ),
    # --- one row -------------------------------------------------------------------------
    "too_many_cells": (
        "Rækken har {cells} celler, men overskriftsrækken kun {columns} kolonner. "
        "Måske står skilletegnet inde i en værdi uden anførselstegn om.",
        "The row has {cells} cells but the header row only {columns} columns. "
        "Perhaps a value contains the separator without quotes around it.",
    ),
    "missing_unit_id": (
        "unit_id er tom. Hver række skal have enhedens id.",
        "unit_id is empty. Every row needs the id of its unit.",
    ),
    "not_whole_number": (
        'Forventede et helt tal, 0 eller derover, men fandt "{value}".',
        'Expected a whole number, 0 or more, but found "{value}".',
    ),
    "count_too_large": (
        'Tallet "{value}" er for stort; et antal kan højst være {limit}.',
        'The number "{value}" is too large; a count can be {limit} at most.',
    ),
    "not_a_number": (
        'Forventede et tal, fx 3,4, men fandt "{value}".',
        'Expected a number, e.g. 3.4, but found "{value}".',
    ),
    "mean_out_of_range": (
        "Gennemsnittet {value} ligger uden for skalaen, der går fra 1 til {k}.",
        "The mean {value} lies outside the scale, which runs from 1 to {k}.",
    ),
    "missing_count": (
        "{column} er tom. Spørgsmålet har {k} svarmuligheder, så n_1 til n_{k} skal alle "
        "udfyldes (med 0, hvis ingen valgte svaret).",
        "{column} is empty. The question has {k} answer options, so n_1 to n_{k} must all "
        "be filled in (with 0 where nobody chose the answer).",
    ),
    "zero_tolerance_needs_distribution": (
        "Et nultolerancespørgsmål skal have fordelingen n_1 … n_k, ikke kun n og mean: "
        "ellers kan Kompas ikke se, hvor mange der har svaret andet end “nej”.",
        "A zero-tolerance question needs the distribution n_1 … n_k, not only n and mean: "
        "otherwise Kompas cannot tell how many answered other than “no”.",
    ),
    "missing_mean": (
        "mean er tom. Når n er større end 0 og der ikke er en fordeling, skal "
        "gennemsnittet stå i mean.",
        "mean is empty. When n is greater than 0 and there is no distribution, "
        "the mean must be given in mean.",
    ),
    "no_answers": (
        "Rækken har hverken en fordeling af svar (n_1 … n_k) eller n og mean.",
        "The row has neither a distribution of answers (n_1 … n_k) nor n and mean.",
    ),
    "count_beyond_scale": (
        "Spørgsmålet har kun {k} svarmuligheder, så {column} skal være tom, "
        'men der står "{value}".',
        "The question has only {k} answer options, so {column} must be empty, "
        'but it holds "{value}".',
    ),
    "n_mismatch": (
        "n er {value}, men n_1 til n_{k} giver tilsammen {total}.",
        "n is {value}, but n_1 to n_{k} add up to {total}.",
    ),
    "mean_mismatch": (
        "mean er {value}, men fordelingen i n_1 til n_{k} giver gennemsnittet {expected}.",
        "mean is {value}, but the distribution in n_1 to n_{k} gives the mean {expected}.",
    ),
    "counts_without_question": (
        'Rækken har intet question_id, men {column} er udfyldt ("{value}"). '
        "En række uden question_id beskriver kun enheden og kan ikke have svar.",
        'The row has no question_id, but {column} is filled in ("{value}"). '
        "A row without question_id only describes its unit and cannot hold answers.",
    ),
    "missing_scale": (
        "scale er tom. Når der ikke er valgt en spørgeramme, skal hvert spørgsmål have sine "
        "svarmuligheder i scale, adskilt af |, fx Aldrig|Sjældent|Tit.",
        "scale is empty. When no questionnaire is chosen, every question needs its answer "
        "options in scale, separated by |, e.g. Never|Rarely|Often.",
    ),
    "scale_size": (
        "Skalaen har {k} svarmuligheder, men skal have mellem 2 og 11.",
        "The scale has {k} answer options, but must have between 2 and 11.",
    ),
    "invalid_scale": (
        "Skalaen har en tom svarmulighed. Skriv svarmulighederne fra 1 og op, adskilt af |.",
        "The scale has an empty answer option. Write the options from 1 up, separated by |.",
    ),
    "invalid_direction": (
        'Forventede higher_better eller lower_better, men fandt "{value}".',
        'Expected higher_better or lower_better, but found "{value}".',
    ),
    "not_yes_no": (
        'Forventede ja eller nej (yes/no, ja/nej, 1/0, true/false), men fandt "{value}".',
        'Expected yes or no (yes/no, ja/nej, 1/0, true/false), but found "{value}".',
    ),
    "unknown_question": (
        'Spørgsmålet "{value}" findes ikke i den valgte spørgeramme.',
        'The question "{value}" is not in the chosen questionnaire.',
    ),
    "question_mismatch": (
        '{column} er "{value}", men den valgte spørgeramme har "{expected}" '
        "for spørgsmålet {question}.",
        '{column} is "{value}", but the chosen questionnaire has "{expected}" '
        "for the question {question}.",
    ),
    "question_inconsistent": (
        '{column} er "{value}" her, men "{expected}" i række {first_row} for samme '
        "spørgsmål ({question}). Et spørgsmål skal beskrives ens i alle rækker.",
        '{column} is "{value}" here, but "{expected}" in row {first_row} for the same '
        "question ({question}). A question must be described the same on every row.",
    ),
    "unit_inconsistent": (
        '{column} er "{value}" her, men "{expected}" i række {first_row} for samme enhed '
        "({unit}). Værdien skal være den samme i alle enhedens rækker.",
        '{column} is "{value}" here, but "{expected}" in row {first_row} for the same unit '
        "({unit}). The value must be the same on every row of the unit.",
    ),
    "duplicate_row": (
        "Enheden {unit} og spørgsmålet {question} står allerede i række {first_row}. "
        "Hvert par af enhed og spørgsmål må kun stå én gang.",
        "The unit {unit} and the question {question} are already given in row {first_row}. "
        "Each pair of unit and question may appear only once.",
    ),
    "duplicate_unit_row": (
        "Enheden {unit} er allerede beskrevet i en række uden question_id (række {first_row}).",
        "The unit {unit} is already described in a row without question_id (row {first_row}).",
    ),
    "answers_exceed_respondents": (
        "Svarene i rækken (ved ikke medregnet) giver tilsammen {total}, flere end "
        "respondents ({value}).",
        "The answers on this row (don't know included) add up to {total}, more than "
        "respondents ({value}).",
    ),
    # --- the units as a whole ------------------------------------------------------------
    "unknown_parent": (
        'parent_id "{value}" er hverken en enhed i filen eller i organisationen.',
        'parent_id "{value}" is neither a unit in the file nor in the organisation.',
    ),
    "cycle": (
        "Enheden {unit} ligger under sig selv ({path}). En enhed kan ikke være sin egen overenhed.",
        "The unit {unit} lies below itself ({path}). A unit cannot be its own ancestor.",
    ),
    "respondents_exceed_invited": (
        "respondents ({value}) er større end invited ({invited}) for enheden {unit}.",
        "respondents ({value}) is larger than invited ({invited}) for the unit {unit}.",
    ),
    "answers_exceed_invited": (
        "Svarene i rækken giver tilsammen {total}, flere end invited ({value}) for enheden {unit}.",
        "The answers on this row add up to {total}, more than invited ({value}) for the unit "
        "{unit}.",
    ),
    "parent_smaller_than_children": (
        "{column} er {value} for {unit}, men underenhederne har tilsammen {children}. "
        "En overenheds egne tal kan ikke være mindre end summen af underenhedernes.",
        "{column} is {value} for {unit}, but its sub-units add up to {children}. "
        "A parent unit's own figures cannot be smaller than the sum of its sub-units.",
    ),
    # --- warnings (the import may go ahead) ------------------------------------------------
    "unit_moved": (
        "Enheden {unit} flyttes fra {old_da} til {new_da}.",
        "The unit {unit} moves from {old_en} to {new_en}.",
    ),
    "previous_unit_unknown": (
        'previous_unit_id "{value}" er ikke en enhed i en tidligere måling, så enheden '
        "kan ikke sammenlignes med den.",
        'previous_unit_id "{value}" is not a unit of an earlier measurement, so the unit '
        "cannot be compared with it.",
    ),
    # --- notices -------------------------------------------------------------------------
    "encoding_cp1252": (
        "Filen er ikke UTF-8 og er derfor læst som Windows-1252 (Excels almindelige "
        "CSV-format). Kontrollér, at æ, ø og å ser rigtige ud, før du importerer.",
        "The file is not UTF-8 and was therefore read as Windows-1252 (Excel's plain CSV "
        "format). Check that æ, ø and å look right before you import.",
    ),
    "ignored_column": (
        'Kolonnen "{column}" er ikke en del af formatet og bliver ikke brugt.',
        'The column "{column}" is not part of the format and is not used.',
    ),
    "sheet_used": (
        'Der er intet ark, der hedder "results", så det første ark, "{value}", er læst.',
        'There is no sheet named "results", so the first sheet, "{value}", was read.',
    ),
    # --- limits on any uploaded file (app/domain/file_limits.py) ---------------------------
    "too_many_columns": (
        "Overskriftsrækken har {value} kolonner; højst {limit} er tilladt. "
        "Filen er ikke en resultatfil, eller den skal deles op.",
        "The header row has {value} columns; at most {limit} are allowed. "
        "The file is not a results file, or it must be split.",
    ),
    "cell_too_long": (
        "En celle har mere end {limit} tegn; så lange celler hører ikke til en resultatfil.",
        "A cell has more than {limit} characters; cells that long do not belong in a results file.",
    ),
    "too_many_rows": (
        "Filen har flere end {limit} rækker; så mange rækker hører ikke til en resultatfil. "
        "Del filen op, eller tjek, at det er den rigtige fil.",
        "The file has more than {limit} rows; that many do not belong in a results file. "
        "Split the file, or check that it is the right one.",
    ),
    "xlsx_too_large": (
        "Excel-filen fylder {value} udpakket; højst {limit} MB er tilladt. "
        "Gem kun arket med resultaterne, eller gem det som CSV.",
        "The Excel file unpacks to {value}; at most {limit} MB is allowed. "
        "Save only the sheet with the results, or save it as CSV.",
    ),
    # --- the mapping import (app/domain/mapping*.py) ---------------------------------------
    "mapping_missing_unit": (
        "Enhedens id er tom i denne række. Hver række med svar skal have enhedens id.",
        "The unit's id is empty on this row. Every row with answers needs the unit's id.",
    ),
    "mapping_missing_question": (
        "Spørgsmålets id er tomt i denne række, men rækken har svar.",
        "The question's id is empty on this row, but the row has answers.",
    ),
    "mapping_not_count": (
        "Forventede et antal (et helt tal, 0 eller derover, fx 12 eller 1.234), "
        'men fandt "{value}".',
        'Expected a count (a whole number, 0 or more, e.g. 12 or 1,234), but found "{value}".',
    ),
    "mapping_not_percent": (
        'Forventede en procent mellem 0 og 100 (fx 87,5 %), men fandt "{value}".',
        'Expected a percentage between 0 and 100 (e.g. 87.5 %), but found "{value}".',
    ),
    "mapping_gap": (
        "Svarmuligheden {column} er tom, men en senere svarmulighed for samme spørgsmål er "
        "udfyldt. Skriv 0, hvor ingen valgte svaret.",
        "The answer option {column} is empty, but a later option of the same question is "
        "filled in. Write 0 where nobody chose the answer.",
    ),
    "percent_needs_count": (
        "Rækken har procenter, men intet antal besvarelser at regne dem om med. "
        "Kortlæg kolonnen med antal besvarelser (pr. enhed eller pr. spørgsmål).",
        "The row has percentages but no number of answers to convert them with. "
        "Map the column with the number of answers (per unit or per question).",
    ),
    "percent_not_counts": (
        "Procenterne i rækken kan ikke komme fra hele antal ud af {n} besvarelser "
        "(med den afrunding, de er skrevet med), eller de giver ikke {n} tilsammen. "
        "Rækken er afvist; hent antal i stedet for procenter, eller ret antallet af besvarelser.",
        "The percentages on this row cannot come from whole counts out of {n} answers "
        "(at the rounding they are printed with), or they do not add up to {n}. "
        "The row is refused; export counts instead of percentages, or correct the number of "
        "answers.",
    ),
    "percent_ambiguous": (
        "Procenterne i rækken er skrevet med for få decimaler til at bestemme antallene ud af "
        "{n} besvarelser entydigt. Rækken er afvist; hent antal eller procenter med flere "
        "decimaler.",
        "The percentages on this row are printed with too few decimals to tell the counts out "
        "of {n} answers for certain. The row is refused; export counts, or percentages with "
        "more decimals.",
    ),
    "mapping_unknown_option": (
        'Svarmuligheden "{value}" er ikke en af spørgsmålets svarmuligheder i kortlægningen.',
        'The answer option "{value}" is not one of the question\'s options in the mapping.',
    ),
    "mapping_repeated": (
        "Enheden {unit} og spørgsmålet {question} har allerede svar for {value} i række "
        "{first_row}.",
        "The unit {unit} and the question {question} already have answers for {value} in row "
        "{first_row}.",
    ),
    "mapping_unit_repeated": (
        "Enheden {value} står allerede i række {first_row}. En bred fil har én række pr. "
        "enhed; står en enhed i flere rækker, er det måske enkeltpersoners svar, og de må ikke "
        "indlæses. Hent frekvenstabellen pr. enhed i stedet.",
        "The unit {value} is already on row {first_row}. A wide file has one row per unit; a "
        "unit on several rows may be individual answers, which may not be imported. Export "
        "the frequency table per unit instead.",
    ),
    "mapping_sheet_without_table": (
        'Arket "{value}" har ikke kolonnerne fra kortlægningen og er ikke læst.',
        'The sheet "{value}" does not have the columns of the mapping and was not read.',
    ),
    "mapping_sheet_without_unit": (
        'Arket "{value}" har intet enheds-id, hvor kortlægningen siger, det står.',
        'The sheet "{value}" has no unit id where the mapping says it is.',
    ),
    "reference_missing": (
        "{column} mangler i rækken.",
        "{column} is missing on the row.",
    ),
}


def problem(
    code: str,
    row: int | None = None,
    column: str | None = None,
    value: object = "",
    **details: object,
) -> Problem:
    """Build the Problem for `code`, filling its message with the column, value and details."""
    danish, english = MESSAGES[code]
    text = "" if value is None else str(value)
    return Problem(
        row=row,
        column=column,
        value=text,
        message_da=danish.format(column=column, value=text, **details),
        message_en=english.format(column=column, value=text, **details),
        code=code,
    )
