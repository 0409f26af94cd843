"""The model registry (MLflow): every alias move, digest check and version resolution.

- :mod:`ml_tasks.registry.models`: the MLflow client, aliases and versions resolved, a version's
  lineage and scorer;
- :mod:`ml_tasks.registry.digest`: the sha256 of a version's files (recorded at registration);
- :mod:`ml_tasks.registry.aliases`: the one place aliases move (training's ``challenger`` too),
  and :func:`~ml_tasks.registry.aliases.verify_or_quarantine`, the one digest checkpoint;
- :mod:`ml_tasks.registry.history`: the audit history of alias moves, "champion on day D".

Training, evaluation, release, monitoring and serving read and move models only through here.
"""
