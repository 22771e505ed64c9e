"""Names and labels shared by every object of the shop."""
from __future__ import annotations


def part_of(values: dict) -> dict:
    """The label every pod of the shop carries, the app's and the reaper's."""
    return {"app.kubernetes.io/part-of": "shoplab"}


def labels(values: dict) -> dict:
    # `app` and `version` are the labels Istio's telemetry and Kiali group workloads by
    return {"app.kubernetes.io/name": values["name"], **part_of(values),
            "app": values["name"], "version": "v1"}


def selector(values: dict) -> dict:
    return {"app.kubernetes.io/name": values["name"]}


def meta(values: dict, name: str | None = None) -> dict:
    return {"name": name or values["name"], "namespace": values["namespace"],
            "labels": labels(values)}


def service_host(values: dict) -> str:
    """The Service's cluster DNS name, which the VirtualService and DestinationRule target."""
    return f"{values['name']}.{values['namespace']}.svc.cluster.local"
