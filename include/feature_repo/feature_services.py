"""Feature services: the versioned feature sets models are trained and served with."""

from __future__ import annotations

from feast import FeatureService

from .feature_views import machine_attributes, maintenance_history, telemetry_stats

# Version 1 of the failure model's inputs: every feature of the three views. Training records the
# service it used and serving reads the same one; changing the inputs means a new service
# (failure_model_v2) next to this one, so a deployed model never gets features it was not
# trained on.
failure_model_v1 = FeatureService(
    name="failure_model_v1",
    features=[telemetry_stats, maintenance_history, machine_attributes],
    description="Inputs of the machine-failure model, version 1",
    owner="platform-ml",
    tags={"model": "failure_model", "version": "1"},
)
