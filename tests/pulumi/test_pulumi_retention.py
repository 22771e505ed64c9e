"""Data survives `pulumi up`: the retention policy (retention.py) and the image pin (hosts.py)
on every stage's recorded program.

What holds data is protected, and nothing else; the RDS instance keeps deletion protection, a
final snapshot and its backups; the one lab switch (shoplab:labTeardown) turns all of it off.
A new image or instance type in config plans no replacement of anything holding data (the
recorded inputs and options are compared across two configs, as the engine's diff would), a
stack with hosts needs an image pin, and stage 1's PostgreSQL volume is encrypted gp3 in its
host's zone, attached."""
import functools

import pytest

from stack_harness import STAGES, RecordingMocks, run_stack
from shoplab_infra import knobs

INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
ATTACHMENT = "aws:ec2/volumeAttachment:VolumeAttachment"
RDS = ("aws:rds/instance:Instance", "db-postgres")
REDIS = ("aws:elasticache/replicationGroup:ReplicationGroup", "cache-redis")
ECR = ("aws:ecr/repository:Repository", "shop-repo")
# per stage, what holds data that the repository cannot recreate
STATEFUL = {
    "stage1": {(VOLUME, "pgdata-volume")},
    "stage2": {RDS, REDIS},
    "stage3": {RDS, REDIS, ECR},
    "stage4": {RDS, REDIS, (INSTANCE, "k3s-1")},
}
HOST_STAGES = ("stage1", "stage2", "stage4")
TYPE_KEY = {"stage1": "instanceType", "stage2": "instanceType", "stage4": "k3sInstanceType"}
LARGER = {"stage1": "t3.medium", "stage2": "t3.medium", "stage4": "t3.xlarge"}
OTHER_AMI = "ami-0fedcba9876543210"
LOOKED_UP_AMI = "ami-0123456789abcdef0"        # the mocked get_ami's answer (stack_harness)
# Inputs the AWS provider changes on a live resource (an instance is stopped and started for a
# new type); a change to any other input outside ignore_changes is planned as a replacement.
UPDATED_IN_PLACE = {INSTANCE: {"instanceType"}}


@functools.cache
def _run(stage: str, **overrides):
    """A stack run with ``overrides`` (config keys without the namespace), shared by tests."""
    return run_stack(stage, {f"shoplab:{k}": v for k, v in overrides.items()})


def _teardown(stage: str):
    return _run(stage, labTeardown=True)


def replacing_changes(before, after, key: tuple[str, str]) -> set[str]:
    """The inputs of resource ``key`` whose change from ``before`` to ``after`` the engine
    would carry out by replacing it: changed, not ignored, not updatable in place."""
    old, new = before.mocks.named(*key), after.mocks.named(*key)
    changed = {p for p in set(old.inputs) | set(new.inputs)
               if old.inputs.get(p) != new.inputs.get(p)}
    ignored = set(after.mocks.options_of(new).ignore_changes)
    return changed - ignored - UPDATED_IN_PLACE.get(key[0], set())


# --- protect ------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_what_holds_data_is_protected_and_nothing_else(stacks, stage):
    m = stacks[stage].mocks
    protected = {(r.typ, r.name) for r in m.resources if m.options_of(r).protect}
    assert protected == STATEFUL[stage]


@pytest.mark.parametrize("stage", STAGES)
def test_lab_teardown_protects_nothing(stage):
    m = _teardown(stage).mocks
    assert STATEFUL[stage] <= {(r.typ, r.name) for r in m.custom()}      # still built
    assert [r.name for r in m.resources if m.options_of(r).protect] == []


# --- what the data tier keeps when it is deleted -----------------------------------------

@pytest.mark.parametrize("stage", ("stage2", "stage3", "stage4"))
def test_database_keeps_deletion_protection_a_final_snapshot_and_its_backups(stacks, stage):
    db = stacks[stage].mocks.named(*RDS).inputs
    assert db["deletionProtection"] is True
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"] == f"shoplab-{stage}-db-final"
    assert db["backupRetentionPeriod"] >= 7
    assert db["deleteAutomatedBackups"] is False


@pytest.mark.parametrize("stage", ("stage2", "stage3", "stage4"))
def test_lab_teardown_lets_the_database_go_with_its_backups_and_no_snapshot(stage):
    db = _teardown(stage).mocks.named(*RDS).inputs
    assert db["deletionProtection"] is False
    assert db["skipFinalSnapshot"] is True
    assert not db.get("finalSnapshotIdentifier")
    assert db["backupRetentionPeriod"] >= 7        # backed up while it lives
    assert db["deleteAutomatedBackups"] is True


def test_backups_shorter_than_the_minimum_are_refused_outside_a_lab_teardown():
    with pytest.raises(ValueError, match="at least 7 days"):
        run_stack("stage2", {"shoplab:dbBackupRetentionDays": 3})
    longer = _run("stage2", dbBackupRetentionDays=14)
    assert longer.mocks.named(*RDS).inputs["backupRetentionPeriod"] == 14


def test_images_and_the_data_volume_outlive_their_resource_unless_the_lab_tears_down(stacks):
    assert stacks["stage3"].mocks.named(*ECR).inputs["forceDelete"] is False
    assert _teardown("stage3").mocks.named(*ECR).inputs["forceDelete"] is True
    for run, kept in ((stacks["stage1"], True), (_teardown("stage1"), False)):
        assert run.mocks.named(VOLUME, "pgdata-volume").inputs["finalSnapshot"] is kept


