"""An uploaded file imported into an evaluation, the one use case behind the API's
``POST /api/v1/evaluations/{name}/import`` and the web's Import form: unpacked within the
limits of rubricate.api.unzip into a temporary folder, imported all or nothing, and an
error names the file as the uploader knows it, never our temporary path."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rubricate.api import unzip
from rubricate.api.schemas import ImportReportOut
from rubricate.domain.errors import InvalidInput

if TYPE_CHECKING:
    from rubricate.service.importing import ImportReport
    from rubricate.service.workspace import Rubricate

FORMATS = ("jsonl", "csv", "zip", "otel")


@dataclass(frozen=True)
class Upload:
    """What came with an uploaded file: how to read it and where it goes."""

    kind: str | None
    fmt: str
    description: str | None
    metric: str | None
    dry_run: bool
    filename: str | None = None  # the file's name on the uploader's side, when known


def import_upload(rb: Rubricate, name: str, data: IO[bytes], upload: Upload) -> ImportReportOut:
    fmt, kind = upload.fmt, upload.kind
    if upload.metric is not None and fmt != "otel":
        raise InvalidInput("metric is for format=otel", field="metric")
    with tempfile.TemporaryDirectory(prefix="rubricate-upload-") as tmp:
        root = Path(tmp)
        if fmt == "zip":
            target = unzip.unpack(data, root / "upload")
        elif fmt == "otel":
            target = root / "otel.jsonl"
            unzip.save(data, target)
        else:
            if kind is None:
                raise InvalidInput("kind is needed for a single file", field="kind")
            target = root / f"{kind}.{fmt}"
            unzip.save(data, target)
        try:
            report: ImportReport = (
                rb.import_otel(
                    target, name, metric=upload.metric, description=upload.description,
                    dry_run=upload.dry_run,
                )
                if fmt == "otel"
                else rb.import_path(
                    target, name, kind=kind, description=upload.description,
                    dry_run=upload.dry_run,
                )
            )  # fmt: skip
        except InvalidInput as error:
            if error.file is not None:  # name the file as the client knows it, not our tmp
                known = Path(error.file)
                relative = known.relative_to(root) if known.is_relative_to(root) else known
                shown = relative.name if fmt != "zip" else str(relative)
                if upload.filename:  # a single file by its own name; a zip's entries in it
                    shown = upload.filename if fmt != "zip" else f"{upload.filename}: {shown}"
                raise InvalidInput(
                    error.message, file=shown, line=error.line, field=error.field
                ) from None
            raise
    return ImportReportOut.model_validate(report)
