"""Training benchmark: XGBoost on Ray Train against plain ``xgboost.train``, side by side.

Same synthetic training set (1M rows by default, 56 numeric features, row groups of 64k rows),
same time split, same XGBoost parameters and the same total thread count, in one process:

- baseline: read the parquet (all of it), build the ``QuantileDMatrix``es, ``xgboost.train``;
- Ray: :func:`ml_tasks.training.runner.fit` on an in-process Ray, each worker reading its own
  share of the file (``ml_tasks.training.data``), checkpointing every ``--checkpoint-every``
  rounds and reporting to Ray Train only then.

Printed: the fixed start-up (``ray.init`` + worker start, goal <= 15 s) apart from the training
itself (worker data load + DMatrix + boosting + checkpoints, ratio to the baseline's load +
DMatrix + boosting, goal <= 1.5), the checkpoint overhead (same Ray run with checkpoints only at
the end, goal <= 10 %; also timed inside the callback) and the work lost to a failure injected
mid-interval: the rounds redone (goal: at most one checkpoint interval) plus the restart (failure
to the new worker group's first round) and the data reload, timed from the run's own records.

Ray starts cold for each configuration, as it does in a training task without a head.
``--startup-only N`` times only the start-up, from the task's Ray start to the first boosting
round, cold (in-process ``ray.init``) and warm (connected to a local head started once, as the
embedded default does with ``ml_platform_demo.ray_head``), side by side.

    .venv/bin/python bench/training.py [--rows 1000000] [--rounds 100] [--checkpoint-every 20]
    .venv/bin/python bench/training.py --startup-only 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"


def _training_set(rows: int):
    from ml_platform_demo.synthetic_training import write_training_set

    path = DATA / f"training_set_{rows}.parquet"
    started = time.perf_counter()
    ref = write_training_set(path, rows, machines=500, seed=11, row_group_size=65_536)
    return ref, time.perf_counter() - started


def _baseline(plan) -> dict[str, float]:
    import xgboost as xgb

    from ml_tasks.training import data

    cfg = plan.config
    params = replace(cfg, workers=1, cpus_per_worker=cfg.workers * cfg.cpus_per_worker)
    params = params.xgb_params()
    t0 = time.perf_counter()
    shard = data.load_shard(
        plan.training_set.path,
        list(plan.features),
        label=plan.training_set.label,
        timestamp=plan.training_set.timestamp,
        split=plan.split,
        rank=0,
        world_size=1,
    )
    t1 = time.perf_counter()
    dtrain = xgb.QuantileDMatrix(
        shard.x_train,
        shard.y_train,
        feature_names=list(plan.features),
        nthread=params["nthread"],
        max_bin=params["max_bin"],
    )
    dvalid = xgb.QuantileDMatrix(
        shard.x_valid, shard.y_valid, ref=dtrain, feature_names=list(plan.features)
    )
    t2 = time.perf_counter()
    log: dict = {}
    xgb.train(
        params,
        dtrain,
        num_boost_round=cfg.rounds,
        evals=[(dvalid, "valid")],
        evals_result=log,
        verbose_eval=False,
    )
    t3 = time.perf_counter()
    return {
        "load_s": t1 - t0,
        "dmatrix_s": t2 - t1,
        "boosting_s": t3 - t2,
        "total_s": t3 - t0,
        "threads": params["nthread"],
        "valid_aucpr": log["valid"]["aucpr"][-1],
    }


def _print_baseline(base: dict[str, float], label: str = "") -> None:
    print(
        f"  baseline xgboost.train {label}({base['threads']} threads): load {base['load_s']:.2f} s"
        f" + DMatrix {base['dmatrix_s']:.2f} s + boosting {base['boosting_s']:.2f} s ="
        f" {base['total_s']:.2f} s (valid aucpr {base['valid_aucpr']:.4f})"
    )


def _fit(plan, fault=None) -> dict[str, float]:
    from ml_tasks.training import runner

    result = runner.fit(plan, fault=fault)
    t = dict(result.timings)
    t["attempts"] = [a["start_round"] for a in result.attempts]
    t["rounds"] = result.rounds_trained
    t["valid_aucpr"] = result.history[-1]["valid-aucpr"]
    t["last_attempt"] = result.attempts[-1]
    return t


def _statistics(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"
    )


def _startup_only(repeats: int, cpus: int) -> int:
    """Task start to the first boosting round, cold (in-process Ray) against warm (a local head
    started once, ``RAY_ADDRESS``), interleaved ``repeats`` times per configuration."""
    import ray  # both paths pay the import alike (a task imports ray either way)

    from ml_platform_demo.ray_head import start_head, stop_head
    from ml_tasks.settings import get_settings
    from ml_tasks.training import pipeline, runner

    load = os.getloadavg()
    print(
        f"Start-up to the first boosting round, cold vs warm, {repeats} runs each per"
        f" configuration, {cpus} CPUs (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"
    )
    ref, _ = _training_set(20_000)
    storage = tempfile.mkdtemp(prefix="bench-startup-")
    os.environ["PLATFORM_HOME"] = tempfile.mkdtemp(prefix="bench-ray-home-")
    settings = get_settings()
    runner.configure_env(local=True)
    t0 = time.perf_counter()
    head = start_head(settings, num_cpus=cpus)
    print(f"  local head started once in {time.perf_counter() - t0:.1f} s at {head.address}")
    try:
        for workers, per_worker in ((1, cpus), (cpus, 1)):
            runs: dict[str, list[tuple[float, float, float]]] = {"cold": [], "warm": []}
            for i in range(repeats):
                for mode in ("cold", "warm"):
                    plan = pipeline.plan_training(
                        ref,
                        run_id=f"startup-{mode}-{workers}-{i}",
                        storage_path=storage,
                        rounds=1,
                        workers=workers,
                        cpus_per_worker=per_worker,
                    )
                    ray.shutdown()
                    t0 = time.perf_counter()
                    if mode == "cold":
                        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
                    else:
                        ray.init(address=head.address, log_to_driver=False)
                    ray_init = time.perf_counter() - t0
                    r = _fit(plan)
                    runs[mode].append((ray_init, r["worker_start_s"], r["data_load_s"]))
            totals = {mode: [sum(t) for t in times] for mode, times in runs.items()}
            print(f"  {workers} worker(s) x {per_worker} CPU(s):")
            for mode, label in (("cold", "ray.init in-process"), ("warm", "connect to the head")):
                parts = ", ".join(
                    f"{a:.1f} + {b:.1f} + {c:.1f} = {a + b + c:.1f}" for a, b, c in runs[mode]
                )
                print(
                    f"      {mode} ({label} + worker start + data): {parts} s;"
                    f" {_statistics(totals[mode])}"
                )
            ratio = statistics.median(totals["warm"]) / statistics.median(totals["cold"])
            print(
                f"      warm / cold {ratio:.2f}; warm median"
                f" {statistics.median(totals['warm']):.2f} s (goal <= 5 s)"
                f"  (load average now {os.getloadavg()[0]:.2f})"
            )
    finally:
        ray.shutdown()
        stop_head(settings)
        shutil.rmtree(storage, ignore_errors=True)
        shutil.rmtree(settings.platform_home, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--checkpoint-every", type=int, default=20)
    parser.add_argument("--fail-at", type=int, default=None, help="default: mid-interval")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--startup-only",
        type=int,
        metavar="N",
        help="only time the start-up to the first boosting round, N cold (in-process Ray) and"
        " N warm (a local head started once) per configuration",
    )
    args = parser.parse_args(argv)
    if args.startup_only:
        return _startup_only(args.startup_only, args.cpus)

    import ray

    from ml_tasks.training import pipeline, runner

    every = args.checkpoint_every
    fail_at = args.fail_at or (args.rounds // 2 // every) * every + every // 2 + 1
    load = os.getloadavg()
    print(
        f"Training benchmark: {args.rows:,} rows, {args.rounds} rounds, checkpoint every {every},"
        f" {args.cpus} CPUs (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start)"
    )
    ref, made = _training_set(args.rows)
    print(f"  synthetic training set written in {made:.1f} s: {ref.path}")
    storage = tempfile.mkdtemp(prefix="bench-training-")
    try:
        t0 = time.perf_counter()
        base_plan = pipeline.plan_training(
            ref,
            run_id="bench",
            storage_path=storage,
            rounds=args.rounds,
            checkpoint_every=every,
            early_stopping_rounds=0,
            workers=args.cpus,
            cpus_per_worker=1,
            max_failures=1,
        )
        planned = time.perf_counter() - t0
        split = base_plan.split
        print(
            f"  plan (features, time split; driver, once per run): {planned:.2f} s;"
            f" {split.rows_train:,} train / {split.rows_valid:,} validation rows,"
            f" {len(base_plan.features)} features"
        )

        # The baseline runs before and after the Ray runs; the faster of the two counts, so
        # load from other processes on a shared machine does not flatter the Ray figures.
        base = _baseline(base_plan)
        _print_baseline(base)

        runner.configure_env(local=True)

        def cold_ray() -> float:
            """A fresh in-process Ray, as a training task gets one; returns ray.init's time."""
            ray.shutdown()
            t0 = time.perf_counter()
            ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
            return time.perf_counter() - t0

        def plan(name, **changes):
            config = replace(base_plan.config, **changes)
            return replace(base_plan, run_name=f"bench-{name}", config=config)

        configs = {
            f"{args.cpus} workers x 1 CPU": plan("wide"),
            f"1 worker x {args.cpus} CPUs": plan("single", workers=1, cpus_per_worker=args.cpus),
        }
        runs = {}
        for label, p in configs.items():
            ray_init = cold_ray()
            runs[label] = _fit(p) | {"ray_init_s": ray_init}

        again = _baseline(base_plan)
        _print_baseline(again, "again")
        base = min(base, again, key=lambda b: b["total_s"])
        for label, r in runs.items():
            start_up = r["ray_init_s"] + r["worker_start_s"]
            ratio = r["train_loop_s"] / base["total_s"]
            print(
                f"  Ray, {label} (cold start, as in a task):\n"
                f"      start-up {start_up:.2f} s = ray.init {r['ray_init_s']:.2f} s + worker start"
                f" {r['worker_start_s']:.2f} s (goal <= 15 s)\n"
                f"      training {r['train_loop_s']:.2f} s = read, DMatrix {r['data_load_s']:.2f} s"
                f" + boosting and checkpoints {r['boosting_s']:.2f} s; shutdown"
                f" {r['shutdown_s']:.2f} s\n"
                f"      ratio to the baseline {ratio:.2f} (goal <= 1.5); boosting alone"
                f" {r['boosting_s'] / base['boosting_s']:.2f};"
                f" valid aucpr {r['valid_aucpr']:.4f} (baseline {base['valid_aucpr']:.4f})"
            )

        # Checkpoint overhead and lost work: three runs in one Ray session, so all but the
        # first start warm and their run times compare.
        best = min(runs, key=lambda k: runs[k]["train_loop_s"])
        best_plan = configs[best]
        cold_ray()
        final_only = replace(best_plan.config, checkpoint_every=0)
        no_ckpt = _fit(replace(best_plan, run_name="bench-nockpt", config=final_only))
        with_ckpt = _fit(replace(best_plan, run_name="bench-ckpt"))
        overhead = with_ckpt["boosting_s"] / no_ckpt["boosting_s"] - 1
        spent = with_ckpt["checkpoint_s"]
        boosting = with_ckpt["boosting_s"] - spent
        print(
            f"  checkpoint overhead ({best}), {args.rounds // every - 1} checkpoints before the"
            f" final one (goal <= 10 %):\n"
            f"      measured in the callback: {spent:.2f} s on {boosting:.2f} s of boosting ="
            f" {spent / boosting:+.1%}\n"
            f"      run against run: {with_ckpt['boosting_s']:.2f} s vs the final checkpoint only"
            f" {no_ckpt['boosting_s']:.2f} s = {overhead:+.1%}"
        )

        fault = {"at_round": fail_at, "marker": f"{storage}/bench-fault/chaos.json"}
        faulty = _fit(replace(best_plan, run_name="bench-fault"), fault=fault)
        failed_at = json.loads(Path(fault["marker"]).read_text())["at"]
        second = faulty["last_attempt"]
        per_round = with_ckpt["boosting_s"] / args.rounds
        interval = every * per_round
        redo = fail_at - faulty["attempts"][-1]
        restart = second["started_at"] - failed_at  # detect, tear down, start a new group
        reload = second["data_ready_at"] - second["started_at"]
        lost = redo * per_round + restart + reload
        print(
            f"  injected failure after round {fail_at} ({best}, max_failures=1): attempts"
            f" started at rounds {faulty['attempts']}, {faulty['rounds']} rounds in the model\n"
            f"      lost {redo} rounds = {redo * per_round:.2f} s (goal <= one interval,"
            f" {every} rounds = {interval:.2f} s) + restart {restart:.2f} s + data reload"
            f" {reload:.2f} s = {lost:.2f} s\n"
            f"      end to end: {faulty['fit_s']:.2f} s against {with_ckpt['fit_s']:.2f} s"
            f" without the failure = {faulty['fit_s'] - with_ckpt['fit_s']:.2f} s"
        )
        load = os.getloadavg()
        print(f"  load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        ray.shutdown()
        shutil.rmtree(storage, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