def test_the_old_per_resource_switch_is_refused_not_ignored(tmp_path):
    with pytest.raises(ValueError, match="dbDeletionProtection no longer exists.*labTeardown"):
        run_stack("stage2", {"shoplab:dbDeletionProtection": True})
    (tmp_path / "Pulumi.stage2.yaml").write_text("config:\n  shoplab:dbDeletionProtection: true\n")
    with pytest.raises(ValueError, match="dbDeletionProtection"):
        knobs.from_stack_file("stage2", tmp_path)


# --- a config change replaces nothing that holds data -------------------------------------

@pytest.mark.parametrize("stage", HOST_STAGES)
@pytest.mark.parametrize("change", ("image", "instance type"))
def test_a_new_image_or_instance_type_replaces_nothing_that_holds_data(stacks, stage, change):
    key, field, value = (("amiId", "ami", OTHER_AMI) if change == "image"
                         else (TYPE_KEY[stage], "instanceType", LARGER[stage]))
    before, after = stacks[stage], _run(stage, **{key: value})
    hosts = after.mocks.of_type(INSTANCE)
    assert hosts and all(h.inputs[field] == value for h in hosts)     # the change arrived
    for resource in STATEFUL[stage]:
        assert replacing_changes(before, after, resource) == set(), resource
        assert after.mocks.options_of(after.mocks.named(*resource)).protect, resource


@pytest.mark.parametrize("stage", ("stage1", "stage2"))
def test_a_new_image_rolls_the_hosts_that_hold_no_data(stacks, stage):
    after = _run(stage, amiId=OTHER_AMI)
    for host in stacks[stage].mocks.of_type(INSTANCE):
        assert replacing_changes(stacks[stage], after, (INSTANCE, host.name)) == {"ami"}


@pytest.mark.parametrize("stage", HOST_STAGES)
def test_hosts_ignore_what_only_matters_at_launch(stacks, stage):
    m = stacks[stage].mocks
    for host in m.of_type(INSTANCE):
        ignored = set(m.options_of(host).ignore_changes)
        assert {"userData", "keyName"} <= ignored, host.name
        assert ("ami" in ignored) == (stage == "stage4"), host.name   # only k3s keeps its image


@pytest.mark.parametrize("stage", HOST_STAGES)
def test_a_new_ssh_key_replaces_no_host(stacks, stage):
    after = _run(stage, sshPublicKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIrotated op@shoplab")
    for host in stacks[stage].mocks.of_type(INSTANCE):
        assert after.mocks.named(INSTANCE, host.name).inputs["userData"] != host.inputs["userData"]
        assert replacing_changes(stacks[stage], after, (INSTANCE, host.name)) == set()


# --- the image pin ------------------------------------------------------------------------

@pytest.mark.parametrize("stage", HOST_STAGES)
def test_a_stack_with_hosts_needs_an_image_pin_before_anything_is_created(stage):
    mocks = RecordingMocks()
    with pytest.raises(ValueError, match=r"shoplab:amiId is not set.*amiFollowLatest"):
        run_stack(stage, drop=("shoplab:amiId",), mocks=mocks)
    assert mocks.resources == []


def test_stage3_has_no_hosts_and_needs_no_pin():
    run = run_stack("stage3", drop=("shoplab:amiId",))
    assert run.mocks.of_type("aws:ecs/service:Service") and not run.mocks.of_type(INSTANCE)


def test_following_the_latest_image_is_an_opt_in_and_excludes_a_pin():
    run = run_stack("stage1", {"shoplab:amiFollowLatest": True}, drop=("shoplab:amiId",))
    [host] = run.mocks.of_type(INSTANCE)
    assert host.inputs["ami"] == LOOKED_UP_AMI
    [lookup] = [c for c in run.mocks.calls if c.token == "aws:ec2/getAmi:getAmi"]
    assert lookup.args["mostRecent"] is True and lookup.args["owners"] == ["136693071363"]
    with pytest.raises(ValueError, match="both set"):
        run_stack("stage1", {"shoplab:amiFollowLatest": True})


def test_an_image_pin_must_be_an_ami_id():
    with pytest.raises(ValueError, match="not an AMI id"):
        run_stack("stage2", {"shoplab:amiId": "debian-12-amd64"})


# --- stage 1's PostgreSQL volume ----------------------------------------------------------

def test_stage1_database_volume_is_encrypted_gp3_in_the_hosts_zone_and_attached(stacks):
    m = stacks["stage1"].mocks
    [volume], [host], [attachment] = (m.of_type(VOLUME), m.of_type(INSTANCE),
                                      m.of_type(ATTACHMENT))
    assert volume.inputs["encrypted"] is True and volume.inputs["type"] == "gp3"
    assert volume.inputs["size"] == 20
    assert volume.inputs["availabilityZone"] == host.inputs["availabilityZone"] == "us-east-1a"
    assert attachment.inputs["volumeId"] == "vol-0123456789abcdef0"
    assert attachment.inputs["instanceId"] == "app-1-id"
    assert attachment.inputs["deviceName"] == "/dev/sdf"
    # a replaced host: stop the old one, detach, attach to the new one
    assert attachment.inputs["stopInstanceBeforeDetaching"] is True
    assert m.options_of(attachment).delete_before_replace is True


def test_stage1_outputs_name_the_volume_as_the_os_sees_it(stacks):
    out = stacks["stage1"].outputs
    assert out["data_volume_id"] == "vol-0123456789abcdef0"
    assert out["data_volume_device"] == \
        "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"


def test_stage1_volume_zone_and_size_follow_config():
    run = _run("stage1", dataVolumeZone="us-east-1c", dataVolumeGb=50)
    [volume], [host] = run.mocks.of_type(VOLUME), run.mocks.of_type(INSTANCE)
    assert volume.inputs["availabilityZone"] == host.inputs["availabilityZone"] == "us-east-1c"
    assert volume.inputs["size"] == 50
