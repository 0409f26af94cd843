"""The demo and developer tooling around the platform; not platform code.

A deterministic data generator for the landing zone (:mod:`ml_platform_demo.generate`, its parts
in :mod:`ml_platform_demo.generator`), the maintenance-manual corpus
(:mod:`ml_platform_demo.manuals`, text in YAML data files), a synthetic training set for tests and
benchmarks (:mod:`ml_platform_demo.synthetic_training`), the end-to-end demo (``make run``:
:mod:`ml_platform_demo.run` and its :mod:`ml_platform_demo.steps`) and the embedded Airflow
services (:mod:`ml_platform_demo.services`: the UI and backfills, driven through Airflow's CLI
and REST API). ``python -m ml_platform_demo --help`` lists the commands. The platform
(:mod:`ml_tasks`) never imports this package.
"""
