"""The shop's stage-4 objects: schema-valid for the k3s version the role installs, Istio CRs
valid against Istio's schemas, and the fields that decide behaviour set as intended.

The validators are shown to reject broken objects too, so a pass means something.
Istio schemas: npm @kubernetes-models/istio in tests/k8s (installed by `make test-k8s`).
"""
from __future__ import annotations

import copy
import json
import pathlib
import subprocess

import kubernetes_validate
import pytest
import yaml

from app.settings import Settings
from edge import tls
from k8s import mesh
from k8s.app_env import (MIGRATE_COMMAND, MIGRATOR_SECRETS, REAPER_COMMAND,
                         REAPER_DEADLINE_SECONDS, REAPER_INTERVAL_MINUTES)
from k8s.manifests import (SECRET_SETTINGS, default_values, merge_values, reaper_schedule,
                           secret_object, shop_objects)
from k8s.render import main as render_main

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
ISTIO_VALIDATOR = HERE / "validate-istio.mjs"


def k3s_kubernetes_version() -> str:
    """The Kubernetes minor of the k3s the role installs by default (roles/k3s/defaults)."""
    defaults = yaml.safe_load((REPO / "roles/k3s/defaults/main.yml").read_text())
    major, minor = defaults["k3s_version"].lstrip("v").split(".")[:2]
    return f"{major}.{minor}.0"


K8S_VERSION = k3s_kubernetes_version()


def is_istio(obj: dict) -> bool:
    return ".istio.io/" in obj["apiVersion"]


def validate_istio(objects: list[dict]) -> subprocess.CompletedProcess:
    if not (HERE / "node_modules/@kubernetes-models/istio").is_dir():
        pytest.fail("node_modules missing: run `make test-k8s` (it runs npm ci in tests/k8s)")
    return subprocess.run(["node", str(ISTIO_VALIDATOR)], input=json.dumps(objects),
                          capture_output=True, text=True, timeout=60, cwd=HERE)


def by_kind(objects: list[dict]) -> dict[str, dict]:
    return {o["kind"]: o for o in objects}


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return shop_objects(default_values())


@pytest.fixture(scope="module")
def kinds(objects) -> dict[str, dict]:
    return by_kind(objects)


# --- schemas -------------------------------------------------------------------------------

def test_every_kind_is_there(objects):
    assert [o["kind"] for o in objects] == [
        "Namespace", "ConfigMap", "Deployment", "CronJob", "Service", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "Gateway", "VirtualService", "DestinationRule",
        "PeerAuthentication", "AuthorizationPolicy", "NetworkPolicy", "NetworkPolicy",
        "NetworkPolicy"]


@pytest.mark.parametrize("values", [default_values(),
                                    merge_values({"replicas": 3, "max_replicas": 8,
                                                  "settings": {"DB_POOL_MAX_SIZE": 4}})],
                         ids=["defaults", "overrides"])
def test_kubernetes_objects_are_valid_for_the_k3s_version(values):
    objects = [o for o in shop_objects(values) if not is_istio(o)]
    assert len(objects) == 10
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_secret_is_valid(objects):
    secret = secret_object(default_values(), {k: "x" for k in SECRET_SETTINGS})
    kubernetes_validate.validate(secret, K8S_VERSION, strict=True)


