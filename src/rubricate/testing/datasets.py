"""Dataset folders as `rubricate import` reads them (``dataset.json`` and ``rows.jsonl``),
for the tests and benchmarks that build one from rows of their own."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def dataset_row(
    external_id: str,
    input_text: str,
    output_text: str,
    metadata: Mapping[str, Any],
    metric: str,
    annotations: Iterable[Mapping[str, Any]],
    judge: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One line of ``rows.jsonl``: a row, its reviewers' annotations of ``metric`` and,
    when given, the stored judge's result (score, rationale, model...)."""
    item: dict[str, Any] = {
        "id": external_id,
        "input": input_text,
        "output": output_text,
        "metadata": metadata,
        "annotations": {metric: list(annotations)},
    }
    if judge is not None:
        item["judge"] = {metric: judge}
    return item


def write_dataset_folder(
    folder: Path, manifest: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]
) -> Path:
    """Write ``manifest`` as ``dataset.json`` and ``rows`` as ``rows.jsonl``, one a line."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    with (folder / "rows.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return folder


def zipped(files: Mapping[str, bytes]) -> bytes:
    """A zip archive (deflated) holding ``files``, name to contents, as an upload sends it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
