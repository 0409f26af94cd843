"""The platform's Airflow plugin: registers what Airflow only accepts from a plugin.

The classes live in :mod:`ml_platform_airflow`, imported by the DAGs by their package paths;
this file only declares them to Airflow's plugin manager (the plugins folder is
``AIRFLOW__CORE__PLUGINS_FOLDER``):

- the :class:`~ml_platform_airflow.timetables.LandingDayTimetable`, because the scheduler
  rebuilds a serialized DAG's timetable only from a class a plugin registered.

Notifiers, sensors, operators and triggers need no registration: callbacks run in the task that
re-parses its DAG file, and the triggerer imports a trigger by the fixed path its ``serialize()``
names.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from ml_platform_airflow.timetables import LandingDayTimetable


class MlPlatformPlugin(AirflowPlugin):
    """Declares the platform's timetable to Airflow."""

    name = "ml_platform"
    # A plain list, as the base class declares it (a ClassVar would clash with its annotation).
    timetables = [LandingDayTimetable]  # ruff: ignore[mutable-class-default]
