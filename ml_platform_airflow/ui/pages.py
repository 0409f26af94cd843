"""The ML view's HTML: one page, a section per part of the view's data (``ml_view.collect``).

Plain string templates with every value escaped; no JavaScript and no front-end build. Links to
files the view serves are relative (``artifacts/...``, ``reports/...``), so they resolve under
whatever prefix the app is mounted at; MLflow links open in a new tab (the page itself runs in
the Airflow UI's iframe).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from ml_platform_airflow.ui import plots

STYLE = """
body { font-family: sans-serif; margin: 16px 24px; color: #1a1a1a; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; border-bottom: 2px solid #ccc; padding-bottom: 4px; margin-top: 28px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
nav a { margin-right: 14px; }
table { border-collapse: collapse; margin: 6px 0 10px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #11772a; font-weight: bold; }
.fail { color: #b00020; font-weight: bold; }
.muted { color: #666; }
.alias { background: #e7eefc; border-radius: 3px; padding: 1px 5px; margin-right: 3px; }
.error { color: #b00020; border: 1px solid #b00020; padding: 6px; }
.reason { max-width: 640px; }
.charts { display: flex; flex-wrap: wrap; gap: 8px 16px; }
"""
# A sensor's drift chart (pixels): two side by side on a 1440 px wide page.
DRIFT_CHART = (680, 280)


def _e(value: Any) -> str:
    """Escaped text; a dash for nothing."""
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return escape(f"{value:.4g}")
    return escape(str(value))


def _when(value: Any) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM`` (UTC), escaped."""
    if not value:
        return "-"
    return escape(str(value)[:16].replace("T", " "))


def _version(value: Any) -> str:
    return "none" if value is None else f"v{_e(value)}"


def _verdict(value: Any) -> str:
    if value in (True, "passed"):
        return '<span class="pass">passed</span>'
    if value in (False, "blocked"):
        return '<span class="fail">blocked</span>'
    return '<span class="muted">-</span>'


def _link(href: str | None, text: str, external: bool = False) -> str:
    if not href:
        return ""
    target = ' target="_blank" rel="noopener"' if external else ""
    return f'<a href="{escape(href)}"{target}>{escape(text)}</a>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    """A table of already-escaped cells (a cell starting with ``<td`` is kept as it is)."""
    body = [
        "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>"
        for row in rows
    ]
    if not body:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _num(value: Any) -> str:
    return f'<td class="num">{_e(value)}</td>'


def _pct(value: Any) -> str:
    return _num(None if value is None else f"{100 * float(value):.1f} %")


def _reasons(reasons: Sequence[Any], fallback: Any = None) -> str:
    """A cell with one reason per line (``fallback`` when there is none)."""
    return f'<td class="reason">{"<br>".join(_e(r) for r in reasons) or _e(fallback)}</td>'


def _error(section: dict[str, Any]) -> str | None:
    if "error" in section:
        return f'<p class="error">could not read this section: {escape(section["error"])}</p>'
    return None


def models_html(models: dict[str, Any]) -> str:
    if (err := _error(models)) is not None:
        return err
    if not models.get("registered"):
        return f'<p class="muted">{escape(models["model_name"])} is not registered yet.</p>'
    aliases = ", ".join(f"{escape(a)} → v{escape(v)}" for a, v in models["aliases"].items())
    parts = [f"<p>Aliases: {aliases or 'none'}</p>", "<h3>Versions</h3>"]
    rows = []
    for v in models["versions"]:
        links = v["links"]
        rows.append(
            [
                f"v{_e(v['version'])}",
                "".join(f'<span class="alias">{escape(a)}</span>' for a in v["aliases"]) or "-",
                _when(v["created_at"]),
                _e(v["evaluation_status"]),
                *(_verdict(g) for g in v["gates"].values()),
                _e(v["release_status"]) + (" <b>quarantined</b>" if v["quarantined"] else ""),
                " · ".join(
                    x
                    for x in (
                        _link(links.get("mlflow_run"), "MLflow run", external=True),
                        _link(links.get("mlflow_version"), "version", external=True),
                        _link(links["evaluation_report"], "evaluation report")
                        if v["evaluation_status"]
                        else "",
                        _link(links["model_card"], "model card") if v["evaluation_status"] else "",
                    )
                    if x
                ),
            ]
        )
    gate_names = list(models["versions"][0]["gates"]) if models["versions"] else []
    parts.append(
        _table(
            [
                "version",
                "aliases",
                "registered (UTC)",
                "evaluation",
                *(f"gate {g}" for g in gate_names),
                "release",
                "links",
            ],
            rows,
            "no versions",
        )
    )
    parts.append(evaluation_html(models.get("evaluation"), models.get("gates") or []))
    parts.append("<h3>Alias history (newest first)</h3>")
    rows = [
        [
            _when(ev["at"]),
            _e(ev["alias"]),
            _e(ev["action"]),
            _e(ev["from_version"]),
            _e(ev["to_version"]),
            _reasons([ev["reason"]]),
            _e(ev["actor"]),
            _e(ev.get("dag_id")),
        ]
        for ev in models["history"]
    ]
    parts.append(
        _table(
            ["at (UTC)", "alias", "action", "from", "to", "reason", "actor", "DAG"],
            rows,
            "no alias changes recorded",
        )
    )
    return "".join(parts)


def evaluation_html(evaluation: dict[str, Any] | None, gates: list[dict[str, Any]]) -> str:
    if evaluation is None:
        return '<h3>Latest evaluation</h3><p class="muted">no version evaluated yet</p>'
    champion = evaluation.get("champion_version")
    parts = [
        f"<h3>Latest evaluation: v{_e(evaluation['version'])} against "
        f"{'champion v' + escape(str(champion)) if champion else 'no champion'}</h3>",
        f'<p class="muted">evaluated {_when(evaluation["evaluated_at"])}; each gate decides'
        " now, as promote_model's gate sensors would (today's policy, champion and drift"
        " status); the verdicts the sensors recorded are the gate columns above</p>",
    ]
    rows = []
    for gate in gates:
        for check in gate["checks"]:
            rows.append(
                [
                    escape(gate["gate"]),
                    _e(check["metric"]),
                    _e(check["rule"]),
                    _num(check["challenger"]),
                    _num(check["champion"]),
                    _num(check["threshold"]),
                    _verdict(check["passed"]),
                    _reasons([check["message"]]),
                ]
            )
    parts.append(
        _table(
            ["gate", "metric", "rule", "challenger", "champion", "threshold", "verdict", "why"],
            rows,
            "no gate checks",
        )
    )
    return "".join(parts)


def release_html(release: dict[str, Any]) -> str:
    if (err := _error(release)) is not None:
        return err
    share, canary, shadow = (
        release.get(k) for k in ("canary_share", "canary_version", "shadow_version")
    )
    if canary:
        now = f"Canary: v{_e(canary)} answers <b>{_e(share)} %</b> of the traffic"
    else:
        last = f" (last canary share recorded: {_e(share)} %)" if share is not None else ""
        now = f"No canary now{last}"
    if shadow:
        now += f"; shadow: v{_e(shadow)} (mirrored requests only)"
    parts = [
        f"<p>{now}</p>",
        "<h3>Release steps (canary share changes)</h3>",
    ]
    rows = []
    for step in release["steps"]:
        shown = {
            k: v
            for k, v in sorted(step["numbers"].items())
            if k != "percent" and not isinstance(v, dict | list)
        }
        rows.append(
            [
                _when(step["at"]),
                f"v{_e(step['version'])}",
                _num(None if step["percent"] is None else f"{step['percent']} %"),
                _e(step.get("mode")),
                _reasons([step["reason"]]),
                "<br>".join(f"{escape(k)}: {_e(v)}" for k, v in shown.items()) or "-",
            ]
        )
    headers = ["at (UTC)", "version", "share", "mode", "why", "numbers measured on the step"]
    parts.append(_table(headers, rows, "no release step recorded yet"))
    for rec in release["records"]:
        record = rec["record"]
        verdict = record.get("passed")
        parts.append(
            f"<h3>Stage record: {escape(rec['stage'])} of v{_e(rec['version'])} "
            f"{_verdict(verdict) if verdict is not None else ''}</h3>"
            f'<p class="muted">release/{escape(rec["stage"])}.json on the version\'s MLflow run'
            + ("; its steps are in the table above" if record.get("steps") else "")
            + "</p>"
        )
        flat = {k: v for k, v in record.items() if not isinstance(v, dict | list)}
        parts.append(
            _table(
                ["figure", "value"], ([escape(k), _num(v)] for k, v in flat.items()), "empty record"
            )
        )
        if record.get("reasons"):
            parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in record["reasons"]) + "</ul>")
    return "".join(parts)


def drift_chart(monitoring: dict[str, Any], group: str) -> str:
    """One sensor's columns: drift score per day, its thresholds, the alarm days."""
    drift = monitoring["drift"]
    columns = drift["groups"].get(group) or []

    def short(column: str) -> str:
        return column.removeprefix(group).lstrip("_") or column

    thresholds = {}
    for bound in sorted({drift["thresholds"][c] for c in columns}):
        applies = [short(c) for c in columns if drift["thresholds"][c] == bound]
        label = "threshold" if len(applies) == len(columns) else f"threshold {', '.join(applies)}"
        thresholds[label] = bound
    methods = ", ".join(sorted({drift["methods"][c] for c in columns}))
    return plots.line_chart(
        {short(c): drift["series"][c] for c in columns},
        title=f"Drift: {group}, whole fleet ({methods})",
        y_label="drift score",
        alarm_days=drift["alarm_days"],
        days=drift["days"],
        thresholds=thresholds,
        width=DRIFT_CHART[0],
        height=DRIFT_CHART[1],
    )


def drift_charts(monitoring: dict[str, Any]) -> str:
    """A chart per sensor, side by side where the page is wide enough."""
    groups = monitoring["drift"]["groups"]
    if not groups:
        return plots.empty_chart(
            "Drift score per column", "no monitored day yet (monitor_drift has not run)"
        )
    charts = "".join(f"<div>{drift_chart(monitoring, g)}</div>" for g in groups)
    return f'<div class="charts">{charts}</div>'


def live_chart(monitoring: dict[str, Any]) -> str:
    live = monitoring.get("live_performance")
    if not live:
        return plots.empty_chart("Live performance per version", "no live performance yet")
    return plots.line_chart(
        live["series"],
        title=f"Live {live['metric']} per model version (delayed labels, fleet)",
        y_label=live["metric"],
        alarm_days=live["alarm_days"],
        days=live["days"],
        empty_message="no live performance yet",
    )


def monitoring_html(monitoring: dict[str, Any]) -> str:
    if (err := _error(monitoring)) is not None:
        return err
    status = monitoring["status"]
    if not status["evaluated"]:
        state = '<span class="muted">never monitored</span>'
    elif status["in_alarm"]:
        state = f'<span class="fail">in alarm since {_e(status["since"])}</span>: ' + "; ".join(
            escape(r) for r in status["reasons"]
        )
    else:
        state = f'<span class="pass">no alarm</span> (latest day {_e(status["latest_interval"])})'
    parts = [f"<p>Drift status: {state}</p>", drift_charts(monitoring), live_chart(monitoring)]
    rows = [
        [
            _e(r["day"]),
            f"v{_e(r['model_version'])}" if r["model_version"] != "none" else "-",
            '<span class="fail">alarm</span>' if r["breached"] else '<span class="pass">ok</span>',
            _reasons(r["reasons"]),
            " · ".join(_link(p, p.rsplit("/", 1)[-1]) for p in r["reports"]),
        ]
        for r in reversed(monitoring["reports"])
    ]
    parts.append("<h3>Drift per day: verdict and Evidently reports (newest first)</h3>")
    parts.append(_table(["day", "model", "verdict", "why", "reports"], rows, "no reports yet"))
    parts.append("<h3>Live performance per day, fleet (newest first)</h3>")
    parts.append(live_table(monitoring.get("live_days") or []))
    return "".join(parts)


def live_table(days: list[dict[str, Any]]) -> str:
    """The live numbers per day, version and alias, with the alarm reasons and the report."""
    rows = [
        [
            _e(d["day"]),
            f"v{_e(d['model_version'])}",
            _e(d["alias"]),
            _num(d["rows"]),
            _num(d["positives"]),
            _num(d["roc_auc"]),
            _num(d["offline_roc_auc"]),
            _num(d["pr_auc"]),
            _num(d["recall_at_alert"]),
            _num(d["brier"]),
            '<span class="fail">alarm</span>' if d["in_alarm"] else '<span class="pass">ok</span>',
            _reasons(
                d["reasons"], d["note"] or (None if d["status"] == "computed" else d["status"])
            ),
            _link(d["report"], "report"),
        ]
        for d in sorted(days, key=lambda d: str(d["day"]), reverse=True)
    ]
    headers = ["day", "version", "alias", "labelled rows", "positives", "ROC-AUC",
               "offline ROC-AUC", "PR-AUC", "recall at alert", "Brier", "verdict", "why",
               "report"]  # fmt: skip
    return _table(headers, rows, "no live performance yet (labels arrive 24 h after a prediction)")


def data_html(data: dict[str, Any]) -> str:
    if (err := _error(data)) is not None:
        return err
    rows = [
        [
            escape(d["name"]),
            _e(d["kind"]),
            _num(d["version"]),
            _num(d["rows"]),
            _e(d["interval"]),
            _when(d["written_at"]),
        ]
        for d in data["datasets"]
    ]
    parts = [
        "<h3>Current dataset versions</h3>",
        _table(
            ["dataset", "kind", "version", "rows", "last interval", "written (UTC)"],
            rows,
            "no curated dataset yet",
        ),
    ]
    rows = [
        [
            _e(d["day"]),
            escape(d["table"]),
            _num(d["rows_read"]),
            _num(d["rows_curated"]),
            _num(d["rows_quarantined"]),
            _pct(d["quarantine_share"]),
            _num(d["version"]),
        ]
        for d in reversed(data["days"])
    ]
    parts += [
        "<h3>Rows and quarantine per landing day (newest first)</h3>",
        _table(
            [
                "day",
                "table",
                "read",
                "curated",
                "quarantined",
                "quarantined share",
                "Delta version",
            ],
            rows,
            "no ELT run recorded yet",
        ),
    ]
    return "".join(parts)


def search_html(search: dict[str, Any]) -> str:
    if (err := _error(search)) is not None:
        return err
    live = search.get("live")
    head = (
        f"<p>Live index: <b>v{_e(live)}</b> (previous: {_version(search['previous'])}, "
        f"{_e(search['reason'])})</p>"
        if live is not None
        else '<p class="muted">no index version is live yet</p>'
    )
    rows = [
        [
            f"v{_e(v['version'])}" + (" <b>live</b>" if v["live"] else ""),
            _e(v["interval"]),
            _num(v["rows"]),
            _num(v["documents"]),
            "yes" if v["kept"] else "no",
            _verdict(v["gate"]),
            _reasons(v["reasons"]),
        ]
        for v in search["versions"]
    ]
    return head + _table(
        ["version", "interval", "chunks", "documents", "kept", "gate", "why"],
        rows,
        "no index version built yet",
    )


SECTION_TITLES = {
    "models": "Models",
    "release": "Release",
    "monitoring": "Monitoring",
    "data": "Data",
    "search": "Search index",
}
RENDERERS = {
    "models": models_html,
    "release": release_html,
    "monitoring": monitoring_html,
    "data": data_html,
    "search": search_html,
}


def page(view: dict[str, Any]) -> str:
    """The whole page."""
    nav = "".join(f'<a href="#{k}">{escape(t)}</a>' for k, t in SECTION_TITLES.items())
    sections = "".join(
        f'<section id="{k}"><h2>{escape(t)}</h2>{RENDERERS[k](view[k])}</section>'
        for k, t in SECTION_TITLES.items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>ML platform: {escape(view['model_name'])}</title><style>{STYLE}</style></head>"
        f"<body><h1>ML platform: {escape(view['model_name'])}</h1>"
        f'<p class="muted">read {escape(view["read_at"])} · '
        f'<a href="api/view">this page as JSON</a></p><nav>{nav}</nav>{sections}</body></html>'
    )
