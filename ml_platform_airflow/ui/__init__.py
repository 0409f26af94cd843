"""The ML view: a FastAPI app the platform's plugin mounts on Airflow's API server (``/ml``).

``app`` builds it, ``pages`` renders the HTML, ``plots`` the SVG charts, ``auth`` puts every
route behind Airflow's login. The data comes from :mod:`ml_tasks.observability.ml_view`.
"""
