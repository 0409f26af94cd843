"""The Ray Serve application: autoscaling from the settings, what the replicas are given."""

from __future__ import annotations

import dataclasses

import pytest

from ml_tasks.serving import ray_serve


@pytest.fixture
def settings(platform_home):
    return dataclasses.replace(
        platform_home, serve_min_replicas=2, serve_max_replicas=5, serve_target_ongoing_requests=7
    )


def test_autoscaling_comes_from_the_settings(settings):
    assert ray_serve.autoscaling_config(settings) == {
        "min_replicas": 2,
        "max_replicas": 5,
        "target_ongoing_requests": 7,
    }
    # A maximum below the minimum would be refused by Serve: it is raised to the minimum.
    low = dataclasses.replace(settings, serve_max_replicas=1)
    assert ray_serve.autoscaling_config(low)["max_replicas"] == 2


def test_the_local_application_gives_the_replicas_these_settings(settings):
    deployment = ray_serve.application(settings, model_name="m")._bound_deployment
    assert deployment.name == ray_serve.DEPLOYMENT_NAME
    auto = deployment._deployment_config.autoscaling_config
    assert (auto.min_replicas, auto.max_replicas, auto.target_ongoing_requests) == (2, 5, 7)
    assert deployment.ray_actor_options == {"num_cpus": 1}
    assert deployment.init_args == (settings, "m")


def test_the_rayservice_builder_lets_replicas_read_their_own_environment(settings):
    deployment = ray_serve.build_app({"model_name": "failure_model"})._bound_deployment
    # On KubeRay the builder runs on the head; the replicas' settings come from the worker pods.
    assert deployment.init_args == (None, "failure_model")
    with pytest.raises(ValueError, match="unknown gateway application args"):
        ray_serve.build_app({"model": "failure_model"})
