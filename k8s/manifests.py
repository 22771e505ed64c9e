"""The shop's stage-4 objects as plain dicts: one function, used by Pulumi and by Ansible.

``shop_objects(default_values())`` returns the Namespace, ConfigMap, Deployment, the reaper's
CronJob, Service, HPA, PodDisruptionBudget, the Istio Gateway, VirtualService and
DestinationRule, and who may reach whom (``k8s.access``: STRICT mTLS, the AuthorizationPolicy,
NetworkPolicies). The Deployment's pods and the reaper's share one image, environment and
security context (the helpers below build them once). The app's
settings come from ``app/settings.py`` (the only place they are defined); the secret ones are
referenced from a Secret whose data is supplied at deploy time (``secret_object``), never
stored in the repo. Mesh limits are derived from the pool settings in ``k8s.mesh``.
"""
from __future__ import annotations

import copy

from capacity.shapes import shape
from k8s import access, mesh
from k8s.app_env import (MIGRATE_COMMAND, MIGRATOR_SECRETS, REAPER_COMMAND,
                         REAPER_DEADLINE_SECONDS, REAPER_INTERVAL_MINUTES, SECRET_SETTINGS,
                         app_config)
from k8s.naming import labels as _labels, meta as _meta, part_of, selector as _selector

def default_values() -> dict:
    """Every knob of the stage-4 workload, with the lab's defaults (a values file overrides).
    Pods, gunicorn shape and pool size are stage 4's row of capacity/shapes.py."""
    stage4 = shape("4")
    return {
        "name": "shop",
        "namespace": "shop",
        # built and imported into k3s's containerd by the stage-3 image build (air-gapped)
        "image": "localhost/shoplab/shop:0.1.0",
        "image_pull_policy": "IfNotPresent",
        "replicas": stage4.app_copies,
        "max_replicas": stage4.app_max_copies,   # HPA ceiling; the mesh and DB budgets use it
        "target_cpu_utilization": 70,
        "gunicorn": {"workers": stage4.workers, "threads": stage4.threads},
        "port": 8000,                    # gunicorn inside the pod
        "service_port": 80,              # ClusterIP only: the way in is the ingress gateway
        "run_as_user": 10001,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                      "limits": {"cpu": "1", "memory": "512Mi"}},
        # one Python process for one pass (the CronJob's pod)
        "reaper_resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                             "limits": {"cpu": "500m", "memory": "256Mi"}},
        # overrides of app/settings.py defaults, by env name. One proxy in front of the pods
        # appends the client's address to X-Forwarded-For: the Istio ingress gateway, i.e. the
        # istio role's istio_ingress_num_trusted_proxies (0) + 1 (roles/README.md, "Client
        # address"). The gateway sends every path but /metrics to the pods: the app serves the
        # storefront too.
        "settings": {"TRUSTED_PROXY_HOPS": 1, "DB_POOL_MAX_SIZE": stage4.pool_max_size,
                     "SERVE_STOREFRONT": True},
        "secret_name": "shop-secrets",
        "gateway_hosts": ["*"],
        # the Gateway's certificate: a kubernetes.io/tls Secret in the ingress gateway's
        # namespace (istio-system), created by the istio role (istio_tls_secret_name)
        "tls_secret_name": "shop-tls",
        "ingress_selector": {"istio": "ingressgateway"},
        # where istiod and the ingress gateway run (the istio role), and the gateway's service
        # account: its mTLS identity is the only caller the shop's AuthorizationPolicy admits
        "istio_namespace": "istio-system",
        "ingress_service_account": "istio-ingressgateway-service-account",
        # what the shop's pods may connect to beside DNS and istiod (k8s/access.py): the data
        # tier (PostgreSQL, Redis; the stack narrows the CIDRs to its VPC) and HTTPS (Stripe)
        "egress": {"data_cidrs": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                   "data_ports": [5432, 6379], "https_cidrs": ["0.0.0.0/0"]},
        # recycle keep-alive connections so new pods (HPA scale-up) get a share of the traffic
        "max_requests_per_connection": 1000,
    }


def merge_values(overrides: dict | None) -> dict:
    """default_values() with ``overrides`` merged in (nested dicts merged key by key)."""
    def merge(base: dict, extra: dict) -> dict:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = copy.deepcopy(value)
        return base
    return merge(default_values(), overrides or {})


def namespace(values: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": values["namespace"],
                         "labels": {"istio-injection": "enabled", **part_of(values)}}}


def config_map(values: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(values, f"{values['name']}-config"),
            "data": app_config(values)}


