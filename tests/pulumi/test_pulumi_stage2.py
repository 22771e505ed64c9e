"""Stage 2: ALB -> two app hosts -> RDS PostgreSQL and ElastiCache Redis in a new VPC."""
import pytest

from stack_harness import run_stack
from mock_records import ingress, is_secret, ports_open_to, unwrap

SG = "aws:ec2/securityGroup:SecurityGroup"


def _sg(m, name):
    [sg] = [r for r in m.of_type(SG) if r.name == name]
    return sg


def test_resource_counts(stacks):
    m = stacks["stage2"].mocks
    expected = {"aws:ec2/vpc:Vpc": 1, "aws:ec2/subnet:Subnet": 4,
                "aws:ec2/internetGateway:InternetGateway": 1,
                "aws:ec2/routeTableAssociation:RouteTableAssociation": 4,
                "aws:ec2/instance:Instance": 2, "aws:lb/loadBalancer:LoadBalancer": 1,
                "aws:lb/targetGroup:TargetGroup": 1, "aws:lb/listener:Listener": 2,
                "aws:acm/certificate:Certificate": 1,
                "aws:lb/targetGroupAttachment:TargetGroupAttachment": 2,
                "aws:rds/instance:Instance": 1, "aws:rds/parameterGroup:ParameterGroup": 1,
                "aws:elasticache/replicationGroup:ReplicationGroup": 1, SG: 4,
                "aws:ec2/eip:Eip": 0}
    assert {t: len(m.of_type(t)) for t in expected} == expected


def test_subnets_public_and_private_in_two_zones(stacks):
    subnets = stacks["stage2"].mocks.of_type("aws:ec2/subnet:Subnet")
    tiers = {}
    for s in subnets:
        tiers.setdefault(s.inputs["tags"]["Tier"], set()).add(s.inputs["availabilityZone"])
    assert tiers == {"public": {"us-east-1a", "us-east-1b"},
                     "private": {"us-east-1a", "us-east-1b"}}
    [public_rt] = [r for r in stacks["stage2"].mocks.of_type("aws:ec2/routeTable:RouteTable")
                   if r.inputs.get("routes")]
    assert public_rt.name == "net-public-rt"


def test_alb_in_public_subnets_data_tier_in_private(stacks):
    m = stacks["stage2"].mocks
    [alb] = m.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert sorted(alb.inputs["subnets"]) == ["net-public-1-id", "net-public-2-id"]
    assert alb.inputs["internal"] is False
    for typ in ("aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup"):
        [group] = m.of_type(typ)
        assert sorted(group.inputs["subnetIds"]) == ["net-private-1-id", "net-private-2-id"]


def test_health_check_on_healthz_every_30_seconds(stacks):
    [tg] = stacks["stage2"].mocks.of_type("aws:lb/targetGroup:TargetGroup")
    check = tg.inputs["healthCheck"]
    assert (check["path"], check["interval"], check["matcher"]) == ("/healthz", 30, "200")
    assert tg.inputs["port"] == 8000 and tg.inputs["targetType"] == "instance"
    attachments = stacks["stage2"].mocks.of_type(
        "aws:lb/targetGroupAttachment:TargetGroupAttachment")
    assert sorted(a.inputs["targetId"] for a in attachments) == ["app-1-id", "app-2-id"]


def test_each_tier_only_from_the_tier_in_front(stacks):
    m = stacks["stage2"].mocks
    assert ports_open_to(_sg(m, "web-sg"), "0.0.0.0/0") == {80, 443}
    app = _sg(m, "app-sg")
    assert [(r["fromPort"], r.get("securityGroups")) for r in ingress(app)
            if not r.get("cidrBlocks")] == [(8000, ["web-sg-id"])]
    assert ports_open_to(app, "0.0.0.0/0") == set()
    for name, port in (("db-sg", 5432), ("cache-sg", 6379)):
        rules = ingress(_sg(m, name))
        assert [(r["fromPort"], r["securityGroups"], r.get("cidrBlocks")) for r in rules] == \
            [(port, ["app-sg-id"], None)]


def test_database_private_encrypted_with_connection_parameters(stacks):
    m = stacks["stage2"].mocks
    [db] = m.of_type("aws:rds/instance:Instance")
    i = db.inputs
    assert (i["engine"], i["engineVersion"], i["instanceClass"]) == ("postgres", "15",
                                                                     "db.t3.micro")
    assert i["publiclyAccessible"] is False and i["storageEncrypted"] is True
    assert i["parameterGroupName"] == "db-params" and i["vpcSecurityGroupIds"] == ["db-sg-id"]
    [params] = m.of_type("aws:rds/parameterGroup:ParameterGroup")
    values = {p["name"]: p["value"] for p in params.inputs["parameters"]}
    assert params.inputs["family"] == "postgres15"
    assert values["max_connections"] == "80" and values["statement_timeout"] == "5000"
    assert "idle_in_transaction_session_timeout" in values


