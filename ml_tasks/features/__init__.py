"""The feature store: Feast definitions in ``include/feature_repo``, computed here.

- :mod:`ml_tasks.features.layout`: the offline store's partitions (where each day of each view
  lives), written, found and read only through it;
- :mod:`ml_tasks.features.compute`: feature views for a range of days, from the curated Delta
  tables, into the offline store (partitioned parquet);
- :mod:`ml_tasks.features.store`: ``feature_store.yaml`` from the settings, idempotent apply,
  materialization into the online store (SQLite embedded, Redis in production);
- :mod:`ml_tasks.features.online`: online reads for one or many machines;
- :mod:`ml_tasks.features.training`: point-in-time-correct training sets with labels;
- :mod:`ml_tasks.features.pipeline`: compute, register and materialize in one call (CLI, demo).

Nothing here imports Feast at module level except the online-store classes Feast loads by path.
"""