@pytest.mark.parametrize("kind, breakage", [
    ("Deployment", ("unknown field", lambda d: d["spec"]["template"]["spec"]["containers"][0]
                    .update({"livenessProbes": {}}))),
    ("Deployment", ("wrong type", lambda d: d["spec"].update({"replicas": "two"}))),
    ("Deployment", ("missing required", lambda d: d["spec"].pop("selector"))),
    ("CronJob", ("unknown field", lambda c: c["spec"]["jobTemplate"]["spec"].update(
        {"backoffLimits": 0}))),
    ("CronJob", ("wrong type", lambda c: c["spec"].update({"schedule": 1}))),
    ("CronJob", ("missing required", lambda c: c["spec"].pop("jobTemplate"))),
], ids=lambda b: b[0] if isinstance(b, tuple) else b)
def test_kubernetes_validator_rejects_a_broken_object(kinds, kind, breakage):
    broken = copy.deepcopy(kinds[kind])
    breakage[1](broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_istio_objects_are_valid(objects):
    istio = [o for o in objects if is_istio(o)]
    assert [o["kind"] for o in istio] == ["Gateway", "VirtualService", "DestinationRule",
                                          "PeerAuthentication", "AuthorizationPolicy"]
    run = validate_istio(istio)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("OK ") == 5


@pytest.mark.parametrize("kind,breakage", [
    ("DestinationRule", lambda s: s["trafficPolicy"]["loadBalancer"].update(simple="FASTEST")),
    ("DestinationRule",
     lambda s: s["trafficPolicy"]["connectionPool"]["tcp"].update(maxConnections="many")),
    ("VirtualService", lambda s: s["http"][1].update(retries={"attempts": "two"})),
    ("VirtualService", lambda s: s["http"][0]["directResponse"].update(status="gone")),
    ("AuthorizationPolicy", lambda s: s.update(action="PERMIT")),
    ("Gateway", lambda s: s["servers"][0]["port"].update(number="eighty")),
    ("Gateway", lambda s: s["servers"][1]["tls"].update(minProtocolVersion="TLSV1_9")),
])
def test_istio_validator_rejects_broken_objects(kinds, kind, breakage):
    broken = copy.deepcopy(kinds[kind])
    breakage(broken["spec"])
    run = validate_istio([kinds["Gateway"], broken])
    assert run.returncode == 1
    assert f"FAIL {kind} shop" in run.stdout


# --- behaviour-relevant fields -------------------------------------------------------------

def container(kinds) -> dict:
    return kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def test_namespace_gets_sidecars(kinds):
    assert kinds["Namespace"]["metadata"]["labels"]["istio-injection"] == "enabled"


def test_probes_hit_the_apps_health_routes(kinds):
    c = container(kinds)
    port_names = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert port_names == {"http": 8000}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # probing faster than READINESS_INTERVAL only re-reads the app's cached answer
    assert c["readinessProbe"]["periodSeconds"] == round(Settings().readiness_interval)
    assert "0.0.0.0:8000" in c["args"] and c["args"][0] == "app.wsgi:application"


def test_runs_non_root_read_only_without_capabilities(kinds):
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container(kinds)["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in container(kinds)["volumeMounts"]}
    assert "emptyDir" in {v["name"]: v for v in pod["volumes"]}[mounts["/tmp"]]
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    assert set(container(kinds)["resources"]) == {"requests", "limits"}


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_every_setting_reaches_the_pod_exactly_once(kinds, kind):
    """Non-secret settings from the ConfigMap, secret ones from the Secret, none twice: in the
    shop's pods and in the reaper's."""
    config = kinds["ConfigMap"]["data"]
    c = container(kinds) if kind == "Deployment" else reaper_pod(kinds)["containers"][0]
    assert c["envFrom"] == [{"configMapRef": {"name": kinds["ConfigMap"]["metadata"]["name"]}}]
    from_secret = {e["name"] for e in c["env"] if "valueFrom" in e}
    assert from_secret == set(SECRET_SETTINGS)
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in c["env"] if "valueFrom" in e} == \
        {"shop-secrets"}
    assert not set(config) & set(SECRET_SETTINGS)
    assert set(config) | from_secret == {env for env, _, _ in Settings.describe()}


def test_one_proxy_appends_to_x_forwarded_for(kinds):
    # the Istio ingress gateway appends its peer; the proxies it trusts in front of it (the
    # istio role's default) append one each. The app's own default, 0, would see the gateway.
    istio = yaml.safe_load((REPO / "roles/istio/defaults/main.yml").read_text())
    assert Settings().trusted_proxy_hops == 0
    assert kinds["ConfigMap"]["data"]["TRUSTED_PROXY_HOPS"] == \
        str(istio["istio_ingress_num_trusted_proxies"] + 1) == "1"
    overridden = by_kind(shop_objects(merge_values({"settings": {"TRUSTED_PROXY_HOPS": 2}})))
    assert overridden["ConfigMap"]["data"]["TRUSTED_PROXY_HOPS"] == "2"


def test_pods_serve_the_storefront(kinds):
    # the gateway sends every path to the pods; no nginx in front of them
    assert kinds["ConfigMap"]["data"]["SERVE_STOREFRONT"] == "true"


def test_configmap_reads_back_as_the_same_settings():
    values = merge_values({"settings": {"DB_POOL_MAX_SIZE": 7, "SHOP_DEBUG": True,
                                        "DB_PREPARE_THRESHOLD": None}})
    config = by_kind(shop_objects(values))["ConfigMap"]["data"]
    secrets = {k: "x" for k in SECRET_SETTINGS}
    read = Settings.from_env({**config, **secrets})
    assert read.pool_max_size == 7 and read.debug is True and read.prepare_threshold is None
    assert read.pool_timeout == Settings().pool_timeout


def test_the_secret_holds_the_owners_url_only_when_given():
    app = {k: "x" for k in SECRET_SETTINGS}
    assert set(secret_object(default_values(), app)["stringData"]) == set(SECRET_SETTINGS)
    given = secret_object(default_values(), {**app, "MIGRATION_DATABASE_URL": "postgresql://o"})
    assert given["stringData"]["MIGRATION_DATABASE_URL"] == "postgresql://o"
    with pytest.raises(ValueError, match="not a setting"):     # never in the ConfigMap
        shop_objects(merge_values({"settings": {"MIGRATION_DATABASE_URL": "postgresql://o"}}))


def test_secret_values_cannot_go_into_the_configmap():
    with pytest.raises(ValueError, match="a secret"):
        shop_objects(merge_values({"settings": {"JWT_SECRET": "oops"}}))
    with pytest.raises(ValueError, match="not a setting"):
        shop_objects(merge_values({"settings": {"DB_POOL_MAX": 3}}))
    with pytest.raises(ValueError, match="JWT_SECRET"):
        secret_object(default_values(), {k: "x" for k in SECRET_SETTINGS if k != "JWT_SECRET"})


def test_replicas_beyond_the_autoscaler_ceiling_are_refused():
    with pytest.raises(ValueError, match="max_replicas"):
        shop_objects(merge_values({"replicas": 5}))


def routes(kinds) -> dict[str, dict]:
    return {r["name"]: r for r in kinds["VirtualService"]["spec"]["http"]}


def test_service_is_internal_and_mesh_routing_meets_it(kinds):
    port = kinds["Service"]["spec"]["ports"][0]
    # no NodePort: the one way in from outside is the ingress gateway
    assert kinds["Service"]["spec"]["type"] == "ClusterIP" and "nodePort" not in port
    assert port["targetPort"] == "http" and port["appProtocol"] == "http"
    assert kinds["Service"]["spec"]["selector"].items() <= \
        kinds["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    route = routes(kinds)["shop"]["route"][0]["destination"]
    assert route == {"host": "shop.shop.svc.cluster.local", "port": {"number": port["port"]}}
    assert kinds["DestinationRule"]["spec"]["host"] == route["host"]
    assert kinds["VirtualService"]["spec"]["gateways"] == [kinds["Gateway"]["metadata"]["name"]]


def istio_role(file: str) -> dict:
    return yaml.safe_load((REPO / "roles/istio" / file / "main.yml").read_text())


def servers(kinds) -> dict[int, dict]:
    return {s["port"]["number"]: s for s in kinds["Gateway"]["spec"]["servers"]}


def test_gateway_serves_https_with_the_edge_tls_settings(kinds):
    https = servers(kinds)[tls.HTTPS_PORT]
    assert https["port"]["protocol"] == "HTTPS" and https["hosts"] == ["*"]
    assert https["tls"] == {"mode": "SIMPLE", "credentialName": "shop-tls",
                            "minProtocolVersion": "TLSV1_2", "maxProtocolVersion": "TLSV1_3",
                            "cipherSuites": list(tls.CIPHERS_TLS12)}
    assert tls.PROTOCOLS == ("TLSv1.2", "TLSv1.3")    # what the two enum values above say


def test_gateway_http_only_redirects_to_https(kinds):
    http = servers(kinds)[tls.HTTP_PORT]
    assert http["port"]["protocol"] == "HTTP"
    assert http["tls"] == {"httpsRedirect": True}     # Istio answers 301 to the https:// URL
    assert set(servers(kinds)) == {tls.HTTP_PORT, tls.HTTPS_PORT}


def test_hsts_on_every_route_of_the_virtual_service(kinds):
    # the HTTP server redirects before routing, so these answers all go out over HTTPS
    for route in kinds["VirtualService"]["spec"]["http"]:
        assert route["headers"]["response"]["set"]["Strict-Transport-Security"] == tls.HSTS
    assert routes(kinds)["shop"]["headers"] == \
        {"response": {"set": {"Strict-Transport-Security": tls.HSTS}}}


def _matches(match: dict, path: str) -> bool:
    uri = match["uri"]
    return path == uri["exact"] if "exact" in uri else path.startswith(uri["prefix"])


@pytest.mark.parametrize("path, internal", [
    ("/metrics", True), ("/metrics/", True), ("/metrics/x", True),
    ("/metricsx", False), ("/api/products", False), ("/", False)])
def test_gateway_answers_the_internal_paths_itself(kinds, path, internal):
    """edge.tls.INTERNAL_PATHS (the app's /metrics) never reach the pods from outside: the
    first route answers them with the edge's JSON 404, as the ALB and its lab stand-in do."""
    first = kinds["VirtualService"]["spec"]["http"][0]
    assert first["name"] == "internal"
    assert any(_matches(m, path) for m in first["match"]) is internal
    assert "match" not in routes(kinds)["shop"]          # the catch-all comes after it
    assert first["directResponse"] == {"status": 404,
                                       "body": {"string": tls.INTERNAL_NOT_FOUND_BODY}}
    assert json.loads(tls.INTERNAL_NOT_FOUND_BODY)["error"]["code"] == "NOT_FOUND"
    assert first["headers"]["response"]["set"]["Content-Type"] == "application/json"


# --- who may reach whom (k8s/access.py) -------------------------------------------------------

def policies(objects) -> dict[str, dict]:
    return {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}


def test_mesh_mtls_is_strict_for_the_whole_namespace(kinds):
    peer = kinds["PeerAuthentication"]
    assert peer["metadata"] == {**peer["metadata"], "name": "default", "namespace": "shop"}
    assert peer["spec"] == {"mtls": {"mode": "STRICT"}}       # no selector: every pod


def test_only_the_ingress_gateway_may_call_the_shop_and_never_its_internal_paths(kinds):
    """The principal is the service account istioctl gives the istio role's gateway
    (``<gateway name>-service-account`` in its namespace)."""
    policy = kinds["AuthorizationPolicy"]["spec"]
    assert policy["selector"]["matchLabels"] == kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    assert policy["action"] == "ALLOW"
    [rule] = policy["rules"]
    operator = istio_role("vars")["istio_operator"]["spec"]["components"]["ingressGateways"]
    [gateway] = operator
    namespace = istio_role("vars")["istio_ingress_namespace"]
    assert rule["from"] == [{"source": {"principals": [
        f"cluster.local/ns/{namespace}/sa/{gateway['name']}-service-account"]}}]
    assert rule["to"] == [{"operation": {"notPaths": list(tls.INTERNAL_PATHS)}}]


def test_network_policies_deny_by_default_and_admit_only_istio(objects, kinds):
    spec = policies(objects)
    assert spec["shop-default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    [ingress] = spec["shop-ingress"]["ingress"]
    assert spec["shop-ingress"]["podSelector"]["matchLabels"] == \
        kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    assert ingress["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": istio_role("vars")["istio_ingress_namespace"]}}}]
    assert {p["port"] for p in ingress["ports"]} == {8000, 15020}   # the app, merged metrics
    assert container(kinds)["ports"][0]["containerPort"] == 8000