def secret_object(values: dict, string_data: dict[str, str]) -> dict:
    """The Secret the Deployment reads, built at deploy time from vaulted/Pulumi-secret data:
    every app secret (required) and the migrator's (k8s.app_env.MIGRATOR_SECRETS) if given."""
    missing = [k for k in SECRET_SETTINGS if not string_data.get(k)]
    if missing:
        raise ValueError(f"secret data lacks {', '.join(missing)}")
    keys = SECRET_SETTINGS + tuple(k for k in MIGRATOR_SECRETS if string_data.get(k))
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": _meta(values, values["secret_name"]),
            "stringData": {k: string_data[k] for k in keys}}


def _env_sources(values: dict, migrator: bool = False) -> dict:
    """The app's settings in a container: the ConfigMap whole, each secret from the Secret;
    for the migrations also the owner's URL, when the Secret has it."""
    def ref(key: str, **optional) -> dict:
        return {"name": key, "valueFrom": {"secretKeyRef": {
            "name": values["secret_name"], "key": key, **optional}}}
    return {
        "envFrom": [{"configMapRef": {"name": f"{values['name']}-config"}}],
        "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
        + [ref(key) for key in SECRET_SETTINGS]
        + ([ref(key, optional=True) for key in MIGRATOR_SECRETS] if migrator else []),
    }


def _container_security() -> dict:
    return {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}


def _pod_security(values: dict) -> dict:
    uid = values["run_as_user"]
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"}}


# /tmp is the only writable place (read-only root filesystem)
_TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}
_TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}


def _container(values: dict) -> dict:
    settings = app_config(values)
    gunicorn = values["gunicorn"]

    def probe(path: str, **timing) -> dict:
        return {"httpGet": {"path": path, "port": "http"}, "timeoutSeconds": 2, **timing}
    return {
        "name": values["name"],
        "image": values["image"],
        "imagePullPolicy": values["image_pull_policy"],
        "command": ["gunicorn"],
        "args": ["app.wsgi:application", "-c", "python:app.gunicorn_conf", "--bind", f"0.0.0.0:{values['port']}",
                 "--workers", str(gunicorn["workers"]), "--threads", str(gunicorn["threads"]),
                 # heartbeat files on the emptyDir: the root filesystem is read-only
                 "--worker-tmp-dir", "/tmp", "--access-logfile", "-"],
        "ports": [{"name": "http", "containerPort": values["port"], "protocol": "TCP"}],
        **_env_sources(values),
        "resources": copy.deepcopy(values["resources"]),
        # gives a slow first import (cold page cache) time before liveness may kill the pod
        "startupProbe": probe("/healthz", periodSeconds=2, failureThreshold=30),
        # /healthz touches no dependency: a DB outage must not restart every pod
        "livenessProbe": probe("/healthz", periodSeconds=10, failureThreshold=3),
        # /readyz caches its answer READINESS_INTERVAL seconds: probing faster only re-reads it
        "readinessProbe": probe(
            "/readyz", periodSeconds=max(1, round(float(settings["READINESS_INTERVAL"]))),
            failureThreshold=2),
        # the endpoint is removed from Services and Envoy before gunicorn gets SIGTERM
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "securityContext": _container_security(),
        "volumeMounts": [dict(_TMP_MOUNT)],
    }


def _command_container(values: dict, name: str, command: tuple, migrator: bool = False) -> dict:
    """One short Python process of the shop's image with the shop's settings and hardening
    (``reaper_resources``): the reaper's pass, the migrations."""
    return {
        "name": name,
        "image": values["image"],
        "imagePullPolicy": values["image_pull_policy"],
        "command": list(command),
        **_env_sources(values, migrator),
        "resources": copy.deepcopy(values["reaper_resources"]),
        "securityContext": _container_security(),
        "volumeMounts": [dict(_TMP_MOUNT)],
    }


def _migrate_container(values: dict) -> dict:
    """The migrations (k8s.app_env.MIGRATE_COMMAND) as the pod's init container: a pod of a new
    version serves only after they exited 0; pods started together apply each file once (the
    migrator's advisory lock), and it is a no-op when the schema is current. Istio 1.27 injects
    its proxy as a native sidecar on Kubernetes >= 1.29 (the k3s role's v1.33): the proxy is
    an init container started before this one, so the migrations have the pod's network. It
    alone reads the schema owner's URL (k8s.app_env.MIGRATOR_SECRETS)."""
    return _command_container(values, "migrate", MIGRATE_COMMAND, migrator=True)


