"""The shop's Kubernetes and Istio objects for stage 4, rendered once for Ansible and Pulumi.

``k8s.manifests.shop_objects(values)`` is the single source of truth: the Pulumi stage-4
component creates exactly these dicts, and ``python -m k8s.render`` writes them as YAML for
the Ansible ``istio`` role to apply.
"""