def test_egress_covers_the_app_and_the_reaper_and_only_what_they_call(objects, kinds):
    spec = policies(objects)["shop-egress"]
    selected = spec["podSelector"]["matchLabels"].items()
    assert selected <= kinds["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    assert selected <= kinds["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["metadata"][
        "labels"].items()
    allowed = {(p["protocol"], p["port"]) for rule in spec["egress"] for p in rule["ports"]}
    assert allowed == {("UDP", 53), ("TCP", 53), ("TCP", 15012), ("TCP", 5432), ("TCP", 6379),
                       ("TCP", 443)}


def test_egress_to_the_data_tier_follows_the_values():
    values = merge_values({"egress": {"data_cidrs": ["10.20.0.0/16"], "data_ports": [5433]}})
    [data] = [r for r in policies(shop_objects(values))["shop-egress"]["egress"]
              if r["ports"] == [{"protocol": "TCP", "port": 5433}]]
    assert data["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]


def test_prometheus_scrapes_the_app_through_istios_merged_metrics(kinds):
    annotations = kinds["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": "8000",
                           "prometheus.io/path": "/metrics"}


def test_gateway_meets_the_istio_roles_gateway_service_and_tls_secret(kinds):
    """The ports and the Secret live in the istio role (Ansible): the gateway Service listens
    where the Gateway's servers do, and the role creates the Secret the Gateway names."""
    ports = {p["port"] for p in istio_role("vars")["istio_gateway_ports"]}
    assert ports == set(servers(kinds)) == {80, 443}
    assert istio_role("defaults")["istio_tls_secret_name"] == \
        servers(kinds)[tls.HTTPS_PORT]["tls"]["credentialName"]


def test_gateway_hosts_and_secret_follow_the_values():
    gateway = by_kind(shop_objects(merge_values({"gateway_hosts": ["shop.example.org"],
                                                 "tls_secret_name": "shop-example-tls"})))
    assert [s["hosts"] for s in gateway["Gateway"]["spec"]["servers"]] == \
        [["shop.example.org"]] * 2
    assert servers(gateway)[443]["tls"]["credentialName"] == "shop-example-tls"


def test_autoscaling_and_disruption_budget(kinds):
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == kinds["Deployment"]["metadata"]["name"]
    assert hpa["minReplicas"] == kinds["Deployment"]["spec"]["replicas"] == 2
    assert hpa["maxReplicas"] > hpa["minReplicas"]
    pdb = kinds["PodDisruptionBudget"]["spec"]
    assert 0 < pdb["minAvailable"] < hpa["minReplicas"]   # a drain can always proceed
    assert kinds["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("overrides", [{}, {"max_replicas": 6, "gunicorn": {"workers": 3},
                                            "settings": {"DB_POOL_MAX_SIZE": 4,
                                                         "DB_POOL_MAX_WAITING": 10}}])
