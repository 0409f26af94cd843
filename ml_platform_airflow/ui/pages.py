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
from urllib.parse import quote

from ml_platform_airflow.ui import plots
from ml_tasks.observability.ml_view import FLEET

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
.slices .slice { white-space: nowrap; }
th.group { text-align: center; }
.steps td { white-space: nowrap; }
.steps td.reason { white-space: normal; min-width: 180px; }
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


def _clock(value: Any) -> str:
    """An ISO timestamp's time of day, ``HH:MM:SS`` (UTC), escaped."""
    text = str(value or "")
    return escape(text[11:19]) if len(text) >= 19 else _e(value)  # a date alone: as it is


def _record_value(key: str, value: Any) -> str:
    """A stage record's figure: times as ``YYYY-MM-DD HH:MM:SS``, verdicts as words."""
    if isinstance(value, bool):
        return f"<td>{_verdict(value)}</td>"
    if key.endswith("_at") and isinstance(value, str):
        return _num(f"{value[:10]} {value[11:19]}")
    return _num(value)


# The numbers a live canary step records (ml_tasks.release.live_walk), as the table shows them.
STEP_COLUMNS = (
    "answers canary / champion",
    "errors (rate)",
    "p50 ms canary",
    "p99 ms canary / champion",
    "mean |score diff|",
    "alert disagreement",
    "started (UTC)",
    "verdict",
)
STEP_KEYS = {
    "percent", "started_at", "canary_answers", "champion_answers", "canary_errors",
    "error_rate", "canary_p50_ms", "canary_p99_ms", "champion_p99_ms", "paired_answers",
    "mean_abs_score_difference", "alert_disagreement", "passed",
}  # fmt: skip


def _ms(value: Any) -> Any:
    """A latency in milliseconds to three significant digits (more is noise)."""
    return f"{value:.3g}" if isinstance(value, float) else value


def _pair(a: Any, b: Any) -> str:
    if a is None and b is None:
        return _num(None)
    return f'<td class="num">{_e(a)} / {_e(b)}</td>'


def _step_cells(n: dict[str, Any]) -> list[str]:
    """One step's numbers in :data:`STEP_COLUMNS` order (a dash where the step has none)."""
    errors = n.get("canary_errors")
    rate = n.get("error_rate")
    shown_errors = (
        None if errors is None and rate is None else f"{errors} ({100 * float(rate or 0):.1f} %)"
    )
    disagreement = n.get("alert_disagreement")
    return [
        _pair(n.get("canary_answers"), n.get("champion_answers")),
        _num(shown_errors),
        _num(_ms(n.get("canary_p50_ms"))),
        _pair(_ms(n.get("canary_p99_ms")), _ms(n.get("champion_p99_ms"))),
        _num(n.get("mean_abs_score_difference")),
        _pct(disagreement),
        f'<td class="num">{_clock(n.get("started_at"))}</td>',
        _verdict(n.get("passed")),
    ]


def release_steps_table(steps: list[dict[str, Any]]) -> str:
    """One row per canary step: its share, then the numbers measured on it, side by side.

    Numbers outside :data:`STEP_COLUMNS` (an offline replay's ROC-AUC on the routed rows) go
    to a last column, present only when a step has some.
    """
    others = [
        {
            k: v
            for k, v in sorted(step["numbers"].items())
            if k not in STEP_KEYS and not isinstance(v, dict | list)
        }
        for step in steps
    ]
    rows = []
    for step, other in zip(steps, others, strict=True):
        row = [
            _when(step["at"]),
            f"v{_e(step['version'])}",
            _num(None if step["percent"] is None else f"{step['percent']} %"),
            _e(step.get("mode")),
            _reasons([step["reason"]]),
            *_step_cells(step["numbers"]),
        ]
        if any(others):
            row.append("<br>".join(f"{escape(k)} {_e(v)}" for k, v in other.items()) or "-")
        rows.append(row)
    headers = ["at (UTC)", "version", "share", "mode", "why", *STEP_COLUMNS]
    if any(others):
        headers.append("other numbers")
    return f'<div class="steps">{_table(headers, rows, "no release step recorded yet")}</div>'


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
    parts.append(release_steps_table(release["steps"]))
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
                ["figure", "value"],
                ([escape(k), _record_value(k, v)] for k, v in flat.items()),
                "empty record",
            )
        )
        if record.get("reasons"):
            parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in record["reasons"]) + "</ul>")
    return "".join(parts)


def slice_title(name: str) -> str:
    """How a drift slice is named on the page (``all`` is the whole fleet)."""
    return "whole fleet" if name == FLEET else name


def drift_chart(drift: dict[str, Any], group: str, width: int = DRIFT_CHART[0]) -> str:
    """One sensor's columns in one slice (``ml_view.drift_series``): drift score per day, its
    thresholds, the slice's alarm days."""
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
        title=f"Drift: {group}, {slice_title(drift['slice'])} ({methods})",
        y_label="drift score",
        alarm_days=drift["alarm_days"],
        days=drift["days"],
        thresholds=thresholds,
        width=width,
        height=DRIFT_CHART[1],
    )


def slice_href(name: str) -> str:
    """The page showing ``name``'s drift charts (relative: works under any mount prefix)."""
    return f"?slice={quote(name, safe='')}#monitoring"


def slice_selector(slices: list[dict[str, Any]], selected: str) -> str:
    """Every slice of the drift table as a link, the selected one in bold, alarms marked."""
    links = []
    for sl in slices:
        name = slice_title(sl["name"])
        shown = (
            f"<b>{escape(name)}</b>"
            if sl["name"] == selected
            else _link(slice_href(sl["name"]), name)
        )
        if sl["alarm_days"]:
            days = "day" if sl["alarm_days"] == 1 else "days"
            shown += f' <span class="fail">⚠ {sl["alarm_days"]} alarm {days}</span>'
        links.append(f'<span class="slice">{shown}</span>')
    return f'<p class="slices">Drift of: {" · ".join(links)}</p>'


