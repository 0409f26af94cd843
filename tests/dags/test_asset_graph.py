"""The asset graph of all DAGs is closed: no DAG waits on an asset nobody emits, and no task
emits an asset nobody schedules on, unless an allow-list below says why.

A schedule on an asset without a producer never fires; an emitted asset without a consumer is a
promise ("this starts retraining") that nothing keeps. Both break silently at run time, so
they fail here: removing ``drift_alarm`` from ``train_failure_model``'s schedule leaves
``monitor_drift``'s event with no consumer and fails
:func:`test_every_emitted_asset_has_a_consumer`.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.dag_fixtures import asset_names, load_dagbag

# Scheduled on, produced outside Airflow.
EXTERNAL_PRODUCERS = {
    # The document system's nightly export may post this event through the REST API to refresh
    # the index early; refresh_embeddings also runs nightly without it.
    "manuals_landing": "posted by the document system through the REST API",
}

# Emitted, consumed outside Airflow's scheduling (read when needed, or lineage only).
NO_DAG_CONSUMER = {
    # The features and training stages read the machines table itself; the features DAG
    # schedules on telemetry and work orders, which change with every landing day.
    "curated_machines": "read as a table by the features and training stages",
    # Online reads (the gateway, `python -m ml_tasks features get`) take the latest values.
    "features_online": "read by the online path, not a DAG",
    # Monitoring, evaluation and the gateway resolve the champion alias when they run.
    "failure_model_champion": "the champion alias is resolved at run time",
    # Search reads the live alias of the index.
    "manual_search_index": "search reads the live alias",
}


@pytest.fixture(scope="module")
def dagbag():
    return load_dagbag()


def asset_graph(dagbag) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(asset -> DAGs scheduled on it, asset -> ``dag.task`` emitting it)."""
    consumers: dict[str, set[str]] = defaultdict(set)
    producers: dict[str, set[str]] = defaultdict(set)
    for dag_id, dag in dagbag.dags.items():
        for name in asset_names(getattr(dag.timetable, "asset_condition", None)):
            consumers[name].add(dag_id)
        for task in dag.tasks:
            for outlet in task.outlets:
                producers[outlet.name].add(f"{dag_id}.{task.task_id}")
    return consumers, producers


def test_the_graph_is_read_from_the_dags(dagbag):
    consumers, producers = asset_graph(dagbag)
    assert "train_failure_model" in consumers["features_offline"]
    assert "monitor_drift.request_retraining" in producers["drift_alarm"]


def test_every_scheduled_asset_has_a_producer(dagbag):
    consumers, producers = asset_graph(dagbag)
    orphans = {
        name: sorted(dags)
        for name, dags in consumers.items()
        if name not in producers and name not in EXTERNAL_PRODUCERS
    }
    assert orphans == {}, "DAGs scheduled on assets no task emits (they never run on them)"


def test_every_emitted_asset_has_a_consumer(dagbag):
    consumers, producers = asset_graph(dagbag)
    unheard = {
        name: sorted(tasks)
        for name, tasks in producers.items()
        if name not in consumers and name not in NO_DAG_CONSUMER
    }
    assert unheard == {}, "tasks emit assets no DAG schedules on (and no allow-list entry)"


def test_the_allow_lists_hold_only_what_still_needs_them(dagbag):
    from ml_platform_airflow.assets import ALL_ASSETS

    consumers, producers = asset_graph(dagbag)
    declared = {a.name for a in ALL_ASSETS}
    assert set(EXTERNAL_PRODUCERS) | set(NO_DAG_CONSUMER) <= declared
    # An entry whose asset gained a producer/consumer is stale: drop it so the check bites.
    assert sorted(n for n in EXTERNAL_PRODUCERS if n in producers or n not in consumers) == []
    assert sorted(n for n in NO_DAG_CONSUMER if n in consumers or n not in producers) == []
    # Every declared asset is in the graph one way or the other.
    assert sorted(declared - set(consumers) - set(producers)) == []