def test_database_is_tls_only_with_a_named_ca_and_its_bundle_for_clients(stacks):
    """RDS refuses plain text; its certificate comes from the CA the stack names, and the
    clients that verify it (stage 2's hosts) get the region's bundle from AWS's trust store."""
    run = stacks["stage2"]
    [db] = run.mocks.of_type("aws:rds/instance:Instance")
    assert db.inputs["caCertIdentifier"] == "rds-ca-rsa2048-g1"
    [params] = run.mocks.of_type("aws:rds/parameterGroup:ParameterGroup")
    assert {p["name"]: p["value"] for p in params.inputs["parameters"]}["rds.force_ssl"] == "1"
    assert run.outputs["db_ca_bundle_url"] == \
        "https://truststore.pki.rds.amazonaws.com/us-east-1/us-east-1-bundle.pem"
    other = run_stack("stage2", {"shoplab:dbCaCertificate": "rds-ca-ecc384-g1"})
    [db] = other.mocks.of_type("aws:rds/instance:Instance")
    assert db.inputs["caCertIdentifier"] == "rds-ca-ecc384-g1"


def test_redis_encrypted_with_auth_and_url_matches(stacks):
    run = stacks["stage2"]
    [redis] = run.mocks.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert redis.inputs["atRestEncryptionEnabled"] is True
    assert redis.inputs["transitEncryptionEnabled"] is True
    assert redis.inputs["nodeType"] == "cache.t3.micro" and redis.inputs["port"] == 6379
    assert is_secret(redis.inputs["authToken"])
    token = unwrap(redis.inputs["authToken"])
    [generated] = [r for r in run.mocks.of_type("random:index/randomPassword:RandomPassword")
                   if r.name == "cache-auth-token"]
    assert (generated.inputs["length"], generated.inputs["special"]) == (64, False)
    assert run.outputs["redis_auth_token"] == token
    assert run.outputs["redis_url"].startswith(f"rediss://:{token}@master.cache-redis.")
    assert {"redis_url", "redis_auth_token"} <= run.secret_outputs


def test_redis_without_tls_has_no_auth_token():
    run = run_stack("stage2", {"shoplab:cacheTransitEncryption": False})
    [redis] = run.mocks.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert "authToken" not in redis.inputs            # ElastiCache takes AUTH only over TLS
    assert run.outputs["redis_url"].startswith("redis://master.cache-redis.")
    assert run.outputs["redis_auth_token"] is None


def test_outputs_for_the_inventory(stacks):
    out = stacks["stage2"].outputs
    assert out["alb_dns_name"].endswith(".elb.amazonaws.com")
    assert out["app_public_ips"] == ["203.0.113.20", "203.0.113.20"]
    assert out["db_address"].endswith(".rds.amazonaws.com") and out["db_port"] == 5432
    # the app's own role; the master user's URL is for the migrations only
    assert out["database_url"].startswith("postgresql://shop_app:")
    assert out["migration_database_url"].startswith("postgresql://shop:")
    for url in ("database_url", "migration_database_url"):
        assert out[url].endswith("/shop?sslmode=require")
    assert (out["db_user"], out["db_app_user"]) == ("shop", "shop_app")
    assert out["db_password"] != out["db_app_password"]


def test_count_and_health_check_follow_config():
    run = run_stack("stage2", {"shoplab:appCount": 3, "shoplab:healthCheckInterval": 45,
                               "shoplab:dbPoolMaxSize": 5})
    assert len(run.mocks.of_type("aws:ec2/instance:Instance")) == 3
    assert len(run.mocks.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")) == 3
    [tg] = run.mocks.of_type("aws:lb/targetGroup:TargetGroup")
    assert tg.inputs["healthCheck"]["interval"] == 45
    assert len(run.outputs["app_public_ips"]) == 3


def test_connection_budget_is_enforced():
    # 2 hosts x 2 workers x 20 = 80 > 80 - 10 reserved
    with pytest.raises(ValueError, match=r"connection budget.*= 80 connections exceed .* = 70"):
        run_stack("stage2", {"shoplab:dbPoolMaxSize": 20})


def test_timeout_must_be_shorter_than_interval():
    with pytest.raises(ValueError, match="healthCheckTimeout"):
        run_stack("stage2", {"shoplab:healthCheckInterval": 5, "shoplab:healthCheckTimeout": 5})
