"""The platform's Airflow adapters, laid out like an Airflow provider package.

Thin classes that adapt Airflow's contexts to the plain functions of :mod:`ml_tasks` (which
imports no Airflow). DAG files import from here, by these fixed paths:

- :mod:`.assets`: every data asset, declared once;
- :mod:`.constants`: the model name, the promotion gates and their task ids;
- :mod:`.notifiers`: platform alerts (task failures, monitoring breaches);
- :mod:`.sensors`: wait for landing data, feature partitions, a RayJob; the promotion gates;
- :mod:`.hooks`, :mod:`.operators`, :mod:`.triggers`: KubeRay RayJobs;
- :mod:`.timetables`: the daily DAGs' landing-day timetable;
- :mod:`.notes`: a verdict as a task-instance note in the UI;
- :mod:`.api_client`: the REST API v2 client (token, JSON calls) the notes and the demo use.

What Airflow must load as a plugin (the timetable's registration) is in ``plugins/``.
"""
