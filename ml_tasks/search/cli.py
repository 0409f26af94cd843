"""``python -m ml_tasks index ...`` and ``python -m ml_tasks search``: the search index by hand.

    python -m ml_tasks index refresh --date 2026-10-05 [--end ...] [--allow-large-change]
    python -m ml_tasks index status [--json]          # live version, kept versions, last gates
    python -m ml_tasks index rollback [--reason ...]  # live -> the previous live version
    python -m ml_tasks index history [--json]         # alias moves, gate decisions, clean-ups
    python -m ml_tasks search "vibration alarm after bearing change" [--k 5] [--json]

``search`` asks the running inference gateway when there is one (its embedding model stays
loaded: milliseconds instead of seconds); else, or with ``--version``, it searches in this
process. Which one answered is printed (``via`` in ``--json``).

``index refresh`` runs the same functions as the ``refresh_embeddings`` DAG. Exit codes: 0 done,
1 a gate blocked (blue stays live) or there is nothing to act on, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

from ml_tasks.cli_args import iso_date as _date


def add_index_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    refresh = sub.add_parser("refresh", help="chunk, embed changes, build, gate, swap, clean")
    refresh.add_argument("--date", type=_date, required=True, help="manuals snapshot day")
    refresh.add_argument("--end", type=_date, help="last snapshot day of a range (inclusive)")
    refresh.add_argument(
        "--allow-large-change", action="store_true", help="accept a large corpus change"
    )
    refresh.add_argument("--full-rebuild", action="store_true", help="re-embed every chunk")
    refresh.add_argument("--json", action="store_true", help="machine-readable output")
    status = sub.add_parser("status", help="live version, kept versions and their gates")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    rollback = sub.add_parser("rollback", help="point live back at the previous live version")
    rollback.add_argument("--reason", default="manual rollback", help="recorded in the history")
    history = sub.add_parser("history", help="alias moves, gate decisions and clean-ups")
    history.add_argument("--json", action="store_true", help="machine-readable output")


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="what you are looking for, in plain words")
    parser.add_argument("--k", type=int, default=5, help="number of chunks (default 5)")
    parser.add_argument("--version", type=int, help="search this kept version, not live")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _print(value: Any, as_json: bool, text: str) -> None:
    print(json.dumps(value, indent=2, default=str) if as_json else text)


def index_status() -> dict[str, Any]:
    """Live alias, kept versions with their counts and gate verdicts."""
    from ml_tasks.search.index import LIVE, ManualIndex

    index = ManualIndex()
    alias = index.alias(LIVE)
    kept = set(index.kept_versions())
    return {
        "live": alias.version,
        "previous": alias.previous,
        "updated_at": alias.updated_at,
        "reason": alias.reason,
        "versions": [
            {
                "version": b.version,
                "interval": b.interval,
                "rows": b.rows,
                "documents": b.documents,
                "embedded": b.embedded,
                "reused": b.reused,
                "skipped": len(b.stats.get("skipped", {})),
                "gate": None if b.gate is None else ("passed" if b.gate["passed"] else "blocked"),
                "kept": b.version in kept,
            }
            for b in index.builds()
        ],
    }


def _format_status(status: dict[str, Any]) -> str:
    lines = [
        f"live: v{status['live']} (previous v{status['previous']}) {status['reason']}"
        if status["live"] is not None
        else "live: none (no version promoted yet)"
    ]
    for v in status["versions"]:
        if not v["kept"]:
            continue
        mark = "*" if v["version"] == status["live"] else " "
        lines.append(
            f" {mark} v{v['version']:<4} {v['interval']}  {v['rows']:>6} chunks  "
            f"{v['documents']:>4} docs  embedded {v['embedded']:>5} reused {v['reused']:>6}  "
            f"skipped {v['skipped']}  gate {v['gate'] or '-'}"
        )
    return "\n".join(lines)


def _refresh(args: argparse.Namespace) -> int:
    from ml_tasks.search.gates import IndexGateFailed
    from ml_tasks.search.pipeline import MissingManuals, format_decision, refresh

    end = args.end or args.date
    day, results, code = args.date, [], 0
    while day <= end:
        try:
            result = refresh(
                day, allow_large_change=args.allow_large_change, full_rebuild=args.full_rebuild
            )
        except IndexGateFailed as err:
            result, code = {"interval": day.isoformat(), "decision": err.decision}, 1
        except MissingManuals as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        results.append(result)
        if not args.json:
            e = result.get("embedded")
            if e:
                print(
                    f"{day}: {e['documents']} docs, {e['chunks']} chunks, embedded "
                    f"{e['embedded']}, reused {e['reused']}, skipped {len(e['skipped'])}"
                    + "".join(f"\n  skipped {d}: {r}" for d, r in sorted(e["skipped"].items()))
                )
            for line in format_decision(result["decision"]):
                print(f"  {line}")
        day += timedelta(days=1)
    if args.json:
        _print(results, True, "")
    return code


def run_index(args: argparse.Namespace) -> int:
    from ml_tasks.search.index import NoLiveIndex

    if args.action == "refresh":
        return _refresh(args)
    if args.action == "status":
        status = index_status()
        _print(status, args.json, _format_status(status))
        return 0
    if args.action == "rollback":
        from ml_tasks.search.pipeline import rollback

        try:
            result = rollback(reason=args.reason)
        except NoLiveIndex as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"live index: v{result['previous']} -> v{result['live']} (rolled back)")
        return 0
    from ml_tasks.search.index import ManualIndex

    events = ManualIndex().events()
    text = "\n".join(
        f"{e['at']:%Y-%m-%d %H:%M:%S}  {e['action']:<12} v{e['version']}"
        + (f" (from v{e['previous']})" if e["previous"] is not None else "")
        + (f"  {e['details'].get('reason', '')}" if e["details"].get("reason") else "")
        + (
            "  " + "; ".join(e["details"].get("reasons", []))
            if e["action"] == "gate_failed"
            else ""
        )
        for e in events
    )
    _print(events, args.json, text or "no events yet")
    return 0


def _search_on_gateway(query: str, k: int) -> tuple[dict[str, Any] | None, str | None]:
    """(answer, gateway URL) from the running gateway, whose embedding model is already
    loaded; (None, None) when none runs or it cannot be reached (search here instead)."""
    from ml_tasks.serving.client import GatewayUnreachable, find_gateway

    client = find_gateway()
    if client is None:
        return None, None
    try:
        return client.search(query, k), client.url
    except GatewayUnreachable:
        return None, None


def run_search(args: argparse.Namespace) -> int:
    from ml_tasks.search.index import NoLiveIndex
    from ml_tasks.serving.client import GatewayError

    if args.k < 1:
        print("error: --k must be at least 1", file=sys.stderr)
        return 2
    answer, url = None, None
    if args.version is None:  # the gateway searches the live version only
        try:
            answer, url = _search_on_gateway(args.query, args.k)
        except GatewayError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    if answer is not None:
        version, live, hits = answer["index_version"], True, answer["hits"]
        via = f"gateway {url}"
    else:
        from ml_tasks.search.retrieval import Searcher

        try:
            searcher = Searcher(version=args.version)
            hits = searcher.search(args.query, args.k)
        except (NoLiveIndex, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        version, live, via = searcher.version, bool(searcher.alias), "in-process"
    if args.json:
        out = {"version": version, "query": args.query, "via": via, "hits": hits}
        _print(out, True, "")
        return 0
    print(f"index v{version}{' (live)' if live else ''}: {args.query!r}  [{via}]")
    for i, h in enumerate(hits, 1):
        snippet = " ".join(h["text"].split())[:160]
        print(f"{i}. {h['score']:.3f}  {h['doc_id']} # {h['section']}  ({h['title']})")
        print(f"   {snippet}")
    return 0
