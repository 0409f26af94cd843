"""The ``features`` CLI: clear results for bad input, never a traceback."""

from __future__ import annotations

import json

from ml_tasks.cli import main


def test_materialize_then_get_one_known_and_one_unknown_machine(features_home, capsys):
    assert main(["features", "materialize", "--start", "2026-10-01", "--end", "2026-10-02"]) == 0
    assert "materialized" in capsys.readouterr().out

    assert main(["features", "get", "--machine-id", "M-0001"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("M-0001:") and "plant_id" in out

    assert main(["features", "get", "--machine-id", "M-0001", "--machine-id", "M-9999"]) == 1
    out = capsys.readouterr().out
    assert "M-9999: not found in the online store" in out and "Traceback" not in out

    assert main(["features", "get", "--machine-id", "M-9999", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {"M-9999": {"found": False, "features": None}}


def test_get_before_anything_was_materialized_explains(features_home, capsys):
    from ml_tasks.features import online

    online._reader.cache_clear()
    assert main(["features", "get", "--machine-id", "M-0001"]) == 2
    assert "materialize features first" in capsys.readouterr().err


def test_materialize_a_day_without_curated_input_names_the_partition(features_home, capsys):
    assert main(["features", "materialize", "--start", "2026-10-06"]) == 1
    err = capsys.readouterr().err
    assert "telemetry partition event_date=2026-10-05" in err  # the first missing day needed
    assert "Traceback" not in err


def test_training_set_command(features_home, capsys):
    assert main(["features", "materialize", "--start", "2026-10-01", "--end", "2026-10-04"]) == 0
    capsys.readouterr()
    assert main(["features", "training-set", "--start", "2026-10-01", "--end", "2026-10-02"]) == 0
    assert "training_set v1:" in capsys.readouterr().out
