"""Fixtures shared by the load-test tests."""
import ssl

import pytest

from edge import lab


@pytest.fixture(scope="session")
def lab_ca(tmp_path_factory):
    """(CA file, server SSLContext with the edge's certificate) of a lab CA of the test's own
    (ansible/lab-ca.yml, the playbook make lab runs)."""
    files = lab.make_ca(tmp_path_factory.mktemp("lab-ca"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(files["cert"], files["key"])
    return files["ca"], server
