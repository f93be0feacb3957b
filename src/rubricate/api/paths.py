"""The path parameters the API's routers and the web's pages share: each defined once,
with its one bound."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

EvaluationName = Annotated[str, Path(min_length=1, max_length=200)]
MetricName = Annotated[str, Path(min_length=1, max_length=100, description="The metric's name.")]
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]
RunIdPath = Annotated[str, Path(min_length=1, max_length=64, description="The run's id.")]
GuidelineId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The guideline's id.")]
QueueName = Annotated[
    str, Path(min_length=1, max_length=64, description="The review queue's name.")
]
# A route takes it as ``{row_id:path}``: a user's row id may hold any character, "/" too.
RowIdPath = Annotated[
    str, Path(min_length=1, max_length=200, description="The row's id in the user's files.")
]
