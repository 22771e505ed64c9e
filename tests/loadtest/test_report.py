"""The report from a small recorded run (tests/loadtest/data/run: a --quick run against a
devstack, trimmed): summary.json keys and values, the markdown tables, the PNGs, and the
cross-stage README from stage summaries."""
import json
import shutil

import pytest

from loadtest import compare, report

DATA = __import__("pathlib").Path(__file__).with_name("data")


@pytest.fixture
def run_dir(tmp_path):
    d = tmp_path / "1-20261126T000000Z"
    shutil.copytree(DATA / "run", d)
    return d


def test_summary_has_every_required_key(run_dir, tmp_path):
    summary = report.build(run_dir, bench_dir=tmp_path / "no-bench", plots=False)
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk == summary
    for key in ("stage", "p95_ms_at_50", "p95_ms_at_200", "error_rate_at_50",
                "error_rate_at_200", "breaking_point_users", "breaking_point_cause",
                "listing_rps_no_think_200", "bench_ratio_uncached", "bench_ratio_cached",
                "large_catalogue_ratio"):
        assert key in summary
    steps = report.read_jsonl(run_dir / "steps.jsonl")
    ramp50 = next(s for s in steps if s["phase"] == "ramp" and s["users"] == 50)
    assert summary["p95_ms_at_50"] == ramp50["p95_ms"]
    listing = sorted(s["rps"] for s in steps if s.get("route") == "listing")
    assert summary["listing_rps_no_think_200"] == listing[len(listing) // 2]
    assert summary["bench_ratio_uncached"] is None      # no bench ran: said, not invented


def test_breaking_point_is_the_first_broken_search_step(run_dir, tmp_path):
    steps = report.read_jsonl(run_dir / "steps.jsonl")
    # make the second search step break on errors, as if it had
    search = [i for i, s in enumerate(steps) if s["phase"] == "search"]
    steps[search[1]].update(failures=50, requests=1000, error_rate=0.05,
                            errors={"list: HTTP 503": 50})
    (run_dir / "steps.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps))
    summary = report.build(run_dir, bench_dir=tmp_path, plots=False)
    assert summary["breaking_point_users"] == steps[search[1]]["users"]
    assert summary["breaking_point_cause"] == "pool"          # 503s: the pool refused
    assert "error rate 5.0%" in summary["breaking_point_evidence"]


def test_markdown_tables_and_plots(run_dir, tmp_path):
    bench = tmp_path / "results" / "bench-20261126T000000Z"
    bench.mkdir(parents=True)
    (bench / "bench.json").write_text(json.dumps(
        {"bench_ratio_uncached": 0.61, "bench_ratio_cached": 0.9, "large_catalogue_ratio": 0.85}))
    summary = report.build(run_dir, bench_dir=tmp_path / "results")
    assert summary["bench_ratio_cached"] == 0.9 and summary["bench_source"] == bench.name
    md = (run_dir / "summary.md").read_text()
    assert "| p95 at 200 users (ms) |" in md and "792" in md      # the reference's p95 at 200
    assert "## Stage-1 ramp" in md and "## No think time (wrk)" in md
    for png in ("latency_throughput.png", "pool_cpu.png"):
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({png})" in md
    rows = (run_dir / "steps.csv").read_text().splitlines()
    assert rows[0].startswith("phase,step,route") and len(rows) == 1 + len(
        report.read_jsonl(run_dir / "steps.jsonl"))


def test_cross_stage_readme_says_not_run_for_missing_stages(run_dir, tmp_path):
    report.build(run_dir, bench_dir=tmp_path, plots=False)
    summaries = compare.latest_summaries(run_dir.parent)
    assert list(summaries) == [1]
    text = compare.render(summaries, {}, "cost model unavailable: test")
    perf = text.split("## Performance under load")[1].split("## Operational")[0]
    row1 = next(l for l in perf.splitlines() if l.startswith("| 1 |"))
    row2 = next(l for l in perf.splitlines() if l.startswith("| 2 |"))
    assert "not run" not in row1 and run_dir.name in row1
    assert row2.count("not run") == 4
    assert "cost model unavailable" in text


def test_config_lines_count_only_real_lines(tmp_path):
    (tmp_path / "ansible" / "inventories" / "lab-stage1").mkdir(parents=True)
    (tmp_path / "ansible" / "site.yml").write_text("# comment\n---\n- hosts: all\n\n  roles: []\n")
    (tmp_path / "ansible" / "inventories" / "lab-stage1" / "hosts").write_text("[app]\nhost1\n")
    assert compare.config_lines(1, tmp_path) == 3 + 2
    assert compare.config_lines(3, tmp_path) is None


def test_targets_met_says_yes_no_or_not_measured():
    good = {"p95_ms_at_50": 12, "p95_ms_at_200": 30, "error_rate_at_50": 0.0,
            "error_rate_at_200": 0.0, "breaking_point_users": None,
            "listing_rps_no_think_200": 2500, "bench_ratio_uncached": 0.49,
            "bench_ratio_cached": None, "large_catalogue_ratio": 0.9}
    met = report.targets_met(good, held_users=1250)
    assert met["p95_ms_at_50"] is True and met["p95_ms_at_200"] is False
    assert met["errors"] is True and met["breaking_point_users"] is True
    assert met["bench_ratio_uncached"] is False and met["bench_ratio_cached"] is None
    # never broke, but the search stopped below the target: not shown as met
    assert report.targets_met(good, held_users=500)["breaking_point_users"] is None
    assert report.targets_met({**good, "breaking_point_users": 700}, 500)[
        "breaking_point_users"] is False


def test_old_bench_large_catalogue_was_cached_new_bench_has_both(run_dir, tmp_path):
    # a bench from before the caches-off catalogue run measured 100k vs 50 with the cache on
    old = report.large_catalogue({"large_catalogue_ratio": 0.99})
    assert old == {"large_catalogue_ratio": None, "large_catalogue_ratio_cached": 0.99}
    new = report.large_catalogue({"large_catalogue_ratio": 0.4, "large_catalogue_caches": "off",
                                  "large_catalogue_ratio_cached": 0.98})
    assert new == {"large_catalogue_ratio": 0.4, "large_catalogue_ratio_cached": 0.98}
    bench = tmp_path / "results" / "bench-20261126T000000Z"
    bench.mkdir(parents=True)
    (bench / "bench.json").write_text(json.dumps(
        {"bench_ratio_uncached": 0.43, "bench_ratio_cached": 1.01, "large_catalogue_ratio": 0.99}))
    summary = report.build(run_dir, bench_dir=tmp_path / "results", plots=False)
    assert summary["large_catalogue_ratio"] is None
    assert summary["targets_met"]["large_catalogue_ratio"] is None     # not shown as met
    md = (run_dir / "summary.md").read_text()
    row = next(l for l in md.splitlines() if l.startswith("| 100k / 50-product listing, caches off"))
    assert "to be re-measured with caches off (make bench)" in row
    cached = next(l for l in md.splitlines() if l.startswith("| 100k / 50-product listing, caches on"))
    assert "0.99" in cached and cached.endswith("|  |")                  # no target, no "met"


def test_performance_ceiling_figures_are_not_in_the_reference_column(run_dir, tmp_path):
    report.build(run_dir, bench_dir=tmp_path, plots=False)
    md = (run_dir / "summary.md").read_text()
    for label, figure in (("bench ratio, listing caches off", "0.29-0.35"),
                          ("bench ratio, listing caches on", "0.87-0.92"),
                          ("100k / 50-product listing, caches off", "~0.15")):
        row = next(l for l in md.splitlines() if l.startswith(f"| {label} |"))
        reference_column = row.split(" | ")[2]
        assert figure in reference_column
        assert "not measured by the reference" in reference_column
        assert "performance-ceiling.md" in reference_column


def test_cost_per_request_uses_cost_figures_only(run_dir, tmp_path):
    report.build(run_dir, bench_dir=tmp_path, plots=False)
    summaries = compare.latest_summaries(run_dir.parent)
    assert summaries[1]["listing_rps_no_think_200"]        # a lab throughput is available...
    costs = {1: {"stage": "stage1", "monthly": 20.43, "per_request": 0.0000409,
                 "reference_modelled": 22.04}}
    text = compare.render(summaries, costs, None)
    section = text.split("## Cost per request")[1]
    # ...but no figure divides the AWS cost by it
    assert "capacity" not in text and "$0.000000" not in section
    assert "No figure here divides AWS prices by the lab's throughput" in section
    header, _, row1 = [l for l in section.splitlines() if l.startswith("|")][:3]
    assert header.count("|") == 4                           # stage, reference, cost model
    assert row1 == "| 1 | $0.000024 | $0.000041 |"