def test_mesh_limits_follow_the_pool_settings(overrides):
    values = merge_values(overrides)
    pool = by_kind(shop_objects(values))["DestinationRule"]["spec"]["trafficPolicy"]["connectionPool"]
    settings = Settings.from_env({k: str(v) for k, v in values["settings"].items()})
    processes = values["max_replicas"] * values["gunicorn"]["workers"]
    assert pool["tcp"]["maxConnections"] == processes * settings.pool_max_size
    assert pool["http"]["http2MaxRequests"] == processes * settings.pool_max_size
    assert pool["http"]["http1MaxPendingRequests"] == processes * settings.pool_max_waiting
    if overrides:
        assert pool["tcp"]["maxConnections"] == 6 * 3 * 4


def test_timeouts_let_the_app_answer_first_and_retries_stay_safe(kinds):
    s = Settings()
    http = routes(kinds)["shop"]
    timeout = int(http["timeout"].rstrip("s"))
    assert timeout > s.pool_timeout + s.statement_timeout_ms / 1000
    assert timeout == mesh.request_timeout_seconds(default_values())
    # no 5xx/reset retries: a POST that reached the app must not be replayed
    assert set(http["retries"]["retryOn"].split(",")) == {"connect-failure", "refused-stream"}
    outlier = kinds["DestinationRule"]["spec"]["trafficPolicy"]["outlierDetection"]
    assert outlier["maxEjectionPercent"] <= 50


