"""One place that resolves every path and URI the platform uses.

Embedded default: everything lives under ``PLATFORM_HOME`` (``.platform/`` in the repository).
Production: environment variables point the same code at object storage, Postgres, a Ray cluster.
Reading settings has no side effects: nothing is created until a stage writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    """Resolved locations. Build with :func:`get_settings`; every field has an env override."""

    platform_home: Path
    landing_dir: Path
    lake_uri: str
    manifest_path: Path
    secrets_dir: Path
    contracts_dir: Path
    airflow_home: Path
    dags_folder: Path
    plugins_folder: Path
    airflow_db_uri: str
    storage_options: dict[str, str] = field(default_factory=dict)

    def table_uri(self, table: str) -> str:
        """URI of a curated Delta table (local folder or ``s3://`` prefix)."""
        return f"{self.lake_uri.rstrip('/')}/{table}"

    @property
    def is_local_lake(self) -> bool:
        return "://" not in self.lake_uri or self.lake_uri.startswith("file://")


def get_settings() -> Settings:
    """Resolve settings from the environment now (cheap; call it where you need it)."""
    home = Path(_env("PLATFORM_HOME", str(REPO_ROOT / ".platform"))).resolve()
    airflow_home = Path(_env("AIRFLOW_HOME", str(home / "airflow")))
    storage_options = {
        key: os.environ[env]
        for key, env in (
            ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL"),
            ("AWS_REGION", "AWS_REGION"),
            ("AWS_ALLOW_HTTP", "AWS_ALLOW_HTTP"),
        )
        if os.environ.get(env)
    }
    return Settings(
        platform_home=home,
        landing_dir=Path(_env("PLATFORM_LANDING_DIR", str(home / "landing"))),
        lake_uri=_env("PLATFORM_LAKE_URI", str(home / "lake")),
        manifest_path=Path(_env("PLATFORM_MANIFEST_PATH", str(home / "manifest.sqlite"))),
        secrets_dir=Path(_env("PLATFORM_SECRETS_DIR", str(home / "secrets"))),
        contracts_dir=Path(
            _env("PLATFORM_CONTRACTS_DIR", str(REPO_ROOT / "include" / "contracts"))
        ),
        airflow_home=airflow_home,
        dags_folder=Path(_env("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))),
        plugins_folder=Path(_env("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO_ROOT / "plugins"))),
        airflow_db_uri=_env(
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{airflow_home / 'airflow.db'}"
        ),
        storage_options=storage_options,
    )


def airflow_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment for running Airflow on the embedded default (production sets its own)."""
    s = settings or get_settings()
    env = {
        "PLATFORM_HOME": str(s.platform_home),
        "AIRFLOW_HOME": str(s.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(s.dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(s.plugins_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": s.airflow_db_uri,
        # 2 cores: without a cap standalone starts 32 executor workers.
        "AIRFLOW__CORE__PARALLELISM": _env("AIRFLOW__CORE__PARALLELISM", "4"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    # Respect anything the operator already set for production.
    return {k: os.environ.get(k, v) if k.startswith("AIRFLOW__") else v for k, v in env.items()}
