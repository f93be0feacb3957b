"""Import a file from the Evaluations page in a real Chromium, against `rubricate serve`:
the admin opens "Import a file", picks a JSONL file of rows, submits, and lands on the new
evaluation with what came in; a wrong line comes back on the list naming file and line."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect
from tests.web.browser_support import screenshot


def test_an_admin_imports_a_file_from_the_list(page: Page, served: str, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    lines = [{"id": f"u-{i}", "input": f"question {i}", "output": f"answer {i}"} for i in range(3)]
    rows.write_text("".join(json.dumps(line) + "\n" for line in lines))
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(lines[0]) + "\n" + json.dumps({"id": "u-9"}) + "\n")

    page.goto(f"{served}/evaluations")
    form = page.locator("details.import-form")
    form.locator("summary").click()
    form.get_by_label("Evaluation", exact=True).fill("uploaded")
    form.get_by_label("File", exact=True).set_input_files(str(broken))
    form.get_by_label("A single file holds").select_option("rows")
    form.get_by_role("button", name="Import").click()
    expect(page.locator(".import-error")).to_contain_text("broken.jsonl:2")
    screenshot(page, "import-refused")

    form = page.locator("details.import-form")  # the list again, the form left open
    form.get_by_label("Evaluation", exact=True).fill("uploaded")
    form.get_by_label("File", exact=True).set_input_files(str(rows))
    form.get_by_label("A single file holds").select_option("rows")
    form.get_by_role("button", name="Import").click()
    expect(page).to_have_url(f"{served}/evaluations/uploaded")
    expect(page.locator(".notice.imported")).to_have_text(
        "Import into uploaded (a new evaluation) added 3 rows."
    )
