"""Capacity planning shared by every deployment layer (Ansible, Pulumi, the load test's
advisor): arithmetic about hosts, workers and connections. The app never imports it."""
