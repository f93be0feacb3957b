"""A tiny DBOS worker for tests/runs/test_dbos_behaviour.py and test_dbos_endings.py (started
by dbos_support.py).

    python worker.py SYSTEM_DATABASE_URL EXECUTOR_ID

Launches DBOS, registers the queue "runs" (worker_concurrency=1) after launch, prints READY,
then obeys one command per stdin line (after EOF it keeps working until killed):

    recover DEAD_EXECUTOR_ID          DBOS._recover_pending_workflows([DEAD_EXECUTOR_ID])
    enqueue WORKFLOW_ID COUNT SECONDS SetWorkflowID(WORKFLOW_ID) + queue.enqueue(steps, ...)
    fork WORKFLOW_ID START_STEP       DBOS.fork_workflow(WORKFLOW_ID, START_STEP)

Each step prints "<workflow id> step <index> start|end" to stdout, flushed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from dbos import DBOS, SetWorkflowID

QUEUE = "runs"


@DBOS.step()
def step(index: int, seconds: float, gate: str) -> str:
    print(f"{DBOS.workflow_id} step {index} start", flush=True)
    time.sleep(seconds)
    if gate and not Path(gate).exists():
        print(f"{DBOS.workflow_id} step {index} raises", flush=True)
        raise RuntimeError(f"step {index} failed: {gate} is missing")
    print(f"{DBOS.workflow_id} step {index} end", flush=True)
    return f"{DBOS.workflow_id}:{index}"


@DBOS.workflow(name="steps")
def steps(count: int, seconds: float, fail_at: int = -1, gate: str = "") -> list[str]:
    """COUNT steps of SECONDS each; step FAIL_AT raises while the file GATE does not exist."""
    return [step(i, seconds, gate if i == fail_at else "") for i in range(count)]


@DBOS.step()
def kill_own_process() -> None:
    print(f"{DBOS.workflow_id} kills its process", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


@DBOS.workflow(name="crash", max_recovery_attempts=2)
def crash() -> None:
    kill_own_process()


def main() -> None:
    url, executor_id = sys.argv[1:3]
    DBOS(
        config={
            "name": "rubricate-test",
            "system_database_url": url,
            "executor_id": executor_id,
            "log_level": "WARNING",
        }
    )
    DBOS.launch()
    queue = DBOS.register_queue(QUEUE, worker_concurrency=1, polling_interval_sec=0.2)
    print("READY", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "recover":
            handles = DBOS._recover_pending_workflows(args)
            print("RECOVERED", *(h.get_workflow_id() for h in handles), flush=True)
        elif command == "enqueue":
            workflow_id, count, seconds = args
            with SetWorkflowID(workflow_id):
                handle = queue.enqueue(steps, int(count), float(seconds))
            print("ENQUEUED", handle.get_workflow_id(), flush=True)
        elif command == "fork":
            handle = DBOS.fork_workflow(args[0], int(args[1]))
            print("FORKED", handle.get_workflow_id(), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
