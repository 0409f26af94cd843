"""No personal data in the quarantine: redacted raw lines, and old lakes cleaned with history."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_platform_demo.generate import TECHNICIANS, generate
from ml_tasks.elt import lake
from ml_tasks.elt.pipeline import curate_maintenance, load_machines, run_elt
from ml_tasks.elt.pseudonymise import load_key, pseudonym
from tests.helpers import read_sorted, write_landing, write_machines

D1, D2 = date(2026, 10, 1), date(2026, 10, 2)
NAMES = [n.encode() for n in TECHNICIANS]


def _files_with_names(root: Path) -> list[str]:
    """Every file under ``root`` holding a technician name: in its bytes, or decoded (parquet
    pages are compressed, so a name need not appear byte for byte)."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            data += json.dumps(table.to_pylist(), default=str).encode()
        if any(name in data for name in NAMES):
            found.append(str(path.relative_to(root)))
    return found


def test_redact_line_keeps_json_and_uses_the_curated_token():
    from ml_tasks.elt.pseudonymise import redact_line

    key = b"k"
    line, note = redact_line('{"lsn": 1, "technician": "Anna Schmidt"}', ["technician"], key)
    assert json.loads(line) == {"lsn": 1, "technician": pseudonym("Anna Schmidt", key)}
    assert note is None
    # Not JSON: the quoted value is replaced in place, escapes included.
    cut, _ = redact_line(
        '{"lsn": 2, "technician": "Anna \\"A\\" Schmidt", "op', ["technician"], key
    )
    token = pseudonym('Anna "A" Schmidt', key)
    assert cut == '{"lsn": 2, "technician": "' + token + '", "op'
    # A key spelled differently is an unknown column, but still a name.
    odd, _ = redact_line('{"Technician": "Anna Schmidt"}', ["technician"], key)
    assert "Anna" not in odd
    # A value no pattern can isolate: the whole line goes, and the note says so.
    gone, note = redact_line('{"technician": Anna Schmidt}', ["technician"], key)
    assert "Anna" not in gone and gone.startswith("<redacted") and "redacted whole" in note
    assert redact_line('{"lsn": 3}', ["technician"], key) == ('{"lsn": 3}', None)


def test_malformed_work_order_lines_are_quarantined_without_names(platform_home):
    write_machines(platform_home.landing_dir)
    load_machines(D1, settings=platform_home)
    write_landing(
        platform_home.landing_dir,
        "work_orders",
        D1,
        [
            '{"lsn": 5, "op": "insert", "technician": "Anna Schmidt", "status": ',
            '{"lsn": 6, "op": "insert", "technician": Lukas Weber}',
            '{"lsn": 7, "op": "launch", "technician": "Maria Rossi"}',
        ],
    )
    curate_maintenance(D1, settings=platform_home)
    quarantine = read_sorted(platform_home, "quarantine_work_orders", "line_no")
    assert len(quarantine) == 3
    assert not any(n in line for n in TECHNICIANS for line in quarantine["raw_line"])
    key = load_key(platform_home.secrets_dir)
    assert pseudonym("Anna Schmidt", key) in quarantine["raw_line"].iloc[0]
    assert "redacted whole" in quarantine["details"].iloc[1]
    assert json.loads(quarantine["raw_line"].iloc[2])["technician"] == pseudonym("Maria Rossi", key)
    assert not _files_with_names(Path(platform_home.lake_uri))


def test_generated_days_and_a_rerun_leave_no_name_anywhere_in_the_lake(platform_home):
    generate(D1, 2, 20, seed=3, bad_rate=0.08, interval_minutes=15)
    for day in (D1, D2, D1):
        run_elt(day, settings=platform_home)
    # The check means something only if a quarantined work order carried a name on landing.
    quarantine = read_sorted(platform_home, "quarantine_work_orders", "line_no")
    landed = {
        (row.ingest_date, row.source_file, row.line_no): row for row in quarantine.itertuples()
    }
    raw_with_names = [
        k for k in landed if any(n in _landing_line(platform_home, k) for n in TECHNICIANS)
    ]
    assert raw_with_names, "the generated quarantine should include a line with a name"
    assert not _files_with_names(Path(platform_home.lake_uri))


def _landing_line(settings, located: tuple) -> str:
    day, source_file, line_no = located
    path = Path(settings.landing_dir) / "work_orders" / f"date={day}" / source_file
    return path.read_text().splitlines()[line_no - 1]


def _old_style_quarantine(settings) -> str:
    """A quarantine written as older versions did: raw names, over two Delta versions."""
    uri = settings.table_uri("quarantine_work_orders")
    for name in ("Anna Schmidt", "Lukas Weber"):
        row = {
            "source_file": "cdc.jsonl",
            "line_no": 3,
            "raw_line": json.dumps({"lsn": 9, "op": "upsert", "technician": name}),
            "reason": "not_allowed:op",
            "details": "not_allowed:op",
            "ingest_date": D1,
        }
        table = pa.Table.from_pylist(
            [row],
            schema=pa.schema(
                [
                    ("source_file", pa.string()),
                    ("line_no", pa.int64()),
                    ("raw_line", pa.large_string()),
                    ("reason", pa.string()),
                    ("details", pa.string()),
                    ("ingest_date", pa.date32()),
                ]
            ),
        )
        lake.replace_where(
            uri, table, "ingest_date = '2026-10-01'", settings, partition_by=["ingest_date"]
        )
    return uri


def test_redact_command_cleans_an_old_lake_and_its_history(platform_home, capsys):
    from ml_tasks.cli import main

    uri = _old_style_quarantine(platform_home)
    lake_dir = Path(platform_home.lake_uri)
    assert _files_with_names(lake_dir)  # the old lake holds names, in two versions
    assert main(["redact-quarantine"]) == 0
    assert "1 raw lines redacted" in capsys.readouterr().out
    assert _files_with_names(lake_dir) == []
    after = lake.read_table(uri, platform_home).to_pylist()
    key = load_key(platform_home.secrets_dir)
    assert json.loads(after[0]["raw_line"])["technician"] == pseudonym("Lukas Weber", key)
    assert after[0]["reason"] == "not_allowed:op"
    # The table still works as a Delta table: the ELT can write its next day.
    assert main(["redact-quarantine"]) == 0  # idempotent
    assert lake.read_table(uri, platform_home).num_rows == 1


@pytest.mark.parametrize("name", TECHNICIANS[:3])
def test_every_token_is_the_curated_one(name):
    from ml_tasks.elt.pseudonymise import redact_line

    key = b"key"
    line, _ = redact_line(json.dumps({"technician": name}), ["technician"], key)
    assert json.loads(line)["technician"] == pseudonym(name, key)
