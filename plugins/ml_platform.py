"""The platform's Airflow plugin: registers what Airflow only accepts from a plugin.

The classes live in :mod:`ml_platform_airflow`, imported by the DAGs by their package paths;
this file only declares them to Airflow's plugin manager (the plugins folder is
``AIRFLOW__CORE__PLUGINS_FOLDER``):

- the :class:`~ml_platform_airflow.timetables.LandingDayTimetable`, because the scheduler
  rebuilds a serialized DAG's timetable only from a class a plugin registered;
- the ML view (:mod:`ml_platform_airflow.ui`): a FastAPI app the API server mounts at ``/ml``
  (behind Airflow's login: every route checks the user's token), and its entry in the UI's
  navigation, shown in an iframe at ``/plugin/ml``.

Notifiers, sensors, operators and triggers need no registration: callbacks run in the task that
re-parses its DAG file, and the triggerer imports a trigger by the fixed path its ``serialize()``
names.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from ml_platform_airflow.timetables import LandingDayTimetable
from ml_platform_airflow.ui.app import NAME, URL_PREFIX, LazyApp


class MlPlatformPlugin(AirflowPlugin):
    """Declares the platform's timetable and the ML view to Airflow."""

    name = "ml_platform"
    # A plain list, as the base class declares it (a ClassVar would clash with its annotation).
    timetables = [LandingDayTimetable]  # ruff: ignore[mutable-class-default]
    fastapi_apps = [  # ruff: ignore[mutable-class-default]
        {"app": LazyApp(), "url_prefix": URL_PREFIX, "name": NAME}
    ]
    external_views = [  # ruff: ignore[mutable-class-default]
        {
            "name": NAME,
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "ml",
            "icon": None,
        }
    ]
