"""The release publishes byte for byte what it published before it was made faster (issue 20).

``data/release_same_output.json`` holds, for generated gym, apv and large (200 units) files
and several rule sets, the SHA-256 of the release's JSON (every unit's row exactly as
``unit_figures`` stores it, in order, plus the suppression and the audit's problems) as the
code made it *before* the speed work, with a few whole units beside it for a readable diff.
The release must still make exactly that. Regenerate only for an intended change of what is
published: ``python tests/domain/test_release_speed_same_output.py --write``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict
from operator import mul
from pathlib import Path
from typing import Any

import pytest

from app.domain.importing import ImportResult, parse_results
from app.domain.release import QuestionInfo, Release, ReleaseRules, build_release
from app.domain.scoring import QuestionCounts, RawUnit, roll_up

HERE = Path(__file__).resolve().parent
STORED = HERE / "data" / "release_same_output.json"
GENERATOR = HERE.parents[2] / "shared" / "tools" / "gen_results.py"

FILES = {  # name: (generator kind, seed, units)
    "gym-1": ("gym", 1, 0),
    "gym-7": ("gym", 7, 0),
    "apv-1": ("apv", 1, 0),
    "apv-4": ("apv", 4, 0),
    "large-200": ("large", 3, 200),
}
RULES = {
    "default": ReleaseRules(),
    "strict": ReleaseRules(threshold=10, sensitive_threshold=20, yellow_from=40, green_from=80),
    "loose": ReleaseRules(threshold=3, sensitive_threshold=5, yellow_from=60, green_from=60),
}
SAMPLED_UNITS = 1


def generated(kind: str, seed: int, units: int, out: Path) -> Path:
    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR} is missing: the suite expects ../shared beside the repo")
    command = [sys.executable, str(GENERATOR), kind, "--seed", str(seed), "-o", str(out)]
    if units:
        command += ["--units", str(units)]
    subprocess.run(command, check=True)
    return out


def raw_units(parsed: ImportResult) -> dict[str, RawUnit]:
    """The units' counts as the figures service builds them from a parsed file."""
    per_unit: dict[str, dict[str, QuestionCounts]] = {u.code: {} for u in parsed.units}
    for row in parsed.results:
        if row.counts is not None:
            figures = QuestionCounts(
                row.counts, row.dont_know, row.n, sum(map(mul, row.counts, range(1, 12)))
            )
        else:
            figures = QuestionCounts.from_mean(row.n, row.mean if row.n else 1, row.dont_know)
        per_unit[row.unit_code][row.question_code] = figures
    return {
        u.code: RawUnit(u.parent_code, u.has_own_rows, per_unit[u.code], u.respondents, u.invited)
        for u in parsed.units
    }


def release_of(path: Path, rules: ReleaseRules) -> Release:
    with path.open("rb") as stream:
        parsed = parse_results(stream)
    assert parsed.ok, parsed.errors[:3]
    questions = [
        QuestionInfo(q.code, q.theme, len(q.scale), q.direction, q.zero_tolerance)
        for q in parsed.questions
    ]
    return build_release(roll_up(raw_units(parsed)), questions, rules)


def published(release: Release) -> dict[str, Any]:
    """Everything the release hands on, as JSON-able data in its own order."""
    suppression = release.suppression
    return {
        "units": [asdict(unit) for unit in release.units.values()],
        "suppression": {
            "threshold": suppression.threshold,
            "sensitive_threshold": suppression.sensitive_threshold,
            "shown": sorted(suppression.shown),
            "hidden": dict(suppression.hidden),
            "residual": dict(suppression.residual),
            "hidden_questions": {k: dict(v) for k, v in suppression.hidden_questions.items()},
        },
        "problems": list(release.problems),
    }


def digest(data: dict[str, Any]) -> str:
    # Floats as repr (json's way): the same float prints the same text, and only it does.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def current(tmp: Path) -> dict[str, Any]:
    made: dict[str, Any] = {}
    for name, (kind, seed, units) in FILES.items():
        path = generated(kind, seed, units, tmp / f"{name}.csv")
        for rules_name, rules in RULES.items():
            data = published(release_of(path, rules))
            made[f"{name}/{rules_name}"] = {
                "sha256": digest(data),
                "units": len(data["units"]),
                "shown": sum(1 for unit in data["units"] if unit["shown"]),
                "problems": data["problems"],
                "sample": [u for u in data["units"] if u["shown"]][:SAMPLED_UNITS],
            }
    return made


def test_release_is_byte_for_byte_what_it_was(tmp_path: Path) -> None:
    stored = json.loads(STORED.read_text())
    made = current(tmp_path)
    assert made.keys() == stored.keys()
    for key, expected in stored.items():
        got = made[key]
        # The readable parts first, so a difference says where it is.
        assert got["units"] == expected["units"], key
        assert got["shown"] == expected["shown"], key
        assert got["problems"] == expected["problems"], key
        assert got["sample"] == expected["sample"], key
        assert got["sha256"] == expected["sha256"], f"{key}: the release differs"


if __name__ == "__main__" and "--write" in sys.argv:
    with tempfile.TemporaryDirectory() as name:
        result = current(Path(name))
    STORED.write_text(json.dumps(result, ensure_ascii=False, indent=0) + "\n")
    print(f"wrote {STORED}: {len(result)} releases")
