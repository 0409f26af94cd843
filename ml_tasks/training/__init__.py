"""Training: XGBoost on Ray Train with checkpoints and resume, registered in MLflow.

- :mod:`ml_tasks.training.spec`: the training-set reference, the training configuration and the
  run identity (run name and storage path, derived from the DAG run and training-set version);
- :mod:`ml_tasks.training.data`: feature selection, the time-based split and per-worker shards
  read straight from the parquet files (no Ray Data);
- :mod:`ml_tasks.training.loop`: the per-worker training loop and its checkpoint callback;
- :mod:`ml_tasks.training.runner`: Ray start-up (in-process or ``RAY_ADDRESS``) and the trainer;
- :mod:`ml_tasks.training.tracking`: MLflow logging, registration and the ``challenger`` alias;
- :mod:`ml_tasks.training.kuberay`: RayJob manifests for the Kubernetes (spot GPU) path;
- :mod:`ml_tasks.training.pipeline`: the stage functions the DAG and the CLI call;
- :mod:`ml_tasks.training.cli`: ``python -m ml_tasks train`` (the training step of ``make run``
  is :mod:`ml_platform_demo.steps.training`);
- :mod:`ml_tasks.training.storage`: JSON and folders on local disk or object storage;

Nothing here imports Ray, XGBoost or MLflow at module level, except :mod:`~ml_tasks.training.loop`
(its callback subclasses Ray's), which only the runner and the Ray workers import.
"""
