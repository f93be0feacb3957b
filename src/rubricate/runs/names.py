"""Names the workers and the processes that enqueue agree on (importing this loads no
workflow code)."""

EVALUATION = "rubricate.evaluation"
ALIGNMENT = "rubricate.alignment"
VERIFY = "rubricate.alignment.verify"  # verify an Aligned run's guidelines again
VERIFY_ATTEMPT = "verify-"  # a Verify again's workflow: RUN.attempt-verify-<hex>
NOT_VERIFIED_AGAIN = "not verified again: "  # how a Verify again reports a refusal
MAX_ATTEMPTS = 3  # a run that crashes its worker this many times ends in Error
HEARTBEAT_SECONDS = 2.0
DEAD_AFTER_SECONDS = 15.0  # no heartbeat for this long: the worker is dead
