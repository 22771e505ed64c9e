"""ShopWorkload: the shop's Kubernetes and Istio objects on k3s, through a provider built
from the cluster's kubeconfig.

The objects are not described here: ``k8s.manifests.shop_objects`` is the one definition,
shared with the Ansible istio role (``python -m k8s.render``). This component only turns each
dict into the matching pulumi-kubernetes resource and adds the Secret, whose data are
Pulumi secrets. On AWS these objects are this component's alone (the aws-stage4 inventory keeps
ansible/stage4.yml off them); the cluster under them, the Istio ingress gateway and the TLS
Secret its Gateway names included, is the Ansible roles'."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from k8s.app_env import SECRET_SETTINGS
from k8s.manifests import secret_object, shop_objects

# Built-in kinds get their typed resource (type tokens the provider knows); anything else
# (the Istio networking objects) is a CustomResource.
_TYPED = {
    ("v1", "Namespace"): kubernetes.core.v1.Namespace,
    ("v1", "ConfigMap"): kubernetes.core.v1.ConfigMap,
    ("v1", "Secret"): kubernetes.core.v1.Secret,
    ("v1", "Service"): kubernetes.core.v1.Service,
    ("apps/v1", "Deployment"): kubernetes.apps.v1.Deployment,
    ("batch/v1", "CronJob"): kubernetes.batch.v1.CronJob,
    ("autoscaling/v2", "HorizontalPodAutoscaler"):
        kubernetes.autoscaling.v2.HorizontalPodAutoscaler,
    ("policy/v1", "PodDisruptionBudget"): kubernetes.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): kubernetes.networking.v1.NetworkPolicy,
}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def create_object(obj: dict, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """One pulumi-kubernetes resource for one object dict, named kind-namespace-name."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    meta = obj["metadata"]
    name = "-".join(p for p in (kind.lower(), meta.get("namespace"), meta["name"]) if p)
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    cls = _TYPED.get((api_version, kind))
    if cls is None:
        return kubernetes.apiextensions.CustomResource(
            name, api_version=api_version, kind=kind, metadata=body.pop("metadata"),
            spec=body.pop("spec", None), opts=opts)
    return cls(name, opts=opts, **{_snake(k): v for k, v in body.items()})


@dataclass
class ShopWorkloadArgs:
    values: dict                                 # k8s.manifests.merge_values(...) result
    kubeconfig: pulumi.Input[str]                # secret
    secret_data: dict[str, pulumi.Input[str]]    # one entry per k8s.app_env.SECRET_SETTINGS


class ShopWorkload(pulumi.ComponentResource):
    def __init__(self, name: str, args: ShopWorkloadArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("shoplab:k8s:ShopWorkload", name, None, opts)
        missing = sorted(set(SECRET_SETTINGS) - set(args.secret_data))
        if missing:
            raise ValueError(f"secret_data lacks {', '.join(missing)}")
        self.provider = kubernetes.Provider(f"{name}-k3s", kubeconfig=args.kubeconfig,
                                            opts=pulumi.ResourceOptions(parent=self))
        objects = shop_objects(args.values)
        namespace_obj, rest = objects[0], objects[1:]
        if namespace_obj["kind"] != "Namespace":
            raise ValueError("shop_objects must start with the Namespace")
        base = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.namespace = create_object(namespace_obj, base)
        in_namespace = pulumi.ResourceOptions.merge(
            base, pulumi.ResourceOptions(depends_on=[self.namespace]))
        secret = pulumi.Output.all(**args.secret_data).apply(
            lambda data: secret_object(args.values, data))
        self.secret = kubernetes.core.v1.Secret(
            f"secret-{args.values['namespace']}-{args.values['secret_name']}",
            metadata=pulumi.Output.unsecret(secret["metadata"]), type="Opaque",
            string_data=pulumi.Output.secret(secret["stringData"]), opts=in_namespace)
        self.resources = [self.namespace, self.secret]
        for obj in rest:
            extra = pulumi.ResourceOptions()
            if obj["kind"] == "Deployment":
                # the HPA owns the replica count once the Deployment exists
                extra = pulumi.ResourceOptions(ignore_changes=["spec.replicas"],
                                               depends_on=[self.namespace, self.secret])
            elif obj["kind"] == "CronJob":
                # its pods read the Secret too: no run before it exists
                extra = pulumi.ResourceOptions(depends_on=[self.namespace, self.secret])
            self.resources.append(create_object(obj, pulumi.ResourceOptions.merge(in_namespace,
                                                                                  extra)))
        self.namespace_name = args.values["namespace"]
        self.register_outputs({"namespace": self.namespace_name,
                               "objects": [f"{o['kind']}/{o['metadata']['name']}"
                                           for o in objects]})
