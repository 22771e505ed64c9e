"""Fixtures shared by the load-test tests."""
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def lab_ca(tmp_path_factory):
    """(CA file, server SSLContext with the edge's certificate) from ansible/lab-ca.yml, the
    playbook make lab runs, in a directory of the test's own."""
    d = tmp_path_factory.mktemp("lab-ca")
    subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"),
                    str(ROOT / "ansible" / "lab-ca.yml"), "-e", f"lab_ca_dir={d}"],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(d / "shop.crt", d / "shop.key")
    return d / "ca.crt", server
