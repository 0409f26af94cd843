"""The platform's plugin, as Airflow's plugin manager loads it from the plugins folder."""

from __future__ import annotations


def test_the_plugin_mounts_the_view_and_adds_it_to_the_ui_navigation():
    from airflow import plugins_manager
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES

    from ml_platform_airflow.ui.app import URL_PREFIX, LazyApp

    assert not plugins_manager.get_import_errors()
    apps, _middlewares = plugins_manager.get_fastapi_plugins()
    (ours,) = [a for a in apps if a["url_prefix"] == URL_PREFIX]
    assert isinstance(ours["app"], LazyApp)
    assert not any(URL_PREFIX.startswith(prefix) for prefix in RESERVED_URL_PREFIXES)
    (info,) = [p for p in plugins_manager.get_plugin_info() if p["name"] == "ml_platform"]
    (view,) = info["external_views"]
    # The UI shows href in an iframe at /plugin/<url_route>, in the main navigation.
    assert view["href"] == f"{URL_PREFIX}/"
    assert (view["url_route"], view["destination"]) == ("ml", "nav")
    assert "LandingDayTimetable" in str(info["timetables"])