# --- the reaper's CronJob ------------------------------------------------------------------

def reaper_pod(kinds) -> dict:
    return kinds["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_reaper_runs_every_minute_one_at_a_time_within_deadlines(kinds):
    spec = kinds["CronJob"]["spec"]
    assert kinds["CronJob"]["metadata"]["name"] == "shop-reaper"
    assert spec["schedule"] == "* * * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["startingDeadlineSeconds"] < 60          # a late run gives way to the next
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] <= 1
    assert job["activeDeadlineSeconds"] == REAPER_DEADLINE_SECONDS
    assert reaper_pod(kinds)["restartPolicy"] == "Never"


def test_the_hosts_timer_runs_the_reaper_as_often_and_as_long_as_the_cronjob():
    # stages 1-2 run the reaper from the shop_app role's timer: one interval and one deadline
    defaults = yaml.safe_load((REPO / "roles/shop_app/defaults/main.yml").read_text())
    assert defaults["shop_app_reaper_interval"] == f"{REAPER_INTERVAL_MINUTES}min"
    assert defaults["shop_app_reaper_timeout"] == REAPER_DEADLINE_SECONDS


def test_reaper_schedule_for_other_intervals():
    assert reaper_schedule(5) == "*/5 * * * *"
    for minutes in (0, 60):
        with pytest.raises(ValueError, match="1..59"):
            reaper_schedule(minutes)


