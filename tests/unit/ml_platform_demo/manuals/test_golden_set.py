"""The golden query set: its format, its coverage, and that its answers exist on every day."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_platform_demo.generate import FAILURE_CODES, MODEL_BASELINES
from ml_platform_demo.manuals import CORE_SECTIONS, core_doc_ids, snapshots
from ml_platform_demo.manuals.facts import GENERAL_KINDS

GOLDEN = Path(__file__).resolve().parents[4] / "include" / "search" / "golden_queries.yaml"
START = date(2026, 10, 1)


@pytest.fixture(scope="module")
def queries() -> list[dict[str, Any]]:
    return yaml.safe_load(GOLDEN.read_text())["queries"]


def _sections(data: bytes) -> set[str]:
    return set(re.findall(r"^## (.+)$", data.decode("utf-8"), re.MULTILINE))


def test_format(queries: list[dict[str, Any]]) -> None:
    assert len(queries) >= 60
    assert [q["id"] for q in queries] == [f"q{i:03d}" for i in range(1, len(queries) + 1)]
    assert all(set(q) == {"id", "query", "doc_id", "section", "kind"} for q in queries)
    assert {q["kind"] for q in queries} == {"direct", "paraphrase"}
    assert sum(q["kind"] == "paraphrase" for q in queries) >= 25
    assert len({q["query"].lower() for q in queries}) == len(queries)


def test_queries_are_not_headings_and_carry_no_numbers(queries: list[dict[str, Any]]) -> None:
    for q in queries:
        # Numbers change with the seed and the daily edits: the set must not rely on them.
        assert not re.search(r"\d", q["query"]), q["id"]
        assert q["query"].lower() != q["section"].lower()
        assert len(q["query"].split()) >= 4, q["id"]


def test_coverage(queries: list[dict[str, Any]]) -> None:
    core = set(core_doc_ids())
    general = {f"{m.lower()}-{kind}" for m in MODEL_BASELINES for kind in GENERAL_KINDS}
    assert {q["doc_id"] for q in queries} <= core | general  # no bulletins, no extra models
    targeted = [q["doc_id"] for q in queries]
    models = Counter(d.rsplit("-", 1)[0] for d in targeted if d in core)
    assert set(models) == {m.lower() for m in MODEL_BASELINES}
    codes = {d.rsplit("-", 1)[1].upper() for d in targeted if d in core}
    assert codes == set(FAILURE_CODES)
    assert core <= set(targeted)  # every troubleshooting manual is asked about
    assert {q["section"] for q in queries if q["doc_id"] in core} == set(CORE_SECTIONS)
    assert {m.lower() for m in MODEL_BASELINES} == {
        d.split("-")[0] + "-" + d.split("-")[1] for d in targeted if d in general
    }


@pytest.mark.parametrize("seed", [7, 11])
def test_every_answer_exists_on_every_day(queries: list[dict[str, Any]], seed: int) -> None:
    for snapshot in snapshots(START, START + timedelta(days=30), seed=seed):
        files = snapshot.files()
        for q in queries:
            assert q["doc_id"] not in snapshot.corrupt
            assert q["section"] in _sections(files[q["doc_id"]]), (snapshot.day, q["id"])
