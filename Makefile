# ML platform on Apache Airflow 3. `make help` lists the targets.
# Every target sets itself up: it creates .venv and installs the pinned requirements first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
REQUIREMENTS := $(VENV)/.requirements
STAMP := $(VENV)/.installed
FROM ?= 2026-10-01
TO ?= 2026-10-03
# make train's window: the demo data's weeks before the simulated drift on plant P2.
START ?= 2026-10-01
END ?= 2026-10-23

.DEFAULT_GOAL := help
.PHONY: help venv run test lint unit component integration ui backfill bench status clean evaluate history rollback \
	search index-status index-rollback mlflow-ui serve train promote test-stack screenshots

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(REQUIREMENTS): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and alone: the CPU build (local wheel); via a dependency pip would fetch CUDA.
	$(PY) -m pip install --quiet "$$(grep -E '^torch==' requirements.txt)"
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(REQUIREMENTS)

# The project itself, editable, on top of the pins (--no-deps: requirements.txt already resolved
# them). Editable installs map the top-level packages that exist when they run, so a new package
# (a new */__init__.py) installs again.
$(STAMP): $(REQUIREMENTS) pyproject.toml $(wildcard */__init__.py)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

venv: $(STAMP) ## Create .venv, install the pinned requirements and the project (editable)

run: $(STAMP) ## Main job: init Airflow, generate 30 days of demo data, run the nightly DAGs, summarise
	$(PY) -m ml_platform_demo run

# Test layers (tests/conftest.py marks each test by its folder): unit = pure logic and DAG parsing,
# seconds; component = one stage on its real engines (Ray, MLflow, Redis, Feast, models), minutes;
# integration = real Airflow dag.test() runs. One pytest per layer: a quick layer fails fast.
UNIT_TESTS := tests/unit tests/dags
COMPONENT_TESTS := tests/component
INTEGRATION_TESTS := tests/integration

test: $(STAMP) ## Run all checks: lint (ruff, mypy), then the unit, component and integration tests
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest $(UNIT_TESTS)
	$(PY) -m pytest $(COMPONENT_TESTS)
	$(PY) -m pytest $(INTEGRATION_TESTS)

lint: $(STAMP) ## Static checks: ruff (with Airflow's AIR rules), then mypy on the three packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

unit: $(STAMP) ## Unit and DAG-integrity tests: pure, no servers (seconds)
	$(PY) -m pytest $(UNIT_TESTS)

component: $(STAMP) ## Component tests: stages on Ray, MLflow, Redis, Feast and the models (minutes)
	$(PY) -m pytest $(COMPONENT_TESTS)

integration: $(STAMP) ## Integration tests (real Airflow dag.test runs)
	$(PY) -m pytest $(INTEGRATION_TESTS)

# Not part of `make test`: it starts real servers (Postgres, SeaweedFS, Redis, MLflow, Ray,
# Airflow) on loopback; PostgreSQL and redis-server come from Debian packages (.ci/run installs them).
test-stack: $(STAMP) ## Production stack test: real Postgres, S3, Redis, MLflow, Ray, Airflow on loopback
	$(PY) -m pytest tests/stack

ui: $(STAMP) ## Airflow UI on localhost with the project's DAGs (Ctrl-C stops everything)
	$(PY) -m ml_platform_demo ui

# Reuses `make ui`'s API server when it runs, else starts one for the shots; needs Debian's
# chromium. The images go to PLATFORM_HOME/screenshots (never committed).
screenshots: $(STAMP) ## Screenshots of the ML view in the Airflow UI (headless chromium) into .platform/screenshots
	$(PY) -m ml_platform_demo.screenshots

# The store and artifact locations come from ml_tasks.settings (PLATFORM_HOME, MLFLOW_TRACKING_URI).
MLFLOW_PORT ?= 5000
SETTING = $(PY) -c 'from ml_tasks.settings import get_settings; print(get_settings().$(1))'
mlflow-ui: $(STAMP) ## MLflow UI on the embedded store: http://localhost:5000 [MLFLOW_PORT=N] (Ctrl-C stops it)
	$(VENV)/bin/mlflow ui --backend-store-uri "$$($(call SETTING,mlflow_tracking_uri))" \
		--artifacts-destination "$$($(call SETTING,mlflow_artifact_root))" \
		--host 127.0.0.1 --port $(MLFLOW_PORT)

backfill: $(STAMP) ## Backfill a DAG from the CLI: make backfill FROM=2026-10-01 TO=2026-10-03 [DAG=elt_telemetry]
	$(PY) -m ml_platform_demo backfill --dag-id $(or $(DAG),elt_telemetry) --from $(FROM) --to $(TO)

bench: $(STAMP) ## Benchmarks (ratios against baselines run side by side)
	$(PY) bench/elt.py
	$(PY) bench/features.py
	$(PY) bench/training.py
	$(PY) bench/drift.py
	$(PY) bench/embeddings.py

train: $(STAMP) ## Train failure_model on Ray and register it as the challenger [START=YYYY-MM-DD END=YYYY-MM-DD WORKERS=N ROUNDS=N]
	$(PY) -m ml_tasks train --start $(START) --end $(END) $(if $(WORKERS),--workers $(WORKERS)) $(if $(ROUNDS),--rounds $(ROUNDS))

evaluate: $(STAMP) ## Evaluate the challenger against the champion and print the gate decision [VERSION=N]
	$(PY) -m ml_tasks evaluate --model failure_model $(if $(VERSION),--version $(VERSION))

promote: $(STAMP) ## Release the challenger: gates, then shadow -> canary -> flip [VERSION=N STEPS=10,50,100 REASON="..."]
	$(PY) -m ml_tasks promote --model failure_model $(if $(VERSION),--version $(VERSION)) $(if $(STEPS),--canary-steps $(STEPS)) $(if $(REASON),--reason "$(REASON)")

history: $(STAMP) ## Audit history of failure_model's aliases [ON=YYYY-MM-DD]
	$(PY) -m ml_tasks history --model failure_model $(if $(ON),--on $(ON))

rollback: $(STAMP) ## Roll failure_model back one step (sha256 verified): make rollback REASON="..." [TO=N [FORCE=1]]
	$(PY) -m ml_tasks rollback --model failure_model --reason "$(or $(REASON),manual rollback)" $(if $(TO),--to-version $(TO)) $(if $(FORCE),--force)

serve: $(STAMP) ## Inference gateway on http://127.0.0.1:8765 (embedded registry and online store; Ctrl-C stops it) [PORT=N]
	$(PY) -m ml_tasks serve $(if $(PORT),--port $(PORT))

search: $(STAMP) ## Search the maintenance manuals (live index): make search Q="pump leaking at the shaft"
	$(PY) -m ml_tasks search "$(Q)"

index-status: $(STAMP) ## Search index: live version, kept versions and their gate verdicts
	$(PY) -m ml_tasks index status

index-rollback: $(STAMP) ## Point the live search index back at the previous live version
	$(PY) -m ml_tasks index rollback --reason "$(or $(REASON),manual rollback)"

status: $(STAMP) ## Current dataset versions
	$(PY) -m ml_tasks status

clean: ## Remove the embedded platform state (.platform/)
	rm -rf .platform
