"""Names the workers and the processes that enqueue agree on (importing this loads no
workflow code)."""

EVALUATION = "rubricate.evaluation"
ALIGNMENT = "rubricate.alignment"
MAX_ATTEMPTS = 3  # a run that crashes its worker this many times ends in Error
HEARTBEAT_SECONDS = 2.0
DEAD_AFTER_SECONDS = 15.0  # no heartbeat for this long: the worker is dead
