"""rubricate: align LLM-as-a-judge metrics with your human reviewers.

The public Python API; everything else may move.
"""

from rubricate.domain.errors import Conflict, InvalidInput, NotFound, RubricateError
from rubricate.domain.resolution import Policy
from rubricate.domain.scale import Scale
from rubricate.service.exporting import ExportReport
from rubricate.service.importing import ImportReport
from rubricate.service.workspace import Rubricate
from rubricate.settings import Settings

__all__ = [
    "Conflict",
    "ExportReport",
    "ImportReport",
    "InvalidInput",
    "NotFound",
    "Policy",
    "Rubricate",
    "RubricateError",
    "Scale",
    "Settings",
]
