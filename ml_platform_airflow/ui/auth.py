"""The ML view behind Airflow's own authentication.

A plugin's FastAPI app is mounted on the API server as it is: Airflow protects its own routes
with dependencies, not the mount, so an app without them would be a hole beside the login.
Every route of the view therefore depends on the core API's
:func:`~airflow.api_fastapi.core_api.security.requires_access_view`: the user comes from the JWT
in ``Authorization: Bearer`` or, inside the UI's iframe, from the ``_token`` cookie the UI sets
(``COOKIE_NAME_JWT_TOKEN``); no token gives 401, an invalid one 403, and the auth manager decides
whether the user may see the website (the same permission the UI's own pages need).
"""

from __future__ import annotations

from typing import Any


def view_access() -> Any:
    """The dependency every route of the view runs (``Depends(...)``)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import requires_access_view
    from fastapi import Depends

    return Depends(requires_access_view(AccessView.WEBSITE))
