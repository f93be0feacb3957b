"""Names the API tests share."""

from rubricate.demo import EVALUATION

TOKEN = "s3cret-token-for-tests"
LOCAL_TOKEN = "the-local-servers-own-token"
LOCAL_URL = "http://127.0.0.1:8000"  # a single-user app answers to loopback names only
LOCAL = {"base_url": LOCAL_URL, "headers": {"Authorization": f"Bearer {LOCAL_TOKEN}"}}
HELPFUL = "answer_helpfulness"
POLICY = "policy_compliance"

__all__ = ["EVALUATION", "HELPFUL", "LOCAL", "LOCAL_TOKEN", "LOCAL_URL", "POLICY", "TOKEN"]
