"""The training step of the demo (`make run`), after the feature store holds the demo range.

One manual run of the real ``train_failure_model`` DAG (``dag.test``, local mode: Ray starts
in-process) with the demo range as its Params, then the registered challenger and its
validation metrics, read back from the MLflow registry.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from ml_tasks.settings import Settings


def challenger_summary(settings: Settings) -> dict[str, Any]:
    """The ``challenger`` version with its run's best validation metrics and lineage."""
    from ml_tasks.training import tracking
    from ml_tasks.training.spec import MODEL_NAME

    client = tracking.client(settings)
    version = client.get_model_version_by_alias(MODEL_NAME, tracking.CHALLENGER)
    run = client.get_run(version.run_id)
    return {
        "version": version.version,
        "run_id": version.run_id,
        "tags": dict(version.tags),
        "metrics": {
            k.removeprefix("best.valid-"): v
            for k, v in run.data.metrics.items()
            if k.startswith("best.")
        },
        "params": dict(run.data.params),
    }


def format_challenger(summary: dict[str, Any]) -> str:
    tags, params = summary["tags"], summary["params"]
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in sorted(summary["metrics"].items()))
    best = params.get("best_iteration")
    best_round = int(best) + 1 if best not in (None, "None") else params.get("rounds_trained")
    lineage = ", ".join(
        f"{k.removeprefix('dataset.').removesuffix('.version')} v{v}"
        for k, v in sorted(tags.items())
        if k.startswith("dataset.")
    )
    return "\n".join(
        [
            f"Registered failure_model v{summary['version']} as @challenger"
            f"  (models:/failure_model@challenger)",
            f"  validation     {metrics}",
            f"  rounds         {params.get('rounds_trained')} trained of"
            f" {params.get('rounds_requested')} (best round {best_round})",
            f"  training set   v{tags.get('training_set.version')}"
            f"  ({params.get('training_set.start')}..{params.get('training_set.end')})",
            f"  lineage        {lineage}",
            f"  code / sha256  {tags.get('code_version', '')[:12]} /"
            f" {tags.get('model_sha256', '')[:16]}...",
            f"  mlflow run     {summary['run_id']}",
        ]
    )


def run_training_demo(start: date, end: date, settings: Settings) -> int:
    """Train on ``[start, end]`` through the DAG and print the registered challenger."""
    from ml_platform_demo.orchestration import as_of_run_time, load_dag, run_dag_test

    dag = load_dag("train_failure_model", settings)
    t0 = time.perf_counter()
    run = run_dag_test(
        dag,
        as_of_run_time(end),
        run_conf={"start": start.isoformat(), "end": end.isoformat(), "mode": "local"},
    )
    state = str(run.state)
    print(
        f"      {start}..{end}  train_failure_model  {state:<8} {time.perf_counter() - t0:5.1f} s"
    )
    if state != "success":
        return 1
    print()
    print(format_challenger(challenger_summary(settings)))
    return 0
