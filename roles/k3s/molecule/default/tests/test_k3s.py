"""State of the host after converge + the upgrade in side_effect.yml (k3s not started)."""
import hashlib
import os

import yaml

NEW_VERSION = "v1.34.1+k3s1"


def test_binary_is_the_upgraded_version(host):
    binary = host.file("/usr/local/bin/k3s")
    assert binary.mode == 0o755 and binary.user == "root"
    assert host.check_output("/usr/local/bin/k3s") == \
        f"k3s version {NEW_VERSION} (molecule stand-in, not k3s)"
    for tool in ("kubectl", "crictl", "ctr"):
        assert host.file(f"/usr/local/bin/{tool}").linked_to == "/usr/local/bin/k3s"


def test_each_version_is_staged_with_its_checksum_verified(host):
    for version in ("v1.33.5+k3s1", NEW_VERSION):
        assert host.file(f"/var/cache/shoplab/k3s/{version}/k3s").exists


def test_airgap_images_are_where_k3s_imports_them(host):
    images = host.file("/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst")
    assert images.exists
    assert images.sha256sum == host.file("/srv/k3s-airgap-images-amd64.tar.zst").sha256sum


def test_config_from_variables(host):
    f = host.file("/etc/rancher/k3s/config.yaml")
    assert f.mode == 0o600 and f.user == "root"
    assert f.content_string.startswith("# Ansible managed")
    config = yaml.safe_load(f.content_string)
    assert config["disable"] == ["traefik"]
    assert config["node-name"] == "mol-k3s"
    assert config["tls-san"] == ["k3s.molecule.test"]
    assert config["kubelet-arg"] == ["max-pods=60"]
    assert config["token"] == "molecule-only-token"
    assert config["write-kubeconfig-mode"] == "0600"
    assert "server" not in config          # a server does not join another one


def test_unit_is_valid_and_enabled_but_not_started(host):
    unit = host.file("/etc/systemd/system/k3s.service").content_string
    assert "ExecStart=/usr/local/bin/k3s server --config /etc/rancher/k3s/config.yaml" in unit
    assert "Type=notify" in unit and "Delegate=yes" in unit
    assert NEW_VERSION in unit
    # systemd itself parses the unit and checks ExecStart is an executable file
    verify = host.run("systemd-analyze verify /etc/systemd/system/k3s.service")
    assert verify.rc == 0, verify.stderr
    assert host.service("k3s").is_enabled
    assert not host.service("k3s").is_running      # k3s_start: false


def test_kernel_prerequisites_written(host):
    modules = host.file("/etc/modules-load.d/k3s.conf").content_string.split()
    assert {"overlay", "br_netfilter"} <= set(modules)
    sysctl = host.file("/etc/sysctl.d/90-k3s.conf").content_string
    for key in ("net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1",
                "net.bridge.bridge-nf-call-ip6tables=1"):
        assert key in sysctl.replace(" ", "")


def test_kubeconfig_exported_with_the_server_address():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "kubeconfig")
    assert os.stat(path).st_mode & 0o777 == 0o600
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    assert config["clusters"][0]["cluster"]["server"] == "https://mol-k3s:6443"


def test_standin_checksums_were_really_different():
    """The upgrade only proves something if the two stand-ins differ."""
    d = "/tmp/shoplab-k3s-standins"
    sums = {hashlib.sha256(open(f"{d}/k3s-{v}", "rb").read()).hexdigest()
            for v in ("v1.33.5+k3s1", NEW_VERSION)}
    assert len(sums) == 2
