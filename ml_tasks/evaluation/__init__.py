"""Evaluation of a registered model version against the champion, before any release.

- :mod:`ml_tasks.evaluation.holdout`: the time-based holdout both models are scored on;
- :mod:`ml_tasks.evaluation.metrics`: ROC-AUC, PR-AUC, recall at an alert budget, Brier score,
  calibration, per-slice metrics (pure numpy/pandas);
- :mod:`ml_tasks.evaluation.robustness`: statistical perturbation tests in the spirit of
  ISO/IEC 24029-2 (sensor noise, a missing sensor, unit shifts) with bootstrap intervals;
- :mod:`ml_tasks.evaluation.report`: the evaluation report (HTML with plots);
- :mod:`ml_tasks.evaluation.model_card`: the model card (Markdown and JSON);
- :mod:`ml_tasks.evaluation.pipeline`: one evaluation, logged to the challenger's MLflow run;
- :mod:`ml_tasks.evaluation.records`: a logged evaluation read back, verified by its digest.

Versions, lineage and scorers come from :mod:`ml_tasks.registry.models`; the evaluation's knobs
from the promotion policy, :mod:`ml_tasks.release.policy`.

Nothing here imports MLflow, XGBoost, pandas or matplotlib at module level.
"""
