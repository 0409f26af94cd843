"""The ML view's FastAPI app, mounted by the platform's plugin at :data:`URL_PREFIX`.

Routes (every one behind :func:`ml_platform_airflow.ui.auth.view_access`):

- ``/``: the page (models, release, monitoring, data, search index);
- ``/api/view`` and ``/api/<section>``: the same data as JSON;
- ``/plots/drift/<sensor>.svg``, ``/plots/live.svg``: the charts on their own;

``/``, ``/api/view``, ``/api/monitoring`` and the drift charts take ``?slice=<slice>``: the
drift table's slice to chart (``all``, the whole fleet, by default; ``plant_id=P2``...); a slice
the table does not have is a 404.
- ``/artifacts/<run id>/<artifact>``: a version's evaluation report or model card, read from
  its MLflow run (only those two artifacts, only runs of a registered version);
- ``/reports/<path>``: the monitoring's Evidently reports under ``PLATFORM_HOME/reports``.

The handlers are plain ``def``: FastAPI runs them in its thread pool, so reading the stores
does not block the API server's event loop. Settings are resolved per request (cheap).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

URL_PREFIX = "/ml"
NAME = "ML platform"


def create_app(settings_factory: Callable[[], Any] | None = None) -> Any:
    """The app; ``settings_factory`` (default :func:`ml_tasks.settings.get_settings`)."""
    from fastapi import FastAPI, HTTPException, Query
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

    from ml_platform_airflow.ui import pages
    from ml_platform_airflow.ui.auth import view_access
    from ml_tasks.observability import ml_view
    from ml_tasks.settings import get_settings

    settings_of = settings_factory or get_settings
    # ``?slice=plant_id=P2``: the drift slice to chart (the fleet by default).
    slice_query = Query(ml_view.FLEET, alias="slice")
    app = FastAPI(
        title=NAME,
        dependencies=[view_access()],
        # The view is for people in the UI; the JSON routes are listed in this module.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def checked(monitoring: dict[str, Any], slice_name: str) -> dict[str, Any]:
        """``monitoring``, or a 404 when it has no drift slice ``slice_name``."""
        if "error" not in monitoring and not ml_view.known_slice(monitoring, slice_name):
            known = [s["name"] for s in monitoring.get("drift_slices") or []]
            raise HTTPException(404, f"no drift slice {slice_name!r}; known: {known}")
        return monitoring

    def monitoring_of(slice_name: str) -> dict[str, Any]:
        monitoring = ml_view.monitoring_section(settings_of(), drift_slice=slice_name)
        return checked(monitoring, slice_name)

    def collected(slice_name: str) -> dict[str, Any]:
        view = ml_view.collect(settings_of(), drift_slice=slice_name)
        checked(view["monitoring"], slice_name)
        return view

    @app.get("/", response_class=HTMLResponse)
    def page(slice_name: str = slice_query) -> str:
        return pages.page(collected(slice_name))

    @app.get("/api/view")
    def view(slice_name: str = slice_query) -> JSONResponse:
        return JSONResponse(_jsonable(collected(slice_name)))

    @app.get("/api/{section}")
    def section(section: str, slice_name: str = slice_query) -> JSONResponse:
        if section not in ml_view.SECTIONS:
            raise HTTPException(404, f"no section {section!r}; known: {list(ml_view.SECTIONS)}")
        s = settings_of()
        readers: dict[str, Callable[[], Any]] = {
            "models": lambda: ml_view.models_section(s),
            "release": lambda: ml_view.release_section(s),
            "monitoring": lambda: monitoring_of(slice_name),
            "data": lambda: ml_view.data_section(s),
            "search": lambda: ml_view.search_section(s),
        }
        return JSONResponse(_jsonable(readers[section]()))

    @app.get("/plots/live.svg")
    def live_plot() -> Response:
        svg = pages.live_chart(ml_view.monitoring_section(settings_of()))
        return Response(svg, media_type="image/svg+xml")

    @app.get("/plots/drift/{group}.svg")
    def drift_plot(group: str, slice_name: str = slice_query) -> Response:
        monitoring = monitoring_of(slice_name)
        if group not in monitoring["drift"]["groups"]:
            raise HTTPException(404, f"no drift chart {group!r} for slice {slice_name!r}")
        return Response(pages.drift_chart(monitoring["drift"], group), media_type="image/svg+xml")

    @app.get("/artifacts/{run_id}/{artifact:path}")
    def artifact(run_id: str, artifact: str) -> Response:
        content = ml_view.run_artifact(run_id, artifact, settings_of())
        if content is None:
            raise HTTPException(404, "no such artifact")
        kind = "text/html" if artifact.endswith(".html") else "text/plain"
        return Response(content, media_type=f"{kind}; charset=utf-8")

    @app.get("/reports/{path:path}")
    def report(path: str) -> FileResponse:
        found = ml_view.report_file(path, settings_of())
        if found is None:
            raise HTTPException(404, "no such report")
        return FileResponse(found)

    return app


def _jsonable(value: Any) -> Any:
    """Dates and other non-JSON values as strings (the sections are plain dicts otherwise)."""
    import json

    return json.loads(json.dumps(value, default=str))


class LazyApp:
    """An ASGI app that builds the view on its first request.

    Every Airflow process loads the plugins (the scheduler for the timetable, too); only the API
    server serves the view, so only it pays for FastAPI's and the core API's security imports.
    """

    def __init__(self, factory: Callable[[], Any] = create_app) -> None:
        self._factory = factory
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = self._factory()
        await self._app(scope, receive, send)
