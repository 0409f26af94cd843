"""Drift and data-quality monitoring (Evidently), wired to alerts, retraining and promotion.

- :mod:`ml_tasks.monitoring.policy`: ``include/policies/monitoring.yaml`` as typed settings;
- :mod:`ml_tasks.monitoring.frames`: the interval's features and the reference, sampled;
- :mod:`ml_tasks.monitoring.champion`: the champion model, its training set and predictions;
- :mod:`ml_tasks.monitoring.drift`: Evidently reports per slice (fleet and plants);
- :mod:`ml_tasks.monitoring.quality`: nulls, silent machines, out-of-range shares, new categories;
- :mod:`ml_tasks.monitoring.reports`: HTML/JSON report files and their MLflow run;
- :mod:`ml_tasks.monitoring.store`: the drift table (one row per interval and model version);
- :mod:`ml_tasks.monitoring.status`: the alarm status and the promotion gate;
- :mod:`ml_tasks.monitoring.pipeline`: one daily run (DAG task and CLI);
- :mod:`ml_tasks.monitoring.results`: what a run returns (:class:`MonitoringDay`, XCom's payload).

Nothing here imports Evidently, MLflow or pandas at module level.
"""
