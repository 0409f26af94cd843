"""Pushing metrics never fails a task: a no-op without a Pushgateway, a warning on errors."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from ml_tasks.observability.pushgateway import Sample, push_metrics
from ml_tasks.settings import get_settings
from tests.redis_fixtures import _free_port


def test_no_pushgateway_configured_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLATFORM_PUSHGATEWAY_URL", raising=False)
    assert get_settings().pushgateway_url is None

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("no push expected without a Pushgateway")

    monkeypatch.setattr("ml_tasks.observability.pushgateway.push_to_gateway", fail)
    assert push_metrics("elt", [Sample("ml_platform_x", 1.0)]) is False


def test_the_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_PUSHGATEWAY_URL", "http://pushgateway:9091/")
    assert get_settings().pushgateway_url == "http://pushgateway:9091"


def test_an_unreachable_pushgateway_warns_and_returns_false(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A free loopback port nobody listens on: the connection is refused at once.
    url = f"http://127.0.0.1:{_free_port()}"
    settings = dataclasses.replace(get_settings(), pushgateway_url=url)

    with caplog.at_level(logging.WARNING, logger="ml_tasks.observability.pushgateway"):
        assert push_metrics("elt", [Sample("ml_platform_x", 1.0)], settings=settings) is False

    assert any(
        record.levelno == logging.WARNING and url in record.getMessage()
        for record in caplog.records
    )