def test_reaper_is_the_shop_image_running_the_reaper_command(kinds):
    pod = reaper_pod(kinds)
    [c] = pod["containers"]
    assert c["command"] == list(REAPER_COMMAND) == ["python", "-m", "app.reaper"]
    assert "args" not in c
    shop = container(kinds)
    assert (c["image"], c["imagePullPolicy"]) == (shop["image"], shop["imagePullPolicy"])
    assert (c["envFrom"], c["env"]) == (shop["envFrom"], shop["env"])
    assert set(c["resources"]) == {"requests", "limits"}


def test_pods_migrate_before_they_serve(kinds):
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    [migrate] = pod["initContainers"]
    assert migrate["command"] == list(MIGRATE_COMMAND) == ["python", "-m", "sql.migrate"]
    shop = container(kinds)
    assert (migrate["image"], migrate["imagePullPolicy"]) == (shop["image"], shop["imagePullPolicy"])
    # the shop's settings, and the schema owner's URL if the Secret has it (the shop never)
    owner = [e for e in migrate["env"] if e["name"] in MIGRATOR_SECRETS]
    assert owner == [{"name": "MIGRATION_DATABASE_URL", "valueFrom": {"secretKeyRef": {
        "name": "shop-secrets", "key": "MIGRATION_DATABASE_URL", "optional": True}}}]
    assert migrate["envFrom"] == shop["envFrom"]
    assert [e for e in migrate["env"] if e not in owner] == shop["env"]
    assert migrate["securityContext"] == shop["securityContext"]
    assert migrate["volumeMounts"] == shop["volumeMounts"]
    assert set(migrate["resources"]) == {"requests", "limits"}
    assert "ports" not in migrate and "livenessProbe" not in migrate


def test_reaper_has_the_shop_pods_security_context(kinds):
    pod, shop_pod = reaper_pod(kinds), kinds["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"] == shop_pod["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"] == container(kinds)["securityContext"]
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert "emptyDir" in {v["name"]: v for v in pod["volumes"]}[mounts["/tmp"]]


def test_reaper_pods_have_no_sidecar_in_a_namespace_that_injects_one(kinds):
    # a classic Envoy sidecar never exits, so the Job would never complete
    assert kinds["Namespace"]["metadata"]["labels"]["istio-injection"] == "enabled"
    template = kinds["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]
    assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"


def test_reaper_pods_are_selected_by_nothing_of_the_shops(kinds):
    """The Service must not send requests to a reaper pod, nor the PDB count it."""
    pod_labels = kinds["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    selectors = [kinds["Service"]["spec"]["selector"],
                 kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
                 kinds["Deployment"]["spec"]["selector"]["matchLabels"]]
    for selector in selectors:
        assert not selector.items() <= pod_labels.items(), selector


# --- rendering -----------------------------------------------------------------------------

def test_render_cli_merges_a_values_file(tmp_path, capsys):
    values = tmp_path / "values.yml"
    values.write_text("replicas: 3\nsettings:\n  DB_POOL_MAX_SIZE: 5\n")
    assert render_main(["--values", str(values)]) == 0
    out = capsys.readouterr().out
    assert "&id" not in out and "*id" not in out          # no YAML aliases for kubectl
    docs = list(yaml.safe_load_all(out))
    assert docs == shop_objects(merge_values({"replicas": 3,
                                              "settings": {"DB_POOL_MAX_SIZE": 5}}))
    assert by_kind(docs)["Deployment"]["spec"]["replicas"] == 3
    assert by_kind(docs)["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"] == \
        default_values()["image"]


def test_render_module_runs_as_documented():
    run = subprocess.run(["python", "-m", "k8s.render"], capture_output=True, text=True,
                         cwd=REPO, timeout=60, check=True)
    assert list(yaml.safe_load_all(run.stdout)) == shop_objects(default_values())
