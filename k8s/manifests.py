"""The shop's stage-4 objects as plain dicts: one function, used by Pulumi and by Ansible.

``shop_objects(default_values())`` returns the Namespace, ConfigMap, Deployment, Service, HPA,
PodDisruptionBudget and the Istio Gateway, VirtualService and DestinationRule. The app's
settings come from ``app/settings.py`` (the only place they are defined); the secret ones are
referenced from a Secret whose data is supplied at deploy time (``secret_object``), never
stored in the repo. Mesh limits are derived from the pool settings in ``k8s.mesh``.
"""
from __future__ import annotations

import copy

from k8s import mesh
from k8s.app_env import SECRET_SETTINGS, app_config
from k8s.naming import labels as _labels, meta as _meta, selector as _selector

def default_values() -> dict:
    """Every knob of the stage-4 workload, with the lab's defaults (a values file overrides)."""
    return {
        "name": "shop",
        "namespace": "shop",
        # built and imported into k3s's containerd by the stage-3 image build (air-gapped)
        "image": "localhost/shoplab/shop:0.1.0",
        "image_pull_policy": "IfNotPresent",
        "replicas": 2,
        "max_replicas": 4,               # HPA ceiling; the mesh and DB budgets are sized for it
        "target_cpu_utilization": 70,
        "gunicorn": {"workers": 2, "threads": 4},
        "port": 8000,                    # gunicorn inside the pod
        "service_port": 80,
        "node_port": 30080,              # the reference's NodePort, kept for direct access
        "run_as_user": 10001,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                      "limits": {"cpu": "1", "memory": "512Mi"}},
        "settings": {},                  # overrides of app/settings.py defaults, by env name
        "secret_name": "shop-secrets",
        "gateway_hosts": ["*"],
        "ingress_selector": {"istio": "ingressgateway"},
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
                         "labels": {"istio-injection": "enabled",
                                    "app.kubernetes.io/part-of": "shoplab"}}}


def config_map(values: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(values, f"{values['name']}-config"),
            "data": app_config(values)}


def secret_object(values: dict, string_data: dict[str, str]) -> dict:
    """The Secret the Deployment reads, built at deploy time from vaulted/Pulumi-secret data."""
    missing = [k for k in SECRET_SETTINGS if not string_data.get(k)]
    if missing:
        raise ValueError(f"secret data lacks {', '.join(missing)}")
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": _meta(values, values["secret_name"]),
            "stringData": {k: string_data[k] for k in SECRET_SETTINGS}}


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
        "envFrom": [{"configMapRef": {"name": f"{values['name']}-config"}}],
        "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}] + [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": values["secret_name"],
                                                          "key": key}}}
            for key in SECRET_SETTINGS],
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
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def deployment(values: dict) -> dict:
    uid = values["run_as_user"]
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
                "metadata": {"labels": _labels(values)},
                "spec": {
                    "automountServiceAccountToken": False,   # the shop never calls the API
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": uid,
                                        "runAsGroup": uid, "fsGroup": uid,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    # spread over nodes when there are several; stage 4 has one, so only prefer
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": _selector(values)}}],
                    "containers": [_container(values)],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def service(values: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(values),
            "spec": {"type": "NodePort",
                     "selector": _selector(values),
                     # a port named http-* / appProtocol http lets Istio route it as HTTP
                     "ports": [{"name": "http", "appProtocol": "http", "protocol": "TCP",
                                "port": values["service_port"], "targetPort": "http",
                                "nodePort": values["node_port"]}]}}


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
    return [namespace(values), config_map(values), deployment(values), service(values),
            autoscaler(values), disruption_budget(values),
            mesh.gateway(values), mesh.virtual_service(values),
            mesh.destination_rule(values)]
