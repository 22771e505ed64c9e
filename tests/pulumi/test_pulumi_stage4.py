"""Stage 4: a k3s host reached from the web only through the gateway, and the shop's objects from
k8s.manifests created through a kubernetes provider built from the kubeconfig secret."""
import kubernetes_validate
import pulumi
import pytest

from stack_harness import OPERATOR_SECRETS, run_stack
from edge import tls
from k8s.app_env import MIGRATOR_SECRETS, SECRET_SETTINGS
from k8s.manifests import shop_objects
from mock_records import is_secret, ports_open_to
from shoplab_infra import knobs, stages

PROVIDER = "pulumi:providers:kubernetes"


def _k8s(run):
    return [r for r in run.mocks.resources if r.typ.startswith("kubernetes:") and r.custom]


def _whole(value):
    """Numbers come back from the mocks as floats; Kubernetes wants integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def _values_for(run_config: dict):
    values = knobs.stack_config("stage4")
    values.update(run_config)
    return stages.workload_values(knobs.Knobs(values.get, "stage4"))


def test_host_counts_and_size(stacks):
    m = stacks["stage4"].mocks
    [host] = m.of_type("aws:ec2/instance:Instance")
    assert host.inputs["instanceType"] == "t3.large"
    assert host.inputs["rootBlockDevice"]["volumeSize"] == 30
    assert len(m.of_type("aws:ec2/eip:Eip")) == 1
    assert len(m.of_type("aws:rds/instance:Instance")) == 1
    assert len(m.of_type("aws:elasticache/replicationGroup:ReplicationGroup")) == 1


def test_only_the_gateway_is_open_to_the_web_and_ssh_and_api_only_to_admins(stacks):
    [sg] = [r for r in stacks["stage4"].mocks.of_type("aws:ec2/securityGroup:SecurityGroup")
            if r.name == "k3s-sg"]
    assert ports_open_to(sg, "0.0.0.0/0") == {tls.HTTP_PORT, tls.HTTPS_PORT} == {80, 443}
    # no NodePort: the shop's Service is ClusterIP, reached through the gateway only
    assert ports_open_to(sg, "198.51.100.7/32") == {22, 6443}


def test_every_shop_object_is_created_through_the_kubeconfig_provider(stacks):
    run = stacks["stage4"]
    [provider] = run.mocks.of_type(PROVIDER)
    assert is_secret(provider.inputs["kubeconfig"])
    assert provider.inputs["kubeconfig"]["value"] == OPERATOR_SECRETS["shoplab:kubeconfig"]
    created = _k8s(run)
    objects = [r for r in created if r.typ != PROVIDER]
    assert all(r.provider.split("::")[-2] == "shop-k3s" for r in objects)
    expected = shop_objects(_values_for({}))
    want = sorted((o["apiVersion"], o["kind"], o["metadata"]["name"],
                   o["metadata"].get("namespace")) for o in expected)
    want.append(("v1", "Secret", "shop-secrets", "shop"))
    got = sorted((r.inputs["apiVersion"], r.inputs["kind"], r.inputs["metadata"]["name"],
                  r.inputs["metadata"].get("namespace")) for r in objects)
    assert got == sorted(want)


def test_objects_are_the_shared_definitions_unchanged(stacks):
    by_name = {(r.inputs["kind"], r.inputs["metadata"]["name"]): r
               for r in _k8s(stacks["stage4"]) if r.typ != PROVIDER}
    for obj in shop_objects(_values_for({})):
        key = (obj["kind"], obj["metadata"]["name"])
        assert _whole(dict(by_name[key].inputs)) == obj, key


def test_namespace_has_sidecar_injection_and_istio_objects_are_custom_resources(stacks):
    by_kind = {r.inputs["kind"]: r for r in _k8s(stacks["stage4"]) if r.typ != PROVIDER}
    assert by_kind["Namespace"].inputs["metadata"]["labels"]["istio-injection"] == "enabled"
    for kind in ("Gateway", "VirtualService", "DestinationRule"):
        assert by_kind[kind].typ == f"kubernetes:networking.istio.io/v1:{kind}"
    for kind in ("PeerAuthentication", "AuthorizationPolicy"):
        assert by_kind[kind].typ == f"kubernetes:security.istio.io/v1:{kind}"
    assert by_kind["CronJob"].typ == "kubernetes:batch/v1:CronJob"


def test_gateway_serves_tls_on_the_ports_the_group_opens(stacks):
    """The Gateway the stack creates: HTTPS with the edge's TLS settings and the istio role's
    Secret, HTTP only redirecting, HSTS on the routed answers."""
    by_kind = {r.inputs["kind"]: r for r in _k8s(stacks["stage4"]) if r.typ != PROVIDER}
    servers = {s["port"]["number"]: s for s in _whole(by_kind["Gateway"].inputs["spec"])["servers"]}
    assert set(servers) == {tls.HTTP_PORT, tls.HTTPS_PORT}
    assert servers[tls.HTTP_PORT]["tls"] == {"httpsRedirect": True}
    https = servers[tls.HTTPS_PORT]["tls"]
    assert (https["mode"], https["credentialName"], https["minProtocolVersion"]) == \
        ("SIMPLE", "shop-tls", "TLSV1_2")
    assert https["cipherSuites"] == list(tls.CIPHERS_TLS12)
    routes = {r["name"]: r for r in by_kind["VirtualService"].inputs["spec"]["http"]}
    assert routes["shop"]["headers"]["response"]["set"] == {"Strict-Transport-Security": tls.HSTS}
    # /metrics is the gateway's own 404, as on the ALB
    assert routes["internal"]["directResponse"]["status"] == 404


def test_url_is_https_at_the_shops_name_or_its_address():
    assert run_stack("stage4").outputs["url"] == "https://shop.example.com/"   # domainName
    run = run_stack("stage4", drop=("shoplab:domainName",))
    assert run.outputs["url"] == f"https://{run.outputs['k3s_public_ip']}/"


def test_secret_data_is_secret_and_complete(stacks):
    [secret] = [r for r in _k8s(stacks["stage4"]) if r.typ == "kubernetes:core/v1:Secret"]
    assert is_secret(secret.inputs["stringData"])
    data = secret.inputs["stringData"]["value"]
    # the app's secrets and the migrator's (read by the migrate init container only)
    assert sorted(data) == sorted(SECRET_SETTINGS + MIGRATOR_SECRETS)
    assert data["DATABASE_URL"].startswith("postgresql://shop_app:")
    assert data["MIGRATION_DATABASE_URL"].startswith("postgresql://shop:")
    assert data["STRIPE_SECRET_KEY"] == OPERATOR_SECRETS["shoplab:stripeSecretKey"]


def test_config_flows_into_the_objects():
    run = run_stack("stage4", {"shoplab:workload": {"replicas": 3, "max_replicas": 3,
                                                    "namespace": "shop-b"},
                               "shoplab:dbPoolMaxSize": 9})
    by_kind = {r.inputs["kind"]: r for r in _k8s(run) if r.typ != PROVIDER}
    assert by_kind["Deployment"].inputs["spec"]["replicas"] == 3
    assert {r.inputs["metadata"].get("namespace") for r in by_kind.values()} == {None, "shop-b"}
    assert by_kind["ConfigMap"].inputs["data"]["DB_POOL_MAX_SIZE"] == "9"
    # 3 pods x 2 workers x 9 connections: the mesh limit follows the pool settings
    pool = by_kind["DestinationRule"].inputs["spec"]["trafficPolicy"]["connectionPool"]
    assert pool["tcp"]["maxConnections"] == 54
    assert run.outputs["namespace"] == "shop-b"


def test_pods_reach_the_data_tier_only_in_the_stacks_vpc_on_its_ports(stacks):
    [policy] = [r for r in _k8s(stacks["stage4"])
                if r.typ == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
                and r.inputs["metadata"]["name"].endswith("-egress")]
    k = knobs.from_stack_file("stage4")
    rules = {tuple(p["port"] for p in rule["ports"]): rule["to"]
             for rule in policy.inputs["spec"]["egress"]}
    assert rules[(k.int("dbPort"), k.int("cachePort"))] == [{"ipBlock": {"cidr": k.get("vpcCidr")}}]


def test_host_only_before_k3s_exists():
    secrets = {k: v for k, v in OPERATOR_SECRETS.items() if k != "shoplab:kubeconfig"}
    run = run_stack("stage4", {"shoplab:deployWorkload": False}, secrets=secrets)
    assert _k8s(run) == []
    assert len(run.mocks.of_type("aws:ec2/instance:Instance")) == 1


def test_workload_needs_the_kubeconfig():
    secrets = {k: v for k, v in OPERATOR_SECRETS.items() if k != "shoplab:kubeconfig"}
    with pytest.raises(pulumi.ConfigMissingError, match="shoplab:kubeconfig"):
        run_stack("stage4", secrets=secrets)


def test_mesh_sized_beyond_the_database_is_refused():
    # 4 pods x 2 workers x 10 = 80 > 70
    with pytest.raises(ValueError, match=r"connection budget \(workload.max_replicas 4 .*"
                                         r"= 80 connections exceed .* = 70"):
        run_stack("stage4", {"shoplab:dbPoolMaxSize": 10})


def test_built_in_objects_validate_against_the_kubernetes_schema(stacks):
    built_in = [_whole(dict(r.inputs)) for r in _k8s(stacks["stage4"])
                if r.typ != PROVIDER and "istio.io" not in r.typ]
    # the 10 built-in objects of shop_objects (3 NetworkPolicies among them) and the Secret
    assert len(built_in) == 11
    for obj in built_in:
        if is_secret(obj.get("stringData")):
            obj["stringData"] = obj["stringData"]["value"]
        kubernetes_validate.validate(obj, "1.31.0", strict=True)
