#!/usr/bin/env bash
# Creates the two databases of the production stack on a new Postgres data directory: `airflow`
# (Airflow's metadata) and `mlflow` (the MLflow server's backend store), each owned by its own
# role whose password comes from the environment. The postgres image runs the scripts in
# /docker-entrypoint-initdb.d once, as the superuser, when the data directory is empty.
set -euo pipefail

: "${POSTGRES_AIRFLOW_PASSWORD:?POSTGRES_AIRFLOW_PASSWORD is required (see .env.example)}"
: "${POSTGRES_MLFLOW_PASSWORD:?POSTGRES_MLFLOW_PASSWORD is required (see .env.example)}"

# psql variables (:'name') quote the passwords as SQL literals; the heredoc is not expanded by
# the shell, so no password is ever part of the SQL text the shell builds.
psql -v ON_ERROR_STOP=1 \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v airflow_password="${POSTGRES_AIRFLOW_PASSWORD}" \
  -v mlflow_password="${POSTGRES_MLFLOW_PASSWORD}" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
SQL
