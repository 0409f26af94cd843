"""Drift report pages open with a heading naming the day, the slice and the reference window."""

from __future__ import annotations

import html
import re

from ml_tasks.monitoring.reports import report_heading, write_reports
from tests.component.monitoring.test_monitoring_pipeline import (  # the same synthetic days
    DRIFTED,
    START,
    _NoChampion,
    _run,
    offline,  # ruff: ignore[unused-import]  (fixture: 8 clean days, then the drifted one)
)

WINDOW = {
    "kind": "fixed_window",
    "id": "window:2026-10-01..2026-10-07",
    "days": [f"2026-10-0{d}" for d in range(1, 8)],
}
TRAINING_SET = {
    "kind": "champion_training_set",
    "id": "training_set:7@failure_model-v3",
    "days": [],
    "window": ["2026-09-01", "2026-09-28"],
}


class _Snapshot:
    """Evidently's snapshot surface that write_reports uses, writing a page like Evidently's."""

    def json(self) -> str:
        return "{}"

    def save_html(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(
                "<html><head><title>Evidently Report</title></head>"
                '<body class="x"><div id="root">charts</div></body></html>'
            )


def _summary(reference: dict, version: str = "none", kinds: tuple[str, ...] = ()) -> dict:
    return {
        "interval": "2026-10-09",
        "interval_end": "2026-10-10",
        "model_name": "failure_model",
        "model_version": version,
        "breached": bool(kinds),
        "kinds": list(kinds),
        "reference": reference,
        "rows": {"current": 2400, "reference": 5000},
    }


def _heading(page: str) -> str:
    block = re.search(r"<header[^>]*>(.*?)</header>", page, re.S)
    assert block, "no heading"
    return html.unescape(re.sub(r"<[^>]+>", " ", block.group(1)))


def test_each_page_names_day_slice_and_fixed_window(tmp_path):
    target = tmp_path / "failure_model-no-champion"
    snapshots = {"all": (_Snapshot(), True), "plant_id=P2": (_Snapshot(), True)}
    summary = _summary(WINDOW, kinds=("feature_drift",))
    written = write_reports(target, snapshots, summary)
    assert len(written["html"]) == 2
    fleet = (target / "all.html").read_text()
    p2 = (target / "plant_id=P2.html").read_text()
    text = _heading(p2)
    assert "2026-10-09" in text and "slice plant_id=P2" in text
    assert "fixed window 2026-10-01 .. 2026-10-07" in text
    assert "Breached: feature_drift" in text
    assert "the whole fleet" in _heading(fleet)
    # The heading comes first in the body; the page's own content is kept; the tab says it too.
    assert p2.index("<header") < p2.index('<div id="root">charts</div>')
    assert p2.index('<body class="x">') < p2.index("<header")
    assert "<title>Drift and data quality on 2026-10-09: slice plant_id=P2</title>" in p2


def test_the_champion_reference_names_its_training_window():
    title, subtitle = report_heading(_summary(TRAINING_SET, version="3"), "all")
    assert title == "Drift and data quality on 2026-10-09: the whole fleet"
    assert "model failure_model v3" in subtitle
    assert (
        "the champion's training set (training_set:7@failure_model-v3), "
        "rows from 2026-09-01 .. 2026-09-28" in subtitle
    )
    assert "No breach." in subtitle


def test_a_real_evidently_page_gets_the_heading(offline, policy):  # ruff: ignore[redefined-while-unused]
    from dataclasses import replace

    window_policy = replace(policy, reference=replace(policy.reference, start=START))
    result = _run(DRIFTED, offline, window_policy, _NoChampion())
    page = (
        (offline.reports_dir / "drift" / str(DRIFTED) / "failure_model-no-champion")
        .joinpath("plant_id=P2.html")
        .read_text()
    )
    text = _heading(page)
    assert f"{DRIFTED}" in text and "slice plant_id=P2" in text
    assert "fixed window 2026-10-01 .. 2026-10-07" in text
    assert result.breached and "Breached: feature_drift" in text


def test_the_champion_window_is_the_span_of_the_sampled_rows():
    import pandas as pd

    from ml_tasks.monitoring.pipeline import _sampled_window

    stamps = ["2026-09-03T05:00:00Z", "2026-09-01T23:00:00Z", "2026-09-20T00:00:00Z"]
    frame = pd.DataFrame({"event_timestamp": stamps})
    assert _sampled_window(frame) == ["2026-09-01", "2026-09-20"]
    assert _sampled_window(frame.iloc[:0]) == []
