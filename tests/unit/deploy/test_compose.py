"""docker-compose.yaml, checked by the real Docker Compose v2 binary (``config``, offline, no
daemon): it resolves with ``.env.example``; a missing required variable stops it, named; every
variable is listed in ``.env.example``; secrets come only from the environment; each service
has a health check and each dependency waits for one.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ml_tasks.settings import REPO_ROOT, default_image
from tests.unit.deploy.tools import COMPOSE_FILE, ENV_EXAMPLE, compose_binary, run

# ${NAME}, ${NAME:-default}, ${NAME:?message}; `$$` escapes a literal dollar.
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|ACCESS_KEY|PSEUDONYM_KEY|_AUTH$")
# Services that run once and exit; every other service must report its health.
ONE_SHOT = {"airflow-init"}
EXPECTED_SERVICES = {
    "postgres", "s3", "redis", "mlflow", "ray-head", "ray-worker", "airflow-init",
    "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
    "gateway", "pushgateway", "statsd-exporter", "prometheus", "grafana",
}  # fmt: skip


def compose_config(env_file: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``docker compose config`` on the repository's compose file with ``env_file`` only."""
    command = [
        compose_binary(), "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE),
        "--env-file", str(env_file), "config", *args,
    ]  # fmt: skip
    return run(command, home)


