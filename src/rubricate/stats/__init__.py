"""Agreement statistics for aligning LLM judges with human reviewers.

Pure functions only (no I/O): judge-vs-human agreement, Krippendorff's alpha among
reviewers, per-pair reviewer agreement, each reviewer's calibration against the others,
(grouped) bootstrap confidence intervals, and sign tests with Holm's correction.
Judge-vs-human figures accept sampling weights (``row_weights``).
"""

from rubricate.stats._agreement import (
    exact_agreement,
    mean_absolute_error,
    spearman,
    within_delta_agreement,
)
from rubricate.stats._alpha import (
    AlphaLevel,
    krippendorff_alpha,
    krippendorff_alpha_from_counts,
    krippendorff_alpha_from_matrix,
)
from rubricate.stats._bootstrap import BootstrapCI, bootstrap_ci
from rubricate.stats._calibration import (
    Calibration,
    PairFigures,
    ReviewerFigures,
    leave_one_out_alpha,
    reviewer_calibration,
)
from rubricate.stats._kappa import KappaWeights, confusion_matrix, weighted_kappa
from rubricate.stats._multiple import holm, sign_test
from rubricate.stats._pairwise import PairAgreement, pairwise_agreement
from rubricate.stats._validate import Scores

__all__ = [
    "AlphaLevel",
    "BootstrapCI",
    "Calibration",
    "KappaWeights",
    "PairAgreement",
    "PairFigures",
    "ReviewerFigures",
    "Scores",
    "bootstrap_ci",
    "confusion_matrix",
    "exact_agreement",
    "holm",
    "krippendorff_alpha",
    "krippendorff_alpha_from_counts",
    "krippendorff_alpha_from_matrix",
    "leave_one_out_alpha",
    "mean_absolute_error",
    "pairwise_agreement",
    "reviewer_calibration",
    "sign_test",
    "spearman",
    "weighted_kappa",
    "within_delta_agreement",
]
