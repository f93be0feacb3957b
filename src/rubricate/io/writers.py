"""Writers of the flat layouts, and files that appear whole or not at all."""

from __future__ import annotations

import csv
import json
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from rubricate.io.formulas import neutralise

FLAT_COLUMNS: dict[str, list[str]] = {
    "rows": ["id", "input", "output", "context", "expected", "metadata"],
    "annotations": ["row_id", "metric", "annotator", "score", "label", "comment"],
    "judge_results": [
        "row_id", "metric", "metric_version", "score", "rationale", "model", "error",
        "raw_output", "input_tokens", "output_tokens", "cost_usd",
    ],
    "resolutions": ["row_id", "metric", "value", "by"],
}  # fmt: skip


def json_line(item: dict[str, Any]) -> str:
    return json.dumps(item, ensure_ascii=False, allow_nan=False) + "\n"


class RecordWriter:
    """One flat file: JSON Lines (missing values left out), or CSV with a header, an
    empty cell for a missing value, metadata as JSON text and formulas neutralised."""

    def __init__(self, handle: IO[str], kind: str, layout: str) -> None:
        self._handle = handle
        self._columns = FLAT_COLUMNS[kind]
        self._csv = None
        if layout == "csv":
            self._csv = csv.DictWriter(handle, self._columns)
            self._csv.writeheader()

    def write(self, record: dict[str, Any]) -> None:
        unknown = set(record) - set(self._columns)
        assert not unknown, f"no column for {unknown}"
        if self._csv is None:
            self._handle.write(json_line({k: v for k, v in record.items() if v is not None}))
            return
        cells = {k: ("" if v is None else v) for k, v in record.items()}
        if "metadata" in cells:
            cells["metadata"] = json.dumps(cells["metadata"], ensure_ascii=False, allow_nan=False)
        # no text cell may start a spreadsheet formula (``=cmd|...``); import restores them
        cells = {k: neutralise(v) if isinstance(v, str) else v for k, v in cells.items()}
        self._csv.writerow(cells)


class AtomicFiles:
    """Files written beside their final names and moved into place only on success."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._stack = ExitStack()
        self.names: list[str] = []

    def open(self, name: str) -> IO[str]:
        self.names.append(name)
        path = self._folder / f".{name}.partial"
        return self._stack.enter_context(path.open("w", encoding="utf-8", newline=""))

    def __enter__(self) -> AtomicFiles:
        return self

    def __exit__(self, error: type[BaseException] | None, *_: object) -> None:
        self._stack.close()
        for name in self.names:
            partial = self._folder / f".{name}.partial"
            if error is None:
                partial.replace(self._folder / name)
            else:
                partial.unlink(missing_ok=True)
