"""The ML view inside Airflow's real API app: its login, every section, the JSON, the files.

The app under test is Airflow's own (``airflow.api_fastapi.app.create_app``) with the plugin
loaded from the plugins folder, the auth manager initialised and the real metadata DB (the
token check looks up revoked tokens); the tokens come from the auth manager itself, as
``/auth/token`` would issue them. The stores are a home filled by
:func:`tests.ml_view_fixtures.fill_view_stores`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from tests import ml_view_fixtures


@pytest.fixture(scope="module")
def home(tmp_path_factory, airflow_db) -> Iterator[Any]:
    """The filled home, made the process's PLATFORM_HOME while the module's tests run."""
    root = tmp_path_factory.mktemp("ml_view")
    settings = ml_view_fixtures.fill_view_stores(root)
    env = {
        "PLATFORM_HOME": str(settings.platform_home),
        "PLATFORM_PROMOTION_POLICY": str(settings.promotion_policy_path),
    }
    with mock.patch.dict(os.environ, env):
        yield settings


@pytest.fixture(scope="module")
def client(home) -> Iterator[Any]:
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app("core")) as test_client:
        yield test_client


def token(role: str | None, username: str = "admin") -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = get_auth_manager()
    return manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role))


ROUTES = (
    "/ml/",
    "/ml/api/view",
    "/ml/api/models",
    "/ml/?slice=plant_id=P2",
    "/ml/plots/drift/temperature_c.svg",
    "/ml/plots/drift/pressure_bar.svg?slice=plant_id%3DP2",
    "/ml/plots/live.svg",
    "/ml/reports/failure_model/x/all.html",
    "/ml/artifacts/0123456789abcdef0123456789abcdef/evaluation/report.html",
)


def test_every_route_refuses_a_request_without_a_valid_login(client):
    for route in ROUTES:
        assert client.get(route).status_code == 401, route
        bad = client.get(route, headers={"Authorization": "Bearer not-a-jwt"})
        assert bad.status_code == 403, route
    # A user the auth manager knows but gives no role: authenticated, not allowed.
    nobody = {"Authorization": f"Bearer {token(None, 'nobody')}"}
    assert client.get("/ml/", headers=nobody).status_code == 403


def test_the_page_in_the_uis_iframe_has_every_section(client, home):
    # In the UI's iframe the browser sends the _token cookie the UI set, not a header.
    page = client.get("/ml/", cookies={"_token": token("viewer")})
    assert page.status_code == 200
    html = page.text
    for section in ("models", "release", "monitoring", "data", "search"):
        assert f'<section id="{section}">' in html
    assert 'class="alarm" data-day="2026-10-09"' in html  # drift alarm marked
    assert 'class="alarm" data-day="2026-10-11"' in html  # live performance alarm marked
    assert '<span class="alias">champion</span>' in html  # the versions table
    assert "holdout_rows: 1200 &gt;= minimum 500" in html  # a gate check's reason
    assert "golden recall@5 0.62 &lt; 0.80" in html  # the blocked index version's reason
    assert "roc_auc 0.61 fell 0.32 below the offline 0.93" in html
    assert "could not read this section" not in html


def test_the_same_data_as_json(client):
    headers = {"Authorization": f"Bearer {token('admin')}"}
    view = client.get("/ml/api/view", headers=headers).json()
    models = view["models"]
    assert models["aliases"]["champion"] == "2"
    assert [v["version"] for v in models["versions"]] == ["2", "1"]
    assert models["versions"][0]["gates"] == dict.fromkeys(
        ("metrics", "robustness", "artifacts", "drift"), "passed"
    )
    checks = {(g["gate"], c["metric"]) for g in models["gates"] for c in g["checks"]}
    assert ("metrics", "roc_auc") in checks and ("drift", "drift") in checks
    steps = view["release"]["steps"]
    assert [(s["percent"], s["numbers"]["alert_disagreement"]) for s in steps] == [
        (10, 0.05),
        (50, 0.04),
        (100, 0.03),
    ]
    assert view["monitoring"]["drift"]["alarm_days"] == ["2026-10-09", "2026-10-10"]
    assert view["monitoring"]["live_performance"]["alarm_days"] == ["2026-10-11"]
    assert view["data"]["days"][0]["quarantine_share"] == pytest.approx(19 / 960)
    assert view["search"]["live"] == 1
    for name in ("models", "release", "monitoring", "data", "search"):
        assert client.get(f"/ml/api/{name}", headers=headers).status_code == 200
    assert client.get("/ml/api/nothing", headers=headers).status_code == 404
    chart = client.get("/ml/plots/drift/vibration_mm_s.svg", headers=headers)
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert 'data-day="2026-10-10"' in chart.text
    assert client.get("/ml/plots/drift/nothing.svg", headers=headers).status_code == 404


def test_reports_and_cards_are_served_and_nothing_beside_them(client, home):
    headers = {"Authorization": f"Bearer {token('admin')}"}
    models = client.get("/ml/api/models", headers=headers).json()
    links = models["versions"][0]["links"]
    report = client.get(f"/ml/{links['evaluation_report']}", headers=headers)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    card = client.get(f"/ml/{links['model_card']}", headers=headers)
    assert card.status_code == 200 and "failure_model" in card.text
    drift = client.get("/ml/api/monitoring", headers=headers).json()
    first = drift["reports"][0]["reports"][0]
    assert client.get(f"/ml/{first}", headers=headers).status_code == 200
    run = models["versions"][0]["run_id"]
    (home.platform_home / "secret.html").write_text("outside the reports folder")
    refused = (
        f"/ml/artifacts/{run}/training/lineage.json",
        f"/ml/artifacts/{run}/%2e%2e/%2e%2e/%2e%2e/secret.html",
        "/ml/reports/%2e%2e/secret.html",
        "/ml/reports/..%2fsecret.html",
        "/ml/reports/%2e%2e%2f%2e%2e%2fairflow/airflow.db",
        f"/ml/reports/{home.platform_home / 'secret.html'}",
    )
    for path in refused:
        assert client.get(path, headers=headers).status_code == 404, path


def test_the_drift_of_each_slice_and_nothing_else(client):
    headers = {"Authorization": f"Bearer {token('admin')}"}
    fleet = client.get("/ml/", headers=headers).text
    # the selector lists the plant with its alarm days; the fleet page already shows the
    # chart of the plant's drifted sensor (its score is low in the fleet's)
    assert 'href="?slice=plant_id%3DP2#monitoring">plant_id=P2</a>' in fleet
    assert "⚠ 2 alarm days" in fleet
    assert "Drift: pressure_bar, plant_id=P2 (wasserstein)" in fleet
    plant = client.get("/ml/?slice=plant_id=P2", headers=headers)
    assert plant.status_code == 200
    assert "<b>plant_id=P2</b>" in plant.text
    assert "Drift: temperature_c, plant_id=P2 (wasserstein)" in plant.text
    monitoring = client.get("/ml/api/monitoring?slice=plant_id=P2", headers=headers).json()
    assert monitoring["drift"]["slice"] == "plant_id=P2"
    assert monitoring["drift"]["alarm_days"] == ["2026-10-09", "2026-10-10"]
    assert [s["name"] for s in monitoring["drift_slices"]] == ["all", "plant_id=P2"]
    chart = client.get("/ml/plots/drift/pressure_bar.svg?slice=plant_id%3DP2", headers=headers)
    assert chart.status_code == 200 and "plant_id=P2" in chart.text
    for route in (
        "/ml/?slice=plant_id=P9",
        "/ml/api/view?slice=nothing",
        "/ml/api/monitoring?slice=plant_id=P9",
        "/ml/plots/drift/pressure_bar.svg?slice=plant_id=P9",
    ):
        assert client.get(route, headers=headers).status_code == 404, route


def test_quarantine_one_row_per_day_over_the_contracts_limit(client):
    headers = {"Authorization": f"Bearer {token('admin')}"}
    data = client.get("/ml/api/data", headers=headers).json()
    by_day = data["by_day"]
    assert by_day["tables"] == ["telemetry", "work_orders_history"]
    assert [r["day"] for r in by_day["rows"]][:2] == ["2026-10-24", "2026-10-23"]
    over = sorted(d["day"] for d in data["days"] if d["over_limit"])
    assert over == ["2026-10-09", "2026-10-10"]
    page = client.get("/ml/", headers=headers).text
    assert page.count('<td class="num fail"') == 2
    assert "contract limit of telemetry and work_orders_history: 10" in page
