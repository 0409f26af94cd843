"""One place that resolves every path and URI the platform uses.

Embedded default: everything lives under ``PLATFORM_HOME`` (``.platform/`` in the repository).
Production: environment variables point the same code at object storage, Postgres, a Ray cluster.
Reading settings has no side effects: nothing is created until a stage writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGE_REPOSITORY = "ghcr.io/ml-platform/ml-platform"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _flag(name: str) -> bool | None:
    """A boolean switch; None when the variable is unset or empty."""
    value = os.environ.get(name, "").strip().lower()
    return None if not value else value in ("1", "true", "yes")


@cache
def project_version() -> str:
    """The project's version (``pyproject.toml``, else the installed distribution's)."""
    import tomllib

    try:
        with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError):
        from importlib.metadata import version

        return version("ml-platform")


def default_image() -> str:
    """The platform image the Ray pods run: tagged with the project version, never ``latest``
    (a moving tag makes a retried or resumed job run other code than the one it started with).
    """
    return f"{IMAGE_REPOSITORY}:{project_version()}"


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
    # Feature store (Feast): the rendered repo (feature_store.yaml, file registry, SQLite online
    # store), the offline parquet root, the online store kind and where training sets go.
    feature_repo_dir: Path = Path()
    offline_store_uri: str = ""
    # Feast's offline engine: DuckDB in-process (default) or Feast's Ray offline store on the
    # cluster at ``ray_address`` (the scale path); chosen explicitly, not by RAY_ADDRESS, since the
    # embedded default runs a local Ray head too.
    offline_engine: str = "duckdb"
    online_store: str = "sqlite"
    redis_url: str | None = None
    feast_registry: str = ""
    training_sets_uri: str = ""
    # Training (Ray Train + MLflow). Ray starts in-process unless ``ray_address`` names a cluster;
    # checkpoints go to ``ray_storage_path`` (a local folder, ``s3://...`` in production).
    mlflow_tracking_uri: str = ""
    mlflow_registry_uri: str = ""
    mlflow_artifact_root: str = ""
    ray_address: str | None = None
    ray_storage_path: str = ""
    ray_num_cpus: int | None = None
    training_workers: int = 1
    training_cpus_per_worker: int | None = None
    # None: not set (local training on CPU; Kubernetes follows the RayJob template's worker group).
    training_use_gpu: bool | None = None
    training_max_failures: int = 2
    # Share of extra training rows copied with one sensor's features masked (sensor dropout), so
    # a silent sensor does not blind the model: 0.3 is what makes the demo's model pass the
    # missing-sensor robustness gate (BENCHMARKS.md, sensor-dropout section); 0 turns it off.
    training_sensor_dropout: float = 0.3
    training_mode: str = "local"
    kuberay_namespace: str = "ml-training"
    # The Ray pods' image: an explicit tag or digest (PLATFORM_KUBERAY_IMAGE); the default is the
    # project version's tag. The manifest validator rejects ``:latest`` and untagged images.
    kuberay_image: str = field(default_factory=default_image)
    # Drift and data-quality monitoring: the policy (thresholds) and where reports are written.
    monitoring_policy_path: Path = Path()
    reports_dir: Path = Path()
    # Evaluation and release: the promotion policy (gate thresholds), the model-card facts per
    # model (``<model_cards_dir>/<model>.yaml``) and the audit history of alias changes (Delta).
    promotion_policy_path: Path = Path()
    model_cards_dir: Path = Path()
    release_history_uri: str = ""
    # Maintenance-manual search: the LanceDB index (local folder or ``s3://``), its gate policy,
    # the golden query set, and the embedding batch size (all-MiniLM-L6-v2, shipped offline).
    search_index_uri: str = ""
    search_policy_path: Path = Path()
    golden_queries_path: Path = Path()
    embedding_batch_size: int = 64
    # How long a daily DAG's first task waits for its day's landing data (or upstream asset)
    # before failing once and alerting; until then the run waits quietly (reschedule mode).
    landing_wait_seconds: int = 6 * 3600
    # Inference gateway (ml_tasks.serving). ``gateway_url`` names a running gateway for the
    # clients (``predict``, ``search``, promote_model's live release); empty: the one ``serve``
    # recorded under ``<platform_home>/run/gateway.json``, if it is up.
    gateway_url: str = ""
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8765
    # How often the gateway re-reads the registry's aliases and the canary share.
    gateway_poll_seconds: float = 2.0
    # Mirrors waiting for the shadow model; a full queue drops (and counts) the mirror.
    gateway_shadow_queue: int = 1000
    # Largest batch of machines in one request, and largest request body.
    gateway_max_machines: int = 1000
    gateway_max_body_bytes: int = 1_000_000
    # Features older than this are still scored but flagged ``stale`` in the answer.
    gateway_feature_max_age_hours: float = 26.0
    # The prediction log (Delta table ``predictions``): rows are written in batches by a
    # background writer, at the latest every ``predictions_flush_seconds``.
    predictions_flush_seconds: float = 1.0
    predictions_batch_rows: int = 5000
    # Ray Serve scale path: autoscaling of the gateway deployment.
    serve_min_replicas: int = 1
    serve_max_replicas: int = 4
    serve_target_ongoing_requests: int = 16
    # Kubernetes path: the per-task pod resources of the heavy tasks under the KubernetesExecutor
    # (ml_platform_airflow.resources; read only when that executor is configured).
    k8s_task_resources_path: Path = Path()
    # Prometheus Pushgateway the batch tasks push their metrics to (ml_tasks.observability);
    # None (the embedded default): pushing is a no-op.
    pushgateway_url: str | None = None
    # The MLflow UI the Airflow ML view links runs and versions to (``make mlflow-ui``'s address).
    mlflow_ui_url: str = "http://localhost:5000"

    def table_uri(self, table: str) -> str:
        """URI of a curated Delta table (local folder or ``s3://`` prefix)."""
        return f"{self.lake_uri.rstrip('/')}/{table}"

    @property
    def is_local_lake(self) -> bool:
        return "://" not in self.lake_uri or self.lake_uri.startswith("file://")


def _int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


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
    feature_repo = Path(_env("PLATFORM_FEATURE_REPO_DIR", str(home / "feature_repo")))
    redis_url = os.environ.get("PLATFORM_REDIS_URL", "").strip() or None
    mlflow_uri = _env("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
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
        feature_repo_dir=feature_repo,
        offline_store_uri=_env("PLATFORM_OFFLINE_STORE_URI", str(home / "offline")),
        offline_engine=_env("PLATFORM_OFFLINE_ENGINE", "duckdb").lower(),
        # Redis when a URL is given (production stack), SQLite otherwise; either can be forced.
        online_store=_env("PLATFORM_ONLINE_STORE", "redis" if redis_url else "sqlite").lower(),
        redis_url=redis_url,
        feast_registry=_env("PLATFORM_FEAST_REGISTRY", str(feature_repo / "registry.db")),
        training_sets_uri=_env("PLATFORM_TRAINING_SETS_URI", str(home / "training_sets")),
        mlflow_tracking_uri=mlflow_uri,
        # The registry follows the tracking server unless pointed elsewhere.
        mlflow_registry_uri=_env("MLFLOW_REGISTRY_URI", mlflow_uri),
        mlflow_artifact_root=_env(
            "PLATFORM_MLFLOW_ARTIFACT_ROOT", str(home / "mlflow" / "artifacts")
        ),
        ray_address=os.environ.get("RAY_ADDRESS", "").strip() or None,
        ray_storage_path=_env("PLATFORM_RAY_STORAGE_PATH", str(home / "ray_results")),
        # None: every core of this machine (in-process Ray only).
        ray_num_cpus=_int("PLATFORM_RAY_NUM_CPUS", None),
        training_workers=_int("PLATFORM_TRAINING_WORKERS", 1) or 1,
        # None: share the in-process Ray's cores evenly between the workers.
        training_cpus_per_worker=_int("PLATFORM_TRAINING_CPUS_PER_WORKER", None),
        training_use_gpu=_flag("PLATFORM_TRAINING_USE_GPU"),
        training_max_failures=_int("PLATFORM_TRAINING_MAX_FAILURES", 2) or 0,
        training_sensor_dropout=float(_env("PLATFORM_TRAINING_SENSOR_DROPOUT", "0.3")),
        training_mode=_env("PLATFORM_TRAINING_MODE", "local").lower(),
        kuberay_namespace=_env("PLATFORM_KUBERAY_NAMESPACE", "ml-training"),
        kuberay_image=_env("PLATFORM_KUBERAY_IMAGE", default_image()),
        monitoring_policy_path=Path(
            _env(
                "PLATFORM_MONITORING_POLICY",
                str(REPO_ROOT / "include" / "policies" / "monitoring.yaml"),
            )
        ),
        reports_dir=Path(_env("PLATFORM_REPORTS_DIR", str(home / "reports"))),
        promotion_policy_path=Path(
            _env(
                "PLATFORM_PROMOTION_POLICY",
                str(REPO_ROOT / "include" / "policies" / "promotion.yaml"),
            )
        ),
        model_cards_dir=Path(
            _env("PLATFORM_MODEL_CARDS_DIR", str(REPO_ROOT / "include" / "model_cards"))
        ),
        # Next to the curated tables, so it is as durable as the lake (object storage in prod).
        release_history_uri=_env(
            "PLATFORM_RELEASE_HISTORY_URI",
            f"{_env('PLATFORM_LAKE_URI', str(home / 'lake')).rstrip('/')}/release_history",
        ),
        search_index_uri=_env("PLATFORM_SEARCH_INDEX_URI", str(home / "search" / "index")),
        search_policy_path=Path(
            _env(
                "PLATFORM_SEARCH_POLICY",
                str(REPO_ROOT / "include" / "policies" / "search_index.yaml"),
            )
        ),
        golden_queries_path=Path(
            _env(
                "PLATFORM_GOLDEN_QUERIES",
                str(REPO_ROOT / "include" / "search" / "golden_queries.yaml"),
            )
        ),
        embedding_batch_size=_int("PLATFORM_EMBEDDING_BATCH_SIZE", 64) or 64,
        landing_wait_seconds=_int("PLATFORM_LANDING_WAIT_SECONDS", 6 * 3600) or 6 * 3600,
        gateway_url=_env("PLATFORM_GATEWAY_URL", "").rstrip("/"),
        gateway_host=_env("PLATFORM_GATEWAY_HOST", "127.0.0.1"),
        gateway_port=_int("PLATFORM_GATEWAY_PORT", 8765) or 8765,
        gateway_poll_seconds=float(_env("PLATFORM_GATEWAY_POLL_SECONDS", "2")),
        gateway_shadow_queue=_int("PLATFORM_GATEWAY_SHADOW_QUEUE", 1000) or 1000,
        gateway_max_machines=_int("PLATFORM_GATEWAY_MAX_MACHINES", 1000) or 1000,
        gateway_max_body_bytes=_int("PLATFORM_GATEWAY_MAX_BODY_BYTES", 1_000_000) or 1_000_000,
        gateway_feature_max_age_hours=float(_env("PLATFORM_GATEWAY_FEATURE_MAX_AGE_HOURS", "26")),
        predictions_flush_seconds=float(_env("PLATFORM_PREDICTIONS_FLUSH_SECONDS", "1")),
        predictions_batch_rows=_int("PLATFORM_PREDICTIONS_BATCH_ROWS", 5000) or 5000,
        serve_min_replicas=_int("PLATFORM_SERVE_MIN_REPLICAS", 1) or 1,
        serve_max_replicas=_int("PLATFORM_SERVE_MAX_REPLICAS", 4) or 4,
        serve_target_ongoing_requests=_int("PLATFORM_SERVE_TARGET_ONGOING_REQUESTS", 16) or 16,
        k8s_task_resources_path=Path(
            _env(
                "PLATFORM_K8S_TASK_RESOURCES",
                str(REPO_ROOT / "include" / "k8s" / "task-resources.yaml"),
            )
        ),
        pushgateway_url=os.environ.get("PLATFORM_PUSHGATEWAY_URL", "").strip().rstrip("/") or None,
        mlflow_ui_url=_env("PLATFORM_MLFLOW_UI_URL", "http://localhost:5000").rstrip("/"),
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
    }
    # Respect anything the operator already set for production.
    return {k: os.environ.get(k, v) if k.startswith("AIRFLOW__") else v for k, v in env.items()}
