"""StepLoadShape: settle, reset, measure, record, stop at the first broken step (driven with a
fake clock in a subprocess, see shape_driver.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_steps_are_measured_after_settling_and_the_run_stops_at_the_broken_step(tmp_path):
    log = tmp_path / "steps.jsonl"
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("shape_driver.py")),
                          str(log)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    ticks = json.loads(out.stdout.strip().splitlines()[-1])["ticks"]
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    assert [s["users"] for s in steps] == [10, 20]          # 30 is never reached
    first, second = steps
    # settled 2 s, then measured 10 s: only the measured ticks' requests count
    assert first["requests"] == 10 * 10 and first["broke"] is None
    assert first["p95_ms"] == 20 and first["error_rate"] == 0
    # 20 users with an error every other second: 5 errors in 200 requests -> 2.5% > 1%
    assert second["broke"].startswith("error rate")
    assert second["errors"] and second["phase"] == "search"
    assert ticks[-1] is None and ticks[0] == [10, 10]
    assert "search] step 2/3: 20 users" in out.stdout