def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def compose_text() -> str:
    """The compose file without its comment lines (which quote ``${VAR:?}`` as prose)."""
    lines = COMPOSE_FILE.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def required_variables() -> list[str]:
    text = compose_text()
    return sorted({m.group(1) for m in VARIABLE.finditer(text) if m.group(2) == ":?"})


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The resolved compose model (anchors merged, variables interpolated) as JSON."""
    home = tmp_path_factory.mktemp("compose")
    result = compose_config(ENV_EXAMPLE, home, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_config_passes_with_env_example(tmp_path: Path) -> None:
    result = compose_config(ENV_EXAMPLE, tmp_path, "-q")
    assert result.returncode == 0, result.stderr


def test_secrets_are_required_variables() -> None:
    required = required_variables()
    assert {"AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "POSTGRES_PASSWORD",
            "S3_SECRET_ACCESS_KEY", "REDIS_PASSWORD"} <= set(required)  # fmt: skip
    for name in required:
        assert SECRET_NAME.search(name), f"{name} is required but does not look like a secret"


@pytest.mark.parametrize("missing", required_variables())
def test_config_fails_naming_a_missing_required_variable(tmp_path: Path, missing: str) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env_example().items() if k != missing))
    result = compose_config(env_file, tmp_path, "-q")
    assert result.returncode != 0, f"config passed without {missing}"
    assert f"required variable {missing} is missing a value" in result.stderr, result.stderr


def test_config_fails_on_an_empty_required_variable(tmp_path: Path) -> None:
    # `:?` also refuses an empty value: a blank line in .env is not a password.
    env_file = tmp_path / "env"
    values = {**env_example(), "POSTGRES_PASSWORD": ""}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    result = compose_config(env_file, tmp_path, "-q")
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr, result.stderr


def test_env_example_lists_exactly_the_variables_compose_reads() -> None:
    used = {m.group(1) for m in VARIABLE.finditer(compose_text())}
    listed = set(env_example())
    assert used - listed == set(), "read by compose, missing from .env.example"
    assert listed - used == set(), "in .env.example, never read by compose"


def test_env_example_holds_no_secret() -> None:
    for name in required_variables():
        assert env_example()[name].startswith("change-me"), f"{name}: a placeholder, not a value"


def test_secret_values_only_come_from_the_environment() -> None:
    # In the file as written (before interpolation): every secret-looking setting is a variable.
    literal = re.compile(r"^\s+([A-Z][A-Z0-9_]*):\s*(.+)$")
    for line in compose_text().splitlines():
        match = literal.match(line)
        if match and SECRET_NAME.search(match.group(1)) and not match.group(1).endswith("_FILE"):
            assert "${" in match.group(2), f"literal secret in docker-compose.yaml: {line.strip()}"


def test_services_and_executor(model: dict[str, Any]) -> None:
    services = model["services"]
    assert set(services) == EXPECTED_SERVICES
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"):
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"]
    gateway = services["gateway"]["command"]
    assert gateway[:4] == ["python", "-m", "ml_tasks", "serve"]
    mlflow = services["mlflow"]["command"]
    for flag in ("--backend-store-uri", "--artifacts-destination", "--serve-artifacts",
                 "--allowed-hosts"):  # fmt: skip
        assert flag in mlflow
    assert mlflow[mlflow.index("--backend-store-uri") + 1].startswith("postgresql+psycopg2://")
    assert mlflow[mlflow.index("--artifacts-destination") + 1].startswith("s3://")


def test_every_service_has_a_healthcheck_and_waits_for_its_dependencies(
    model: dict[str, Any],
) -> None:
    services = model["services"]
    for name, service in services.items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, how in service.get("depends_on", {}).items():
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert how["condition"] == wanted, f"{name} -> {dependency}: {how['condition']}"
    airflow = [n for n in services if n.startswith("airflow-") and n not in ONE_SHOT]
    for name in airflow:
        assert "airflow-init" in services[name]["depends_on"], name


def test_images_are_pinned(model: dict[str, Any]) -> None:
    for name, service in model["services"].items():
        image = service["image"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", f"{name}: {image} (pin a version)"
    # Our services run the platform image, tagged like the settings' default (the RayJob's too).
    ours = {n for n, s in model["services"].items() if "build" in s}
    metrics = {"pushgateway", "statsd-exporter", "prometheus", "grafana"}
    assert ours == EXPECTED_SERVICES - {"postgres", "s3", "redis"} - metrics
    assert {model["services"][n]["image"] for n in ours} == {default_image()}


def test_the_platform_points_every_uri_at_a_service(model: dict[str, Any]) -> None:
    env = model["services"]["airflow-scheduler"]["environment"]
    for name in ("PLATFORM_LAKE_URI", "PLATFORM_OFFLINE_STORE_URI", "PLATFORM_TRAINING_SETS_URI",
                 "PLATFORM_RAY_STORAGE_PATH", "PLATFORM_SEARCH_INDEX_URI"):  # fmt: skip
        assert env[name].startswith("s3://"), name
    assert env["PLATFORM_REDIS_URL"].startswith("redis://")
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert env["RAY_ADDRESS"] == "ray-head:6379"
    assert env["AWS_ENDPOINT_URL"] == "http://s3:8333"
    buckets = {uri.split("/")[2] for key, uri in env.items() if str(uri).startswith("s3://")}
    s3_command = " ".join(model["services"]["s3"]["command"])
    created = set(re.search(r"-bucket=(\S+)", s3_command).group(1).split(","))  # type: ignore[union-attr]
    assert buckets <= created, f"buckets used but not created: {buckets - created}"


def test_the_readme_secret_generator_fills_every_secret(tmp_path: Path) -> None:
    # README "Starting it with docker compose": cp .env.example .env, then its Python snippet.
    readme = (REPO_ROOT / "README.md").read_text()
    snippet = re.search(r"cp \.env\.example \.env\n.*?python3 - <<'PY'\n(.*?)\nPY\n", readme, re.S)
    assert snippet, "the README's secret generator was not found"
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text())
    result = run(["python3", "-c", snippet.group(1)], tmp_path)
    assert result.returncode == 0, result.stderr
    values = dict(
        line.split("=", 1)
        for line in (tmp_path / ".env").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    for name in required_variables():
        assert values[name] and "change-me" not in values[name], name
    from cryptography.fernet import Fernet

    Fernet(values["AIRFLOW__CORE__FERNET_KEY"].encode())  # raises on a malformed key
    assert compose_config(tmp_path / ".env", tmp_path, "-q").returncode == 0


def test_every_platform_name_compose_sets_is_documented_in_the_readme() -> None:
    # Airflow's own options are documented by Airflow; ours and the tools' client settings here.
    name = re.compile(r"\b(?:PLATFORM|MLFLOW|RAY)_[A-Z0-9_]+\b")
    readme = set(name.findall((REPO_ROOT / "README.md").read_text()))
    ours = set(name.findall(compose_text())) | set(name.findall(ENV_EXAMPLE.read_text()))
    assert sorted(ours - readme) == [], "add them to the README's Production environment table"
