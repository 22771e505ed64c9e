"""The cost model: the reference's quoted figures where its inputs add up, the places where
they do not, and costs that follow the same stack config the programs read."""
import re
import subprocess
import sys

import pytest

from stack_harness import ROOT
from shoplab_infra import cost_model as cm
from shoplab_infra.knobs import Knobs, from_stack_file

QUOTED = {"stage1": 12.0, "stage2": 85.0, "stage3": 60.0, "stage4": 110.0}
# seed-system.md section 7 (README.md.backup): cost per request at 500,000 requests/month
QUOTED_PER_REQUEST = {"stage1": 0.000024, "stage2": 0.000170, "stage3": 0.000120,
                      "stage4": 0.000220}


def _reference(stage, **extra):
    ref = cm.REFERENCE[stage]
    return cm.monthly_cost(stage, Knobs({**ref["knobs"], **extra}.get),
                           include_shared_data=ref["shared_data"])


def test_reference_cost_per_request_is_its_monthly_quote_over_500k():
    for stage, quoted in QUOTED.items():
        assert cm.REFERENCE[stage]["quoted"] == quoted
        assert cm.cost_per_request(quoted, 500_000) == pytest.approx(QUOTED_PER_REQUEST[stage],
                                                                     abs=5e-10)


def test_stage2_quote_adds_up_within_ten_percent():
    modelled = _reference("stage2")
    assert modelled == pytest.approx(93.78, abs=0.01)
    assert abs(modelled - 85) / 85 < 0.11
    ipv4 = 4 * cm.PUBLIC_IPV4_HOURLY * cm.HOURS_PER_MONTH
    assert abs(modelled - ipv4 - 85) / 85 < 0.08


def test_stage3_quote_adds_up_only_without_the_reused_data_tier():
    assert _reference("stage3") == pytest.approx(67.59, abs=0.01)
    assert abs(_reference("stage3") - 60) / 60 < 0.13
    with_data = cm.monthly_cost("stage3", cm.reference_knobs("stage3"))
    assert with_data == pytest.approx(67.59 + 27.85, abs=0.01)


def test_stage1_quote_does_not_add_up_for_a_t2_small():
    compute = cm.EC2_HOURLY["t2.small"] * cm.HOURS_PER_MONTH
    assert compute == pytest.approx(16.79, abs=0.01) and compute > 12
    assert _reference("stage1") == pytest.approx(22.04, abs=0.01)
    assert _reference("stage1", instanceType="t2.micro") == pytest.approx(13.72, abs=0.01)


def test_stage4_quote_needs_a_multi_az_database():
    assert _reference("stage4") == pytest.approx(94.64, abs=0.01)
    assert _reference("stage4", dbMultiAz=True) == pytest.approx(110.0, abs=0.1)


def test_costs_follow_the_stack_config():
    small = cm.monthly_cost("stage2", from_stack_file("stage2"))
    large = cm.monthly_cost("stage2", Knobs({"instanceType": "t3.large"}.get))
    assert large - small == pytest.approx(
        2 * (cm.EC2_HOURLY["t3.large"] - cm.EC2_HOURLY["t3.small"]) * cm.HOURS_PER_MONTH,
        abs=0.02)
    fargate = cm.monthly_cost("stage3", Knobs({"taskCount": 4}.get)) - \
        cm.monthly_cost("stage3", Knobs({"taskCount": 2}.get))
    assert fargate == pytest.approx(2 * (36.04 / 2 + 3.65), abs=0.02)


def test_model_reads_what_the_program_builds(stacks):
    lines = [line.item for line in cm.stage_lines("stage2", from_stack_file("stage2"))]
    hosts = stacks["stage2"].mocks.of_type("aws:ec2/instance:Instance")
    assert f"{len(hosts)} x EC2 {hosts[0].inputs['instanceType']}" in lines
    [db] = stacks["stage2"].mocks.of_type("aws:rds/instance:Instance")
    assert f"RDS {db.inputs['instanceClass']}" in lines


def test_stage1_counts_its_data_volume_as_the_program_builds_it(stacks):
    ours = cm.stage_lines("stage1", from_stack_file("stage1"))
    [volume] = stacks["stage1"].mocks.of_type("aws:ebs/volume:Volume")
    size = int(volume.inputs["size"])
    assert [line.monthly for line in ours if line.item == f"{size} GB gp3 data volume"] == \
        [pytest.approx(size * cm.EBS_GP3_GB_MONTH)]
    larger = cm.monthly_cost("stage1", Knobs({"dataVolumeGb": 50}.get))
    assert larger - cm.monthly_cost("stage1", Knobs({"dataVolumeGb": 20}.get)) == \
        pytest.approx(30 * cm.EBS_GP3_GB_MONTH, abs=0.01)
    # t3.small + 20 GB root + 20 GB data volume + one public IPv4
    assert cm.monthly_cost("stage1", from_stack_file("stage1")) == pytest.approx(22.03, abs=0.005)


def test_readme_cost_table_is_the_models():
    readme = (ROOT / "pulumi" / "README.md").read_text()
    rows = dict(re.findall(r"^\| ([1-4]) \| (\$[\d.]+ \(\$[\d.]+/req\)) \|", readme, re.M))
    assert rows == {row["stage"][-1]: f"${row['monthly']:.2f} (${row['per_request']:.6f}/req)"
                    for row in cm.table(500_000)}


def test_lcus_grow_with_traffic():
    low, high = cm.alb_lcus(cm.Traffic(500_000)), cm.alb_lcus(cm.Traffic(500_000_000))
    assert 0 < low < 0.05 and high == pytest.approx(low * 1000)


def test_unknown_instance_type_has_no_price():
    with pytest.raises(KeyError, match="no 2025 price for EC2 'm7i.huge'"):
        cm.monthly_cost("stage1", Knobs({"instanceType": "m7i.huge"}.get))


def test_command_prints_the_table():
    done = subprocess.run([sys.executable, "-m", "shoplab_infra.cost_model", "--requests",
                           "500000"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": f"{ROOT}:{ROOT / 'pulumi'}", "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()
            if line.split()[:1] in (["stage1"], ["stage2"], ["stage3"], ["stage4"])]
    assert [r[0] for r in rows[:4]] == ["stage1", "stage2", "stage3", "stage4"]
    assert [r[3] for r in rows[:4]] == ["12.00", "85.00", "60.00", "110.00"]
    assert [r[4] for r in rows[:4]] == ["0.000024", "0.000170", "0.000120", "0.000220"]
    assert "2025" in done.stdout