def drift_charts(monitoring: dict[str, Any]) -> str:
    """The slice selector, a chart per sensor of the selected slice, then, for every other
    slice with an alarm, the charts of the sensors that drifted there (the fleet's scores can
    stay low while one plant's drift raises the alarm)."""
    drift = monitoring["drift"]
    if not drift["groups"]:
        return plots.empty_chart(
            "Drift score per column", "no monitored day yet (monitor_drift has not run)"
        )
    parts = [slice_selector(monitoring.get("drift_slices") or [], drift["slice"])]
    charts = "".join(f"<div>{drift_chart(drift, g)}</div>" for g in drift["groups"])
    parts.append(f'<div class="charts">{charts}</div>')
    for other in monitoring.get("slice_alarms") or []:
        groups = [g for g in other["drifted_groups"] if g in other["groups"]] or list(
            other["groups"]
        )
        name = slice_title(other["slice"])
        parts.append(
            f"<h3>Drift in {escape(name)}: {len(other['alarm_days'])} alarm days; the sensors"
            f" that drifted there ({_link(slice_href(other['slice']), 'all its sensors')})</h3>"
        )
        charts = "".join(f"<div>{drift_chart(other, g)}</div>" for g in groups)
        parts.append(f'<div class="charts">{charts}</div>')
    return "".join(parts)


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


def _covers(d: dict[str, Any]) -> str:
    """The days a dataset's last write covered, and its day partitions where it has them."""
    first, last = d.get("first_day"), d.get("last_day")
    if not first:
        return "-"
    text = escape(first) if first == last else f"{escape(first)} .. {escape(str(last))}"
    if d.get("partitions"):
        text += f' <span class="muted">({d["partitions"]} day partitions)</span>'
    return text


def datasets_table(datasets: list[dict[str, Any]]) -> str:
    """The current version of each dataset and what its last recorded write covered."""
    rows = [
        [
            escape(d["name"]),
            _e(d["kind"]),
            _num(d["version"]),
            _num(d["rows"]) if d["rows"] is not None else '<td class="muted">not counted</td>',
            _covers(d),
            _num(d["rows_written"]),
            _when(d["written_at"]),
        ]
        for d in datasets
    ]
    headers = ["dataset", "kind", "version", "rows in the store now",
               "last write covered (data interval, UTC days)", "rows written by it",
               "last write at (UTC)"]  # fmt: skip
    return _table(headers, rows, "no curated dataset yet") + (
        '<p class="muted">A feature view\'s last write is its last materialization (the'
        " partitions it replaced); a training set's, its window; a Delta table's, its last"
        " landing day. Feature views are not counted whole (that reads every partition).</p>"
        if rows
        else ""
    )


QUARANTINE_COLUMNS = ("read", "curated", "quarantined")


def quarantine_table(by_day: dict[str, Any]) -> str:
    """One row per landing day (newest first), a column group per table; a day over its
    contract's limit in red."""
    tables = by_day["tables"]
    if not by_day["rows"]:
        return '<p class="muted">no ELT run recorded yet</p>'
    head = '<tr><th rowspan="2">day</th>' + "".join(
        f'<th class="group" colspan="{len(QUARANTINE_COLUMNS)}">{escape(t)}</th>' for t in tables
    )
    sub = "<tr>" + "".join(f"<th>{h}</th>" for _ in tables for h in QUARANTINE_COLUMNS) + "</tr>"
    body = []
    for row in by_day["rows"]:
        cells = [f"<td>{_e(row['day'])}</td>"]
        for table in tables:
            d = row["tables"][table]
            if d is None:
                cells.append(f'<td class="muted" colspan="{len(QUARANTINE_COLUMNS)}">no run</td>')
                continue
            share = f"{100 * d['quarantine_share']:.1f} % ({d['rows_quarantined']})"
            over = ' fail" title="over the contract\'s max_bad_share' if d["over_limit"] else ""
            cells += [
                _num(d["rows_read"]),
                _num(d["rows_curated"]),
                f'<td class="num{over}">{escape(share)}</td>',
            ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}</tr>{sub}{''.join(body)}</table>"


def quarantine_chart(data: dict[str, Any]) -> str:
    """The quarantined share per landing day per table, each contract's limit dashed, the days
    a table went over its limit marked."""
    days = data["days"]
    series: dict[str, list[list[Any]]] = {}
    for d in days:
        series.setdefault(d["table"], []).append([d["day"], 100 * d["quarantine_share"]])
    by_limit: dict[float, list[str]] = {}
    for table in series:
        limit = (data.get("limits") or {}).get(table)
        if limit is not None:
            by_limit.setdefault(100 * limit["max_bad_share"], []).append(table)
    thresholds = {f"contract limit of {' and '.join(t)}:": v for v, t in sorted(by_limit.items())}
    return plots.line_chart(
        series,
        title="Quarantined share of the rows read, per landing day",
        y_label="quarantined %",
        alarm_days=sorted({d["day"] for d in days if d.get("over_limit")}),
        thresholds=thresholds,
        empty_message="no ELT run recorded yet",
    )


def data_html(data: dict[str, Any]) -> str:
    if (err := _error(data)) is not None:
        return err
    return "".join(
        [
            "<h3>Current dataset versions</h3>",
            datasets_table(data["datasets"]),
            "<h3>Rows and quarantine per landing day (newest first)</h3>",
            quarantine_chart(data),
            quarantine_table(data["by_day"]),
        ]
    )


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
