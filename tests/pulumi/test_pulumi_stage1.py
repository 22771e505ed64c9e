"""Stage 1: one EC2 host with an Elastic IP, reachable for Ansible, in the default VPC, and
PostgreSQL's volume attached to it (its retention: test_pulumi_retention.py)."""
from stack_harness import OPERATOR_CONFIG, run_stack
from mock_records import ports_open_to


def test_one_host_with_an_elastic_ip_a_data_volume_and_nothing_else(stacks):
    m = stacks["stage1"].mocks
    counts = {t: len(m.of_type(t)) for t in ("aws:ec2/instance:Instance", "aws:ec2/eip:Eip",
                                             "aws:ec2/securityGroup:SecurityGroup",
                                             "aws:ec2/keyPair:KeyPair", "aws:ebs/volume:Volume",
                                             "aws:ec2/volumeAttachment:VolumeAttachment")}
    assert counts == dict.fromkeys(counts, 1)
    assert len(m.custom()) == 6
    [eip] = m.of_type("aws:ec2/eip:Eip")
    assert eip.inputs["instance"] == "app-1-id"


def test_host_defaults_come_from_the_stack_file(stacks):
    [host] = stacks["stage1"].mocks.of_type("aws:ec2/instance:Instance")
    assert host.inputs["instanceType"] == "t3.small"
    assert host.inputs["rootBlockDevice"]["volumeSize"] == 20
    assert host.inputs["rootBlockDevice"]["volumeType"] == "gp3"
    assert host.inputs["ami"] == OPERATOR_CONFIG["shoplab:amiId"]      # the pin, no lookup
    assert not [c for c in stacks["stage1"].mocks.calls if c.token == "aws:ec2/getAmi:getAmi"]


def test_user_data_prepares_the_host_for_ansible(stacks):
    [host] = stacks["stage1"].mocks.of_type("aws:ec2/instance:Instance")
    data = host.inputs["userData"]
    assert data.startswith("#cloud-config\n")
    assert "name: ansible" in data and "python3" in data
    assert OPERATOR_CONFIG["shoplab:sshPublicKey"] in data
    assert stacks["stage1"].outputs["ssh_user"] == "ansible"


def test_web_is_public_and_ssh_only_from_admins(stacks):
    [sg] = stacks["stage1"].mocks.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert ports_open_to(sg, "0.0.0.0/0") == {80, 443}
    assert ports_open_to(sg, "198.51.100.7/32") == {22}


def test_outputs_are_the_elastic_ip_and_the_shops_https_url(stacks):
    out = stacks["stage1"].outputs
    assert out["host_public_ip"] == "203.0.113.99"
    assert out["url"] == f"https://{OPERATOR_CONFIG['shoplab:domainName']}/"


def test_without_a_domain_the_url_is_the_elastic_ip():
    run = run_stack("stage1", drop=("shoplab:domainName",))
    assert run.outputs["url"] == "https://203.0.113.99/"
    assert not run.mocks.of_type("aws:acm/certificate:Certificate")


def test_instance_type_and_disk_follow_config():
    run = run_stack("stage1", {"shoplab:instanceType": "t3.medium", "shoplab:rootVolumeGb": 40})
    [host] = run.mocks.of_type("aws:ec2/instance:Instance")
    assert host.inputs["instanceType"] == "t3.medium"
    assert host.inputs["rootBlockDevice"]["volumeSize"] == 40
