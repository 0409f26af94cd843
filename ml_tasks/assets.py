"""Names and URIs of the data assets the DAGs produce and consume.

Plain strings, so DAG files build their ``Asset`` objects without reading settings at parse time.
Consumers schedule on the same URI the producer emits, which is what links the DAGs in the UI.
"""

from __future__ import annotations

CURATED_MACHINES = "delta://lake/machines"
CURATED_TELEMETRY = "delta://lake/telemetry"
CURATED_WORK_ORDERS = "delta://lake/work_orders"
# Feature store (Feast project ``predictive_maintenance``): the offline parquet partitions the
# features DAG writes, and the online store it materializes them into.
FEATURES_OFFLINE = "feast://predictive_maintenance/offline"
FEATURES_ONLINE = "feast://predictive_maintenance/online"
# Model registry (MLflow): a new version of ``failure_model`` under the ``challenger`` alias. The
# training DAG emits it with the version in the event's extra; evaluation and release consume it.
MODEL_CHALLENGER = "mlflow://failure_model/challenger"
# Monitoring (monitor_drift): emitted when the daily check finds feature or prediction drift past
# include/policies/monitoring.yaml; the training DAG schedules on it (data-aware retraining). The
# event's extra names the interval, the model version and the reasons.
DRIFT_ALARM = "platform://monitoring/drift_alarm"
# Evaluation and release (evaluate_model, promote_model, rollback_model): the evaluation of a
# challenger version was logged to its MLflow run (extra: version, champion compared with); the
# ``champion`` alias moved (extra: from and to version, reason).
MODEL_EVALUATION = "mlflow://failure_model/evaluation"
MODEL_CHAMPION = "mlflow://failure_model/champion"
# Maintenance manuals (refresh_embeddings): the document system's nightly export lands a full
# snapshot under landing/manuals/date=YYYY-MM-DD/ and may post an event on MANUALS_LANDING (REST
# API, extra {"date": "YYYY-MM-DD"}) to refresh the index early; the DAG emits SEARCH_INDEX_LIVE
# when the live alias of the search index moves (extra: live and previous version, interval).
MANUALS_LANDING = "platform://landing/manuals"
SEARCH_INDEX_LIVE = "lancedb://search/manuals/live"