def deployment(values: dict) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": _meta(values),
        "spec": {
            "replicas": values["replicas"],
            "selector": {"matchLabels": _selector(values)},
            # never below the wanted count during a rollout: surge one pod, then drain one
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": _labels(values),
                    # Istio rewrites these to its agent's merged metrics port, the one way a
                    # scraper reaches the app's /metrics under STRICT mTLS (k8s/access.py)
                    "annotations": {"prometheus.io/scrape": "true",
                                    "prometheus.io/port": str(values["port"]),
                                    "prometheus.io/path": "/metrics"}},
                "spec": {
                    "automountServiceAccountToken": False,   # the shop never calls the API
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": _pod_security(values),
                    # spread over nodes when there are several; stage 4 has one, so only prefer
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": _selector(values)}}],
                    "initContainers": [_migrate_container(values)],
                    "containers": [_container(values)],
                    "volumes": [copy.deepcopy(_TMP_VOLUME)],
                },
            },
        },
    }


def reaper_schedule(minutes: int = REAPER_INTERVAL_MINUTES) -> str:
    """The cron expression for "every ``minutes`` minutes" (1..59, from the top of the hour)."""
    if not 1 <= minutes <= 59:
        raise ValueError(f"reaper interval {minutes} min: a cron minute field takes 1..59")
    return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"


def reaper_cron_job(values: dict) -> dict:
    """The reaper (k8s.app_env.REAPER_COMMAND) as a CronJob: the Deployment's image, settings
    and security context, a pod of its own labels (no Service, PDB or HPA selects it)."""
    name = f"{values['name']}-reaper"
    labels = {**_labels(values), "app.kubernetes.io/name": name, "app": name,
              "app.kubernetes.io/component": "reaper"}
    return {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {**_meta(values, name), "labels": dict(labels)},
        "spec": {
            "schedule": reaper_schedule(),
            # a pass is safe beside another, but a slow one should not pile up pods behind it
            "concurrencyPolicy": "Forbid",
            # a run not started within 30 s of its minute is skipped (the next minute's
            # covers it); without a deadline, >100 missed runs (an outage of the controller)
            # would stop the schedule altogether
            "startingDeadlineSeconds": 30,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,      # kept with their pod's log for a look
            "jobTemplate": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    # no retry inside a run: the next run is a minute away
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": REAPER_DEADLINE_SECONDS,
                    "template": {
                        # No Envoy sidecar (the namespace injects one into every pod): a pod
                        # completes only when all its containers exit, and a classic sidecar
                        # never does, so every Job would hang until activeDeadlineSeconds.
                        # Nothing is lost: the reaper receives no traffic, and what it calls
                        # (PostgreSQL and Redis, managed services outside the cluster, and
                        # Stripe) is outside the mesh, so the namespace's STRICT mTLS (which
                        # governs connections into meshed pods, k8s/access.py) never applies
                        # to it; the egress NetworkPolicy does. The label is the current form
                        # (the same-named annotation is deprecated); it works whether or not
                        # Istio injects native sidecars.
                        "metadata": {"labels": {**labels, "sidecar.istio.io/inject": "false"}},
                        "spec": {
                            "restartPolicy": "Never",
                            "automountServiceAccountToken": False,
                            "securityContext": _pod_security(values),
                            "containers": [
                                _command_container(values, "reaper", REAPER_COMMAND)],
                            "volumes": [copy.deepcopy(_TMP_VOLUME)],
                        },
                    },
                },
            },
        },
    }


def service(values: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(values),
            "spec": {"type": "ClusterIP",
                     "selector": _selector(values),
                     # a port named http-* / appProtocol http lets Istio route it as HTTP
                     "ports": [{"name": "http", "appProtocol": "http", "protocol": "TCP",
                                "port": values["service_port"], "targetPort": "http"}]}}


def autoscaler(values: dict) -> dict:
    if not 1 <= values["replicas"] <= values["max_replicas"]:
        raise ValueError(f"replicas {values['replicas']} must be 1..max_replicas "
                         f"{values['max_replicas']}")
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(values),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": values["name"]},
                     "minReplicas": values["replicas"], "maxReplicas": values["max_replicas"],
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {
                             "type": "Utilization",
                             "averageUtilization": values["target_cpu_utilization"]}}}],
                     # a load test's ramp-down must not flap the pod count
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}}}


def disruption_budget(values: dict) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": _meta(values),
            "spec": {"minAvailable": 1,
                     "selector": {"matchLabels": _selector(values)}}}


def shop_objects(values: dict) -> list[dict]:
    """Every object of the shop on k3s + Istio, in apply order (the Secret is not included)."""
    return [namespace(values), config_map(values), deployment(values),
            reaper_cron_job(values), service(values), autoscaler(values),
            disruption_budget(values),
            mesh.gateway(values), mesh.virtual_service(values),
            mesh.destination_rule(values), *access.access_objects(values)]
