"""A worker of the rubricate before stage outputs were typed, for
tests/runs/test_durable_alignment.py: it checkpoints an alignment run as that version did,
then dies, so that the test can recover the run with the current worker.

    python legacy_alignment.py EXECUTOR_ID     (settings from the RUBRICATE_* environment)

It registers the alignment workflow under its real name, with the old workflow's body
(stages by string, ``carried`` a plain dict) and a step of the same name. The step does
each stage's work with the current engine but returns the dict the old code returned
(format 0: no "format" key, its own key names, only the keys set so far), which DBOS
records as it did then. At the verify stage the process kills itself (SIGKILL), as a worker
dies mid-run. Prints READY once it takes work from the queue.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

from dbos import DBOS

from rubricate.alignment.engine import AlignmentEngine
from rubricate.alignment.stages import Carried, Stage
from rubricate.runs.names import ALIGNMENT
from rubricate.runs.system import QUEUE, dbos_config
from rubricate.service.workspace import Rubricate
from rubricate.settings import Settings

OLD_STAGES = ("prepare", "distill", "verify", "finish")
# The keys the old code's ``carried`` held after each stage, under its names.
OLD_KEYS = {
    "prepare": ("prepared", "usage", "spent"),
    "distill": ("prepared", "usage", "spent", "items", "notes"),
}
OLD_NAMES = {"items": "proposed", "report": "verification", "reused": "reused_judge_results"}

settings = Settings()
workspace = Rubricate(settings)


def old_format(carried: Carried, stage: str) -> dict[str, Any]:
    new = carried.to_stored()
    return {key: new[OLD_NAMES.get(key, key)] for key in OLD_KEYS[stage]}


@DBOS.step()
def alignment_stage(run_id: str, stage: str, carried: dict[str, Any]) -> dict[str, Any]:
    if stage not in OLD_KEYS:
        print(f"{run_id} dies at {stage}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    engine = AlignmentEngine(workspace.db, settings)
    done = engine.run_stage(run_id, Stage(stage), Carried.from_stored(carried))
    return old_format(done, stage)


@DBOS.workflow(name=ALIGNMENT)
def alignment_workflow(run_id: str) -> str:
    carried: dict[str, Any] = {}
    for stage in OLD_STAGES:
        carried = alignment_stage(run_id, stage, carried)
        if carried.get("stopped"):
            break
    return "unreachable: this worker dies at verify"


def main() -> None:
    DBOS(config=dbos_config(settings, sys.argv[1]))
    DBOS.launch()
    DBOS.register_queue(QUEUE, worker_concurrency=1, polling_interval_sec=0.2)
    print("READY", flush=True)
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main()
