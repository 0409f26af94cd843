"""CLI commands of evaluation and release: ``evaluate``, ``history``, ``rollback``.

- ``python -m ml_tasks evaluate --model failure_model [--version N]``: evaluate a version (the
  challenger by default) against the champion, log report and model card to its MLflow run,
  then print what every promotion gate decides;
- ``python -m ml_tasks history --model failure_model [--on YYYY-MM-DD]``: every alias change,
  the champion periods and, with ``--on``, which version(s) were champion that day;
- ``python -m ml_tasks rollback --model failure_model [--to-version N [--force]] --reason "..."``:
  one step back (or to N, which must have been champion or passed every gate; ``--force`` with
  a reason of its own overrides that and is recorded) after verifying the target's sha256;
  recorded in the history.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from ml_tasks.cli_args import iso_date as _date

if TYPE_CHECKING:
    from ml_tasks.evaluation.pipeline import EvaluationSummary


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="failure_model", help="registered model name")
    parser.add_argument("--version", help="version to evaluate (default: the challenger alias)")
    parser.add_argument("--policy", help="promotion policy file (default: settings)")
    parser.add_argument("--no-gates", action="store_true", help="do not print the gate decision")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="failure_model", help="registered model name")
    parser.add_argument("--on", type=_date, help="which version(s) held the alias on this day")
    parser.add_argument("--alias", default="champion", help="alias to follow (default champion)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_rollback_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="failure_model", help="registered model name")
    parser.add_argument(
        "--to-version",
        help="version to roll back to (default: the previous_champion alias); it must have been "
        "champion before or passed every promotion gate",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="allow a --to-version that was never champion and did not pass every gate "
        "(never a quarantined one); needs a --reason of its own, recorded in the history",
    )
    parser.add_argument("--reason", default="manual rollback", help="recorded in the history")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def format_evaluation(summary: EvaluationSummary) -> str:
    """Human-readable evaluation summary."""
    ch = summary.metrics["challenger"]
    champ = summary.metrics.get("champion") or {}
    hold = summary.holdout
    champion = summary.champion_version
    lines = [
        f"Evaluated {summary.model_name} v{summary.version} against "
        + (f"champion v{champion}" if champion else "no champion (first release)"),
        f"  holdout  {hold['rows']} rows, {hold['positives']} failures, "
        f"{hold['start']} .. {hold['end']}",
        f"  {'metric':<22}{'challenger':>12}{'champion':>12}",
    ]
    for name, value in ch.items():
        lines.append(f"  {name:<22}{_fmt(value):>12}{_fmt(champ.get(name, '-')):>12}")
    rob = summary.robustness
    for kind in ("gaussian_noise", "missing_sensor", "unit_shift"):
        r = rob.get(kind) or {}
        ci = r.get("ci") or [None, None]
        lines.append(
            f"  robustness {kind:<16} worst {r.get('case')}: drop {_fmt(r.get('drop'))} "
            f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"
        )
    lines.append(f"  artifacts  {summary.report}, {summary.model_card} (run {summary.run_id})")
    for key, error in summary.errors.items():
        lines.append(f"  problem    {key}: {error}")
    return "\n".join(lines)


def run_evaluate(args: argparse.Namespace) -> int:
    from ml_tasks.evaluation.pipeline import evaluate_version
    from ml_tasks.registry.models import ModelNotFound
    from ml_tasks.release import gates
    from ml_tasks.release.policy import load_policy

    policy = load_policy(args.policy) if args.policy else load_policy()
    try:
        summary = evaluate_version(args.version, model_name=args.model, policy=policy)
    except ModelNotFound as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    decisions = (
        [] if args.no_gates else gates.decide_all(args.model, summary.version, policy=policy)
    )
    if args.json:
        out = {"evaluation": summary.to_dict(), "gates": [d.to_dict() for d in decisions if d]}
        print(json.dumps(out, indent=2, default=str))
    else:
        print(format_evaluation(summary))
        if decisions:
            print()
            print(gates.format_decisions(decisions))
    return 0


def _registered(mlflow_client: object, model_name: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.get_registered_model(model_name)  # type: ignore[attr-defined]
    except MlflowException:
        return False
    return True


def sqlite_registry(model_name: str) -> tuple[bool, dict[str, str], dict[str, str]] | None:
    """(registered, aliases -> version, tags) of a model, read from the embedded SQLite registry.

    ``history`` only reads, and importing MLflow costs seconds (it is most of the command's
    time), so on the embedded default it reads MLflow's own tables; the component tests hold the
    answer to MLflow's. None where the registry is not SQLite or its tables are not as expected:
    then the caller asks MLflow.
    """
    import sqlite3

    from ml_tasks.settings import get_settings

    s = get_settings()
    uri = s.mlflow_registry_uri or s.mlflow_tracking_uri
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        columns = {row[1] for row in con.execute("PRAGMA table_info(registered_models)")}
        scope = " AND workspace = 'default'" if "workspace" in columns else ""
        registered = con.execute(
            f"SELECT 1 FROM registered_models WHERE name = ?{scope}", (model_name,)
        ).fetchone()
        current = con.execute(
            f"SELECT alias, version FROM registered_model_aliases WHERE name = ?{scope}",
            (model_name,),
        ).fetchall()
        tags = con.execute(
            f'SELECT "key", value FROM registered_model_tags WHERE name = ?{scope}', (model_name,)
        ).fetchall()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return (
        registered is not None,
        {alias: str(version) for alias, version in sorted(current)},
        {key: value for key, value in tags},
    )


def run_history(args: argparse.Namespace) -> int:
    from ml_tasks.registry import history
    from ml_tasks.registry.models import registry_exists

    events = history.read_events(args.model)
    current: dict[str, str] = {}
    problems: list[str] = []
    known = bool(events)  # a deleted model's history is still worth showing
    if registry_exists():
        direct = sqlite_registry(args.model)
        if direct is not None:
            registered, current, tags = direct
            recorded = history.events_from_tags(tags)
        else:
            from ml_tasks.registry.models import aliases, client

            c = client()
            registered = _registered(c, args.model)
            current = aliases(c, args.model)
            recorded = history.registry_events(c, args.model)
        known = known or registered
        problems = history.reconcile(events, recorded, current)
    if not known:
        # A typo must not read as "no alias ever moved": say so and fail.
        print(
            f"error: unknown model {args.model!r}: not in the registry and no alias history",
            file=sys.stderr,
        )
        return 1
    if args.json:
        out = {
            "model_name": args.model,
            "aliases": current,
            "events": [e.to_dict() for e in events],
            "periods": [p.to_dict() for p in history.periods(events, args.alias)],
            "on": None
            if args.on is None
            else {
                "day": args.on.isoformat(),
                "versions": [p.to_dict() for p in history.on_day(events, args.on, args.alias)],
            },
            "problems": problems,
        }
        print(json.dumps(out, indent=2, default=str))
    else:
        print(
            history.format_history(
                args.model,
                events,
                day=args.on,
                alias=args.alias,
                current=current,
                problems=problems,
            )
        )
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from ml_tasks.registry.aliases import ReleaseContext
    from ml_tasks.registry.models import ModelNotFound
    from ml_tasks.release.rollback import RollbackRefused, rollback

    try:
        result = rollback(
            args.model,
            args.to_version,
            context=ReleaseContext.cli(),
            reason=args.reason,
            force=args.force,
        )
    except (RollbackRefused, ModelNotFound) as err:
        print(f"rollback refused: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(
            f"Rolled back {result['model_name']}: champion v{result['from_version']} -> "
            f"v{result['to_version']} (sha256 {result['model_sha256'][:16]}... verified); "
            f"previous_champion now "
            + (f"v{result['previous_champion']}" if result["previous_champion"] else "none")
        )
        if result["forced"]:
            print(f"  FORCED: {result['release_record']}; reason recorded: {result['reason']}")
        for event in result["events"]:
            print(
                f"  recorded: @{event['alias']} {event['from_version']} -> "
                f"{event['to_version']}  ({event['reason']})"
            )
    return 0
