"""What holds for every stage: firewall, IMDSv2, encryption, tags, secrets, outputs, config."""
import importlib.util
from pathlib import Path

import pulumi
import pytest

from stack_harness import OPERATOR_SECRETS, STAGES, run_stack
from mock_records import ingress, is_secret, plain_strings, taggable

ADMIN_PORTS = (22, 5432, 6379, 6443)
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "pulumi" / "README.md"
INVENTORY = ROOT / "ansible" / "pulumi_inventory.py"
EXPECTED_OUTPUTS = {
    "stage1": {"host_public_ip", "host_private_ip", "ssh_user", "url", "data_volume_id",
               "data_volume_device"},
    "stage2": {"alb_dns_name", "url", "certificate_validation_records", "app_public_ips",
               "app_private_ips", "app_port", "vpc_cidr", "ssh_user"},
    "stage3": {"alb_dns_name", "url", "certificate_validation_records", "repository_url",
               "cluster_name", "service_name"},
    "stage4": {"k3s_public_ip", "k3s_private_ip", "ssh_user", "namespace", "url"},
}
DATA_OUTPUTS = {"db_address", "db_port", "db_max_connections", "db_name", "db_user",
                "db_password", "db_app_user", "db_app_password", "database_url",
                "migration_database_url", "db_ca_bundle_url", "redis_address", "redis_port",
                "redis_url", "redis_auth_token"}
SECRET_OUTPUTS = {"db_password", "db_app_password", "database_url", "migration_database_url",
                  "redis_url", "redis_auth_token"}


@pytest.mark.parametrize("stage", STAGES)
def test_no_admin_port_open_to_the_internet(stacks, stage):
    for sg in stacks[stage].mocks.of_type("aws:ec2/securityGroup:SecurityGroup"):
        for rule in ingress(sg):
            world = {"0.0.0.0/0", "::/0"} & set(rule.get("cidrBlocks") or [])
            covered = [p for p in ADMIN_PORTS if rule["fromPort"] <= p <= rule["toPort"]]
            assert not (world and covered), (sg.name, rule)
            assert rule["protocol"] != "-1", (sg.name, rule)


@pytest.mark.parametrize("stage", STAGES)
def test_hosts_require_imdsv2_and_encrypt_their_root(stacks, stage):
    for host in stacks[stage].mocks.of_type("aws:ec2/instance:Instance"):
        assert host.inputs["metadataOptions"]["httpTokens"] == "required"
        assert host.inputs["rootBlockDevice"]["encrypted"] is True


@pytest.mark.parametrize("stage", ("stage2", "stage3", "stage4"))
def test_database_private_and_encrypted(stacks, stage):
    [db] = stacks[stage].mocks.of_type("aws:rds/instance:Instance")
    assert db.inputs["publiclyAccessible"] is False and db.inputs["storageEncrypted"] is True
    assert is_secret(db.inputs["password"])


@pytest.mark.parametrize("stage", STAGES)
def test_every_taggable_resource_is_tagged(stacks, stage):
    tagged = 0
    for r in stacks[stage].mocks.custom():
        if taggable(r.typ):
            tags = r.inputs.get("tags") or {}
            assert {k: tags.get(k) for k in ("Project", "Stage", "ManagedBy")} == \
                {"Project": "shoplab", "Stage": stage, "ManagedBy": "pulumi"}, r.name
            tagged += 1
    assert tagged >= 4


@pytest.mark.parametrize("stage", STAGES)
def test_outputs_present_and_documented(stacks, stage):
    run = stacks[stage]
    expected = EXPECTED_OUTPUTS[stage] | (DATA_OUTPUTS if stage != "stage1" else set())
    assert set(run.outputs) == expected
    assert all(value not in (None, "", []) for value in run.outputs.values())
    readme = README.read_text()
    assert all(f"`{name}`" in readme for name in expected)


@pytest.mark.parametrize("stage", STAGES)
def test_secrets_stay_secret(stacks, stage):
    run = stacks[stage]
    assert run.secret_outputs == (SECRET_OUTPUTS if stage != "stage1" else set())
    passwords = [r.name for r in run.mocks.of_type("random:index/randomPassword:RandomPassword")]
    secret_values = set(OPERATOR_SECRETS.values()) | {f"generated{len(n)}x" * 3 for n in passwords}
    for r in run.mocks.custom():
        for text in plain_strings(r.inputs):
            leaked = [s for s in secret_values if s in text]
            assert not leaked, (r.name, text[:80])


@pytest.mark.parametrize("stage,key", [("stage1", "adminCidrs"), ("stage1", "sshPublicKey"),
                                       ("stage2", "adminCidrs"), ("stage3", "stripeSecretKey"),
                                       ("stage3", "stripeWebhookSecret"),
                                       ("stage4", "sshPublicKey")])
def test_missing_required_config_fails_clearly(stage, key):
    secrets = {k: v for k, v in OPERATOR_SECRETS.items() if k != f"shoplab:{key}"}
    with pytest.raises(pulumi.ConfigMissingError, match=f"shoplab:{key}"):
        run_stack(stage, drop=(f"shoplab:{key}",), secrets=secrets)


@pytest.mark.parametrize("stage", ("stage1", "stage2", "stage4"))
def test_admin_cidrs_may_not_be_the_internet(stage):
    with pytest.raises(ValueError, match="never open to all"):
        run_stack(stage, {"shoplab:adminCidrs": ["0.0.0.0/0"]})


def test_stage_comes_from_the_stack_name_or_config():
    run = run_stack("stage1", {"shoplab:stage": "stage1"})
    assert len(run.mocks.of_type("aws:ec2/instance:Instance")) == 1
    with pytest.raises(ValueError, match="stage 'stage9'"):
        run_stack("stage1", {"shoplab:stage": "stage9"})


def test_unknown_setting_name_is_an_error():
    from shoplab_infra.knobs import Knobs
    with pytest.raises(KeyError, match="instanceTyp: not a shoplab setting"):
        Knobs({}.get).get("instanceTyp")


@pytest.mark.skipif(not INVENTORY.exists(), reason="no Ansible inventory over Pulumi outputs")
@pytest.mark.parametrize("stage", ("stage1", "stage2"))
def test_outputs_feed_the_ansible_inventory(stacks, stage):
    """The contract with ansible/pulumi_inventory.py: it builds hosts from these outputs."""
    spec = importlib.util.spec_from_file_location("shoplab_pulumi_inventory", INVENTORY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    inv = module.inventory(stage, stacks[stage].outputs)
    hosts = inv["_meta"]["hostvars"]
    assert len(hosts) == (1 if stage == "stage1" else 2)
    assert all(h["ansible_user"] == "ansible" and h["ansible_host"] for h in hosts.values())
    if stage == "stage2":
        assert inv["all"]["vars"]["pulumi_db_max_connections"] == 80
        assert inv["all"]["vars"]["pulumi_app_port"] == 8000
        assert inv["all"]["vars"]["pulumi_vpc_cidr"] == "10.20.0.0/16"
