"""Every data asset the DAGs produce and consume, declared once.

DAG files import these objects for their ``outlets`` and ``schedule``; none builds an ``Asset``
of its own, so a producer and its consumers cannot drift apart on a name or a URI (that link is
what starts the downstream DAGs and draws the lineage in the UI). Declaring them reads nothing:
no settings, no I/O, cheap at parse time.
"""

from __future__ import annotations

from airflow.sdk import Asset

from ml_tasks.training.spec import MODEL_NAME

# Curated Delta tables (elt_telemetry, one commit per landing day; extra: table version and row
# counts). The features DAG schedules on telemetry and work orders together.
CURATED_MACHINES = Asset(name="curated_machines", uri="delta://lake/machines")
CURATED_TELEMETRY = Asset(name="curated_telemetry", uri="delta://lake/telemetry")
CURATED_WORK_ORDERS = Asset(name="curated_work_orders", uri="delta://lake/work_orders")

# Feature store (Feast project ``predictive_maintenance``): the offline parquet partitions the
# features DAG writes (training schedules on it), and the online store it materializes them into.
FEATURES_OFFLINE = Asset(name="features_offline", uri="feast://predictive_maintenance/offline")
FEATURES_ONLINE = Asset(name="features_online", uri="feast://predictive_maintenance/online")

# Model registry (MLflow): a new version of the model under the ``challenger`` alias. The training
# DAG emits it with the version in the event's extra; evaluation consumes it.
MODEL_CHALLENGER = Asset(name=f"{MODEL_NAME}_challenger", uri=f"mlflow://{MODEL_NAME}/challenger")

# Evaluation and release (evaluate_model, promote_model, rollback_model): the evaluation of a
# challenger version was logged to its MLflow run (extra: version, champion compared with; starts
# promote_model); the ``champion`` alias moved (extra: from and to version, reason).
MODEL_EVALUATION = Asset(name=f"{MODEL_NAME}_evaluation", uri=f"mlflow://{MODEL_NAME}/evaluation")
MODEL_CHAMPION = Asset(name=f"{MODEL_NAME}_champion", uri=f"mlflow://{MODEL_NAME}/champion")

# Monitoring (monitor_drift): emitted when the daily check finds feature or prediction drift past
# include/policies/monitoring.yaml. The event's extra names the interval, the model version and
# the reasons. monitor_live_performance emits it too when the champion's live performance drops
# (extra "kind": "live_performance", kinds ["live_performance"], the labelled day as interval).
DRIFT_ALARM = Asset(name="drift_alarm", uri="platform://monitoring/drift_alarm")

# Maintenance manuals (refresh_embeddings): the document system's nightly export lands a full
# snapshot under landing/manuals/date=YYYY-MM-DD/ and may post an event on MANUALS_LANDING (REST
# API, extra {"date": "YYYY-MM-DD"}) to refresh the index early; the DAG emits SEARCH_INDEX_LIVE
# when the live alias of the search index moves (extra: live and previous version, interval).
MANUALS_LANDING = Asset(name="manuals_landing", uri="platform://landing/manuals")
SEARCH_INDEX_LIVE = Asset(name="manual_search_index", uri="lancedb://search/manuals/live")

ALL_ASSETS = (
    CURATED_MACHINES,
    CURATED_TELEMETRY,
    CURATED_WORK_ORDERS,
    FEATURES_OFFLINE,
    FEATURES_ONLINE,
    MODEL_CHALLENGER,
    MODEL_EVALUATION,
    MODEL_CHAMPION,
    DRIFT_ALARM,
    MANUALS_LANDING,
    SEARCH_INDEX_LIVE,
)
