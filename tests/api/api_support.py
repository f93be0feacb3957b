"""Names the API tests share."""

from rubricate.demo import EVALUATION

TOKEN = "s3cret-token-for-tests"
HELPFUL = "answer_helpfulness"
POLICY = "policy_compliance"

__all__ = ["EVALUATION", "HELPFUL", "POLICY", "TOKEN"]
