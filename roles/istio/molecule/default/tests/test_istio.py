"""State of the stage-4 host after ansible/stage4.yml (nothing started or applied), and the
same play under --check."""
import base64
import json
import os
import pathlib
import subprocess

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[5]
CONF = pathlib.Path("/etc/shoplab/istio")
SHOP_VALUES = {"replicas": 3, "settings": {"DB_POOL_MAX_SIZE": 5}}   # as in molecule.yml


def test_istioctl_of_the_version_is_linked(host):
    link = host.file("/usr/local/bin/istioctl")
    assert link.linked_to == "/opt/istio/istio-1.27.1/bin/istioctl"
    assert host.check_output("/usr/local/bin/istioctl") == "istioctl stand-in"
    for addon in ("kiali", "prometheus", "grafana"):
        assert host.file(f"/opt/istio/istio-1.27.1/samples/addons/{addon}.yaml").exists


def test_istio_operator_minimal_with_gateway_on_80_and_443(host):
    f = host.file(str(CONF / "istio-operator.yaml"))
    assert f.content_string.startswith("# Ansible managed")
    op = yaml.safe_load(f.content_string)
    assert op["kind"] == "IstioOperator"
    assert op["spec"]["profile"] == "minimal"
    assert op["spec"]["tag"] == "1.27.1"
    gateway = op["spec"]["components"]["ingressGateways"][0]
    assert gateway["enabled"] is True
    service = gateway["k8s"]["service"]
    # k3s' servicelb binds the Service's ports on the node; no fixed node port is asked for
    assert service["type"] == "LoadBalancer"
    assert service["ports"] == [{"name": "http2", "port": 80, "targetPort": 8080},
                                {"name": "https", "port": 443, "targetPort": 8443}]
    # the client's address survives to the gateway, which trusts no X-Forwarded-For before it
    assert service["externalTrafficPolicy"] == "Local"
    proxy_config = gateway["k8s"]["podAnnotations"]["proxy.istio.io/config"]
    assert isinstance(proxy_config, str)   # annotations are strings
    assert json.loads(proxy_config) == {"gatewayTopology": {"numTrustedProxies": 0}}


def test_istio_operator_matches_istios_schema(host):
    """The IstioOperator schema of @kubernetes-models/istio (tests/k8s) checks apiVersion, kind
    and metadata only (Istio leaves spec open); the spec is asserted in the test above."""
    validator = REPO / "tests/k8s"
    if not (validator / "node_modules/@kubernetes-models/istio").is_dir():
        # as `make test-k8s` does, for a scenario run on its own (make test-roles)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=validator, check=True, timeout=300)
    op = yaml.safe_load(host.file(str(CONF / "istio-operator.yaml")).content_string)
    for doc, expected_rc in ((op, 0), ({**op, "metadata": {"name": 3}}, 1)):
        run = subprocess.run(["node", "validate-istio.mjs"], input=json.dumps([doc]),
                             capture_output=True, text=True, cwd=validator, timeout=60)
        assert run.returncode == expected_rc, run.stdout + run.stderr


def test_injection_namespaces(host):
    docs = [d for d in yaml.safe_load_all(host.file(str(CONF / "namespaces.yaml")).content_string) if d]
    assert [(d["metadata"]["name"], d["metadata"]["labels"]["istio-injection"]) for d in docs] == \
        [("shoplab-jobs", "enabled")]


def test_shop_objects_are_exactly_what_k8s_render_gives(host):
    """One source of truth: the file Ansible applies is python -m k8s.render's output."""
    rendered = subprocess.run(
        ["python", "-m", "k8s.render", "--values", "-"], input=json.dumps(SHOP_VALUES),
        capture_output=True, text=True, cwd=REPO, check=True, timeout=60).stdout
    assert host.file(str(CONF / "shop.yaml")).content_string == rendered
    kinds = [d["kind"] for d in yaml.safe_load_all(rendered)]
    assert "Deployment" in kinds and "DestinationRule" in kinds


def test_secret_is_root_only_and_complete(host):
    f = host.file(str(CONF / "shop-secret.yaml"))
    assert f.mode == 0o600 and f.user == "root"
    secret = yaml.safe_load(host.check_output(f"cat {CONF}/shop-secret.yaml"))
    assert secret["kind"] == "Secret"
    assert set(secret["stringData"]) == {"DATABASE_URL", "REDIS_URL", "JWT_SECRET",
                                         "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}


def test_tls_secret_is_root_only_and_holds_the_controllers_files(host):
    f = host.file(str(CONF / "tls-secret.yaml"))
    assert f.mode == 0o600 and f.user == "root"
    secret = yaml.safe_load(host.check_output(f"cat {CONF}/tls-secret.yaml"))
    assert (secret["kind"], secret["type"]) == ("Secret", "kubernetes.io/tls")
    # the gateway's own namespace: credentialName is looked up there
    assert secret["metadata"] == {"name": "shop-tls", "namespace": "istio-system"}
    standins = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "standins"
    for key, name in (("tls.crt", "gateway.crt"), ("tls.key", "gateway.key")):
        assert base64.b64decode(secret["data"][key]) == (standins / name).read_bytes()


def test_shop_gateway_names_the_tls_secret(host):
    docs = list(yaml.safe_load_all(host.file(str(CONF / "shop.yaml")).content_string))
    [gateway] = [d for d in docs if d["kind"] == "Gateway"]
    https = [s for s in gateway["spec"]["servers"] if s["port"]["number"] == 443]
    assert [s["tls"]["credentialName"] for s in https] == ["shop-tls"]


def test_k3s_installed_but_not_started(host):
    assert host.file("/etc/rancher/k3s/config.yaml").exists
    assert host.service("k3s").is_enabled and not host.service("k3s").is_running


def test_stage4_play_passes_check_mode_with_no_change(host):
    """`ansible-playbook --check` of the stage-4 play on the converged lab host."""
    if host.backend.get_hostname() != "mol-stage4":
        pytest.skip("runs once, from the controller")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"],
                                                       "ansible.cfg"),
               ANSIBLE_ROLES_PATH=str(REPO / "roles"))
    scenario = pathlib.Path(__file__).resolve().parents[1]
    run = subprocess.run(
        ["ansible-playbook", "--check", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
         str(scenario / "converge.yml")], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    recap = [line for line in run.stdout.splitlines() if line.startswith("mol-stage4 ")][-1]
    assert "changed=0" in recap and "failed=0" in recap, recap
