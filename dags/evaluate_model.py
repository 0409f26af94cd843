"""
### Evaluate a failure_model challenger against the champion; write its model card

Runs when `train_failure_model` registers a new version (the `failure_model_challenger` asset),
or manually for any version (Param `version`).

1. `resolve_challenger`: the version to evaluate: the Param, else the triggering asset event's
   version, else the `challenger` alias.
2. `evaluate_challenger`: challenger and current champion are scored on **the same time-based
   holdout** (the challenger's validation window, minus anything the champion trained on):
   ROC-AUC, PR-AUC, recall and precision at the alert budget (top k % of machines per hour),
   Brier score and calibration (ECE, reliability curve), per-plant slices and scoring latency.
   Robustness in the spirit of ISO/IEC 24029-2: Gaussian sensor noise, each sensor missing, unit
   shifts, each drop with a paired bootstrap confidence interval. The evaluation report
   (`evaluation/report.html` with plots), `evaluation/evaluation.json` and the **model card**
   (`model_card/model_card.md`: intended use, data provenance, features, metrics per slice,
   robustness, EU AI Act risk tier and justification, limitations) are logged to the
   challenger's MLflow run; the version gets the tag `evaluation.status=complete` last.
   The `failure_model_evaluation` asset event starts `promote_model`.

Knobs (alert budget, bootstrap size, perturbations) are in `include/policies/promotion.yaml`.
CLI equivalent: `python -m ml_tasks evaluate --model failure_model [--version N]`.

In the Airflow UI, **ML platform** in the navigation ([/plugin/ml](/plugin/ml); the page alone:
[/ml/#models](/ml/#models)) shows every gate's checks on the latest evaluation (metric, challenger,
champion, threshold, why), the report and model card.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from ml_platform_airflow.assets import MODEL_CHALLENGER, MODEL_EVALUATION
from ml_platform_airflow.constants import MODEL_NAME
from ml_platform_airflow.notifiers import PlatformAlertNotifier


@dag(
    description="Evaluate a failure_model challenger against the champion; write its model card",
    schedule=[MODEL_CHALLENGER],
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["evaluation", "release", "ml", "mlflow"],
    default_args={
        "owner": "platform-ml",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": PlatformAlertNotifier(title="Evaluation failed"),
    },
    params={
        "version": Param(
            None,
            type=["null", "string"],
            title="Model version",
            description="Version of failure_model to evaluate; empty: the triggering asset "
            "event's version, else the challenger alias",
        ),
    },
    doc_md=__doc__,
)
def evaluate_model() -> None:
    @task(multiple_outputs=False)
    def resolve_challenger(*, params: Any = None, triggering_asset_events: Any = None) -> dict:
        """The version to evaluate (Param, asset event, or the challenger alias)."""
        from ml_tasks.release.versions import resolve_version

        extras = [e.extra for e in (triggering_asset_events or {}).get(MODEL_CHALLENGER, [])]
        return resolve_version(MODEL_NAME, params["version"], event_extra=extras)

    @task(multiple_outputs=False, outlets=[MODEL_EVALUATION], execution_timeout=timedelta(hours=1))
    def evaluate_challenger(
        resolved: dict, *, run_id: Any = None, outlet_events: Any = None
    ) -> dict:
        """Score challenger and champion, robustness, report and model card -> MLflow."""
        from ml_tasks.evaluation.pipeline import evaluate_version

        summary = evaluate_version(resolved["version"], model_name=MODEL_NAME, run_id=run_id)
        outlet_events[MODEL_EVALUATION].extra = {
            "model_name": MODEL_NAME,
            "version": summary.version,
            "champion_version": summary.champion_version,
            "mlflow_run_id": summary.run_id,
        }
        return summary.to_dict()  # XCom carries JSON

    evaluate_challenger(resolve_challenger())


evaluate_model()
