"""The ML view's HTML pieces on hand-made sections: release steps, quarantine pivot, slices."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ml_platform_airflow.ui import pages

SVG = "{http://www.w3.org/2000/svg}"


def cells(html: str) -> list[list[str]]:
    """The rows of the first table, each as its cells' text (tags dropped)."""
    rows = re.findall(r"<tr>(.*?)</tr>", html)
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r)]
        for r in rows
    ]


def step(share: int, **numbers) -> dict:
    return {
        "at": f"2026-11-30T16:1{share // 50}:00+00:00",
        "version": "2",
        "percent": share,
        "mode": "live gateway traffic",
        "reason": f"canary step {share} %",
        "numbers": numbers,
    }


def test_release_steps_are_one_row_each_with_their_numbers_side_by_side():
    steps = [
        step(
            25,
            percent=25,
            started_at="2026-11-30T16:14:51.222601+00:00",
            canary_answers=239,
            champion_answers=888,
            canary_errors=0,
            error_rate=0.0,
            canary_p50_ms=0.4808,
            canary_p99_ms=1.124,
            champion_p99_ms=1.618,
            mean_abs_score_difference=0.003926,
            alert_disagreement=0.4,
            passed=True,
        ),
        step(100),  # a step without numbers yet
    ]
    html = pages.release_steps_table(steps)
    head, first, second = cells(html)
    assert head[5:] == list(pages.STEP_COLUMNS)
    assert first[5:] == [
        "239 / 888",
        "0 (0.0 %)",
        "0.481",
        "1.12 / 1.62",
        "0.003926",
        "40.0 %",
        "16:14:51",
        "passed",
    ]
    assert second[5:] == ["-"] * 7 + ["-"]
    assert "started_at" not in html and "True" not in html
    assert "other numbers" not in head


def test_offline_steps_keep_their_other_numbers_in_a_last_column():
    html = pages.release_steps_table([step(10, rows=120, scores_valid=True)])
    head, row = cells(html)
    assert head[-1] == "other numbers"
    assert row[-1] == "rows 120scores_valid True"  # one per line (<br> dropped here)


def day(table: str, day: str, share: float, over: bool | None) -> dict:
    return {
        "table": table,
        "day": day,
        "rows_read": 100,
        "rows_curated": 100 - int(100 * share),
        "rows_quarantined": int(100 * share),
        "quarantine_share": share,
        "over_limit": over,
    }


def test_quarantine_is_one_row_per_day_with_a_column_group_per_table():
    days = [
        day("telemetry", "2026-10-01", 0.02, False),
        day("telemetry", "2026-10-02", 0.12, True),
        day("work_orders_history", "2026-10-01", 0.0, False),
    ]
    by_day = {
        "tables": ["telemetry", "work_orders_history"],
        "rows": [
            {"day": "2026-10-02", "tables": {"telemetry": days[1], "work_orders_history": None}},
            {"day": "2026-10-01", "tables": {"telemetry": days[0], "work_orders_history": days[2]}},
        ],
    }
    html = pages.quarantine_table(by_day)
    groups, columns, newest, oldest = cells(html)
    assert groups == ["day", "telemetry", "work_orders_history"]
    assert columns == list(pages.QUARANTINE_COLUMNS) * 2
    assert newest == ["2026-10-02", "100", "88", "12.0 % (12)", "no run"]
    assert oldest[0] == "2026-10-01"
    assert html.count('class="num fail"') == 1  # the day over the limit
    data = {"days": days, "limits": {"telemetry": {"max_bad_share": 0.1}}}
    root = ET.fromstring(pages.quarantine_chart(data))
    assert [r.get("data-day") for r in root.findall(f".//{SVG}rect[@class='alarm']")] == [
        "2026-10-02"
    ]
    (label,) = root.findall(f".//{SVG}text[@class='threshold-label']")
    assert label.text == "contract limit of telemetry: 10"


def drift(slice_name: str, alarm_days: list[str]) -> dict:
    return {
        "slice": slice_name,
        "groups": {"pressure_bar": ["pressure_bar_mean_1h"], "rpm": ["rpm"]},
        "days": ["2026-10-01", "2026-10-02"],
        "alarm_days": alarm_days,
        "drifted_groups": ["pressure_bar"] if alarm_days else [],
        "series": {
            "pressure_bar_mean_1h": [["2026-10-01", 0.1], ["2026-10-02", 1.05]],
            "rpm": [["2026-10-01", 0.1], ["2026-10-02", 0.1]],
        },
        "thresholds": {"pressure_bar_mean_1h": 0.2, "rpm": 0.2},
        "methods": {"pressure_bar_mean_1h": "wasserstein", "rpm": "wasserstein"},
    }


def test_drift_charts_list_every_slice_and_show_where_the_alarm_comes_from():
    monitoring = {
        "drift": drift("all", ["2026-10-02"]),
        "drift_slices": [
            {"name": "all", "days": 2, "alarm_days": 1},
            {"name": "plant_id=P1", "days": 2, "alarm_days": 0},
            {"name": "plant_id=P2", "days": 2, "alarm_days": 1},
        ],
        "slice_alarms": [drift("plant_id=P2", ["2026-10-02"])],
    }
    html = pages.drift_charts(monitoring)
    assert 'href="?slice=plant_id%3DP1#monitoring"' in html
    assert 'href="?slice=plant_id%3DP2#monitoring">plant_id=P2</a> <span class="fail">⚠ 1' in html
    assert "<b>whole fleet</b>" in html  # the selected slice
    titles = re.findall(r"<svg[^>]*><title>([^<]*)</title>", html)
    assert titles == [
        "Drift: pressure_bar, whole fleet (wasserstein)",
        "Drift: rpm, whole fleet (wasserstein)",
        "Drift: pressure_bar, plant_id=P2 (wasserstein)",  # only the sensor that drifted there
    ]
