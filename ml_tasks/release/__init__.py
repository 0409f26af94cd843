"""Release of registered model versions: gates, staged promotion, audit history, rollback.

- :mod:`ml_tasks.release.gates`: the policy's rules applied to an evaluation (metrics,
  robustness, artifacts) and to the drift status; every check carries its numbers;
- :mod:`ml_tasks.release.history`: the audit history of alias changes (Delta table plus
  registry tags) and "which version was champion on day D";
- :mod:`ml_tasks.release.aliases`: the one place aliases move, each move recorded;
- :mod:`ml_tasks.release.promotion`: shadow replay, canary steps, the blue/green flip, rollback;
- :mod:`ml_tasks.release.cli` and :mod:`ml_tasks.release.demo`: the CLI commands and the demo
  step.

Until the serving gateway exists, "shadow" and "canary" act on registry aliases and on an
offline replay of the holdout traffic, and say so in their logs and records.
"""
