"""Release of registered model versions: gates, staged promotion, rollback.

Aliases move, digests are checked and history is written only by :mod:`ml_tasks.registry`.

- :mod:`ml_tasks.release.policy`: ``include/policies/promotion.yaml`` as typed settings;
- :mod:`ml_tasks.release.gates`: the policy's rules applied to an evaluation (metrics,
  robustness, artifacts) and to the drift status; every check carries its numbers;
- :mod:`ml_tasks.release.versions`: which version a release acts on, and whether one was released;
- :mod:`ml_tasks.release.staged`: shadow and canary, live or on the offline replay;
- :mod:`ml_tasks.release.live_walk`: the shadow and canary walk on a running gateway, one step
  per call; :mod:`ml_tasks.release.live`: a stage's live numbers and the decision on them;
- :mod:`ml_tasks.release.flip`: the blue/green flip of ``champion``;
- :mod:`ml_tasks.release.rollback`: one step back, or to a released (or forced) version;
- :mod:`ml_tasks.release.cli`: the CLI commands (the demo step is
  :mod:`ml_platform_demo.steps.release`).

With a serving gateway running, "shadow" and "canary" act on its live traffic; without one,
on an offline replay of the holdout traffic; their logs and records say which.
"""
