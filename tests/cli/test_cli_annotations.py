"""`rubricate annotations ...`, on the tiny dataset (see conftest.py for its scores)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli


@pytest.fixture
def imported(cli: Cli, tiny: Path) -> Cli:
    cli.ok("import", str(tiny), "-e", "tiny")
    return cli


def resolutions(cli: Cli, tmp_path: Path, metric: str) -> dict[str, tuple[float, str]]:
    """What is stored, read back through an export: row id -> (value, resolved by)."""
    out = tmp_path / "export"
    cli.ok("export", "-e", "tiny", "-o", str(out), "--layout", "jsonl")
    lines = (out / "resolutions.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return {r["row_id"]: (r["value"], r["by"]) for r in records if r["metric"] == metric}


def test_resolve_reports_resolved_unresolved_and_kept(imported: Cli, tmp_path: Path) -> None:
    cli = imported
    # majority: a 2 2 3 -> 2; b 1 2 3 -> none; c 4 4 -> 4; d 5 -> 5
    out = cli.ok("annotations", "resolve", "-e", "tiny", "-m", "quality", "--policy", "majority")
    assert "3 rows resolved, 1 left unresolved for an admin, 0 kept" in out.stdout
    assert resolutions(cli, tmp_path, "quality") == {
        "a": (2, "policy:majority"),
        "c": (4, "policy:majority"),
        "d": (5, "policy:majority"),
    }
    again = cli.json("annotations", "resolve", "-e", "tiny", "-m", "quality", "--policy", "median")
    assert (again["policy"], again["annotated_rows"]) == ("median", 4)
    # b: the median of 1 2 3; a, c and d were resolved before
    assert (again["resolved"], again["unresolved"], again["kept"]) == (1, 0, 3)
    assert resolutions(cli, tmp_path / "1", "quality")["b"] == (2, "policy:median")

    replaced = cli.json(
        "annotations", "resolve", "-e", "tiny", "-m", "quality", "--policy", "unanimous",
        "--replace",
    )  # fmt: skip
    # unanimous decides c and d again; a and b lose the values earlier policies gave them
    assert (replaced["resolved"], replaced["unresolved"], replaced["kept"]) == (2, 2, 0)
    assert replaced["cleared"] == 2
    assert resolutions(cli, tmp_path / "2", "quality") == {
        "c": (4, "policy:unanimous"),
        "d": (5, "policy:unanimous"),
    }


def test_resolve_refuses_mean_on_labels(imported: Cli) -> None:
    stderr = imported.fails(
        "annotations", "resolve", "-e", "tiny", "-m", "verdict", "--policy", "mean"
    )
    assert "mean policy needs a numeric scale" in stderr
    assert "policy" in stderr
    with imported.workspace() as rb:
        assert all(c.resolved_rows == 0 for c in rb.evaluations.show("tiny").metrics)


def test_agreement_json_values(imported: Cli) -> None:
    result = imported.json("annotations", "agreement", "-e", "tiny", "-m", "quality")
    # Pairable rows a (2 2 3), b (1 2 3), c (4 4): n = 8 values.
    # Interval: Do = (4/2 + 12/2 + 0) / 8 = 1; De = 126 / 56 = 2.25; alpha = 1 - 1/2.25 = 5/9.
    # Ordinal (counts 1:1, 2:3, 3:2, 4:2): Do = 43/8, De = 624/56; alpha = 323/624.
    assert result["rows"] == 3
    assert result["reviewers"] == 3
    assert result["alpha_interval"] == pytest.approx(5 / 9)
    assert result["alpha_ordinal"] == pytest.approx(323 / 624)
    pairs = {(p["reviewer_a"], p["reviewer_b"]): p for p in result["pairs"]}
    assert pairs[("r1", "r2")]["n_shared"] == 3  # a, b, c: 2=2, 1≠2, 4=4
    assert pairs[("r1", "r2")]["exact_agreement"] == pytest.approx(2 / 3)
    assert pairs[("r1", "r2")]["mean_abs_diff"] == pytest.approx(1 / 3)
    assert pairs[("r1", "r3")]["exact_agreement"] == 0
    assert pairs[("r1", "r3")]["mean_abs_diff"] == pytest.approx(1.5)
    assert pairs[("r2", "r3")]["mean_abs_diff"] == pytest.approx(1)


def test_agreement_table_and_undefined_figures(imported: Cli, tmp_path: Path) -> None:
    cli = imported
    text = cli.ok("annotations", "agreement", "-e", "tiny", "-m", "quality").stdout
    assert "Krippendorff's alpha: ordinal 0.518, interval 0.556" in text
    assert "67%" in text  # r1 and r2
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "s", "input": "q", "output": "a"}) + "\n", encoding="utf-8")
    cli.ok("import", str(rows), "-e", "solo")
    # No annotations at all: an error (exit 2), not an empty table that reads as agreement.
    empty = cli.fails("annotations", "agreement", "-e", "solo", "-m", "quality")
    assert "quality has no annotations in solo" in empty
    cli.ok("annotations", "add", "-e", "solo", "--row", "s", "-m", "quality", "--annotator",
           "r1", "--score", "3")  # fmt: skip
    result = cli.json("annotations", "agreement", "-e", "solo", "-m", "quality")
    assert (result["rows"], result["reviewers"]) == (0, 1)
    assert result["alpha_ordinal"] is None  # nan: nothing pairable
    one = cli.ok("annotations", "agreement", "-e", "solo", "-m", "quality").stdout
    assert "ordinal –" in one and "1 reviewer, 0 rows" in one
    assert "No row is scored by two reviewers yet" in one


def test_add_and_resolve_row(imported: Cli, tmp_path: Path) -> None:
    cli = imported
    out = cli.ok(
        "annotations", "add", "-e", "tiny", "--row", "b", "-m", "quality",
        "--annotator", "r4", "--score", "2", "--comment", "meh",
    )  # fmt: skip
    assert "r4 scored row b 2 on quality" in out.stdout
    cli.ok(
        "annotations", "add", "-e", "tiny", "--row", "a", "-m", "verdict",
        "--annotator", "r4", "--score", "pass",
    )  # fmt: skip
    with cli.workspace() as rb:
        coverage = {c.metric: c for c in rb.evaluations.show("tiny").metrics}
    assert (coverage["quality"].annotations, coverage["quality"].reviewers) == (10, 4)
    assert coverage["verdict"].annotations == 9
    # b now has 1 2 3 2: a majority of two out of four is not more than half
    report = cli.json(
        "annotations", "resolve", "-e", "tiny", "-m", "quality", "--policy", "majority"
    )
    assert report["unresolved"] == 1

    out = cli.ok(
        "annotations", "resolve-row", "-e", "tiny", "--row", "b", "-m", "quality",
        "--value", "3", "--user", "admin",
    )  # fmt: skip
    assert "Row b resolved to 3 on quality by admin" in out.stdout
    assert resolutions(cli, tmp_path, "quality")["b"] == (3, "user:admin")
    again = cli.json(
        "annotations", "resolve", "-e", "tiny", "-m", "quality", "--policy", "median", "--replace"
    )
    assert again["kept"] == 1  # the admin's decision on b is never replaced in bulk

    stderr = cli.fails(
        "annotations", "add", "-e", "tiny", "--row", "a", "-m", "quality",
        "--annotator", "r4", "--score", "9",
    )  # fmt: skip
    assert "field 'score'" in stderr
    assert "no row 'zz'" in cli.fails(
        "annotations", "resolve-row", "-e", "tiny", "--row", "zz", "-m", "quality",
        "--value", "3", "--user", "admin",
    )  # fmt: skip
