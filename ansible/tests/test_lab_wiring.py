"""The lab inventories wired as their AWS stages, as site.yml's tasks see them (templated on the
controller, no host reached): lab stage 3's ALB stand-in sends to the tasks' gunicorn on the
target group's port, as stage 3's ALB does, where lab stage 2's sends to each host's nginx."""
from __future__ import annotations

import pytest

from ansible_test_support import ROOT, ansible_env, debug_vars


def lab_vars(stage: str, host: str, names: list[str], tmp) -> dict:
    return debug_vars(ROOT / "ansible" / "inventories" / f"lab-stage{stage}", host,
                      ansible_env(tmp), *names)


@pytest.mark.parametrize("stage, listener", [("2", "nginx_listen_port"), ("3", "shop_app_port")])
def test_the_alb_stand_in_sends_to_what_the_target_group_holds(stage, listener, tmp_path):
    """Stage 2: each app host's nginx on the target group's port; stage 3: the tasks' own
    gunicorn there, on the task's address (no nginx in between)."""
    alb = lab_vars(stage, "lb1", ["haproxy_targets", "shoplab_alb"], tmp_path)
    app = lab_vars(stage, "app1", [listener, "group_names"], tmp_path)
    port = alb["shoplab_alb"]["appPort"]
    assert alb["haproxy_targets"] == [f"app1:{port}", f"app2:{port}"]
    assert int(app[listener]) == port
    assert ("lb" in app["group_names"]) == (stage == "2")
    if stage == "3":   # the role's default is loopback (stage 2: behind the host's nginx)
        assert lab_vars(stage, "app1", ["shop_app_bind_address"], tmp_path) == \
            {"shop_app_bind_address": "0.0.0.0"}


def test_lab_stage3_tasks_serve_the_storefront_and_find_the_client(tmp_path):
    """What nginx did on stage 3's lb1 the tasks do themselves, as on Fargate; the client is
    the generator's entry before the one lb1 appends for the published port's gateway."""
    got = lab_vars("3", "app1", ["shop_app_serve_storefront", "shop_app_trusted_proxy_hops",
                                 "shop_app_database_ca_src", "shop_redis_tls"], tmp_path)
    assert got["shop_app_serve_storefront"] is True
    assert int(got["shop_app_trusted_proxy_hops"]) == 2
    # the data tier over verified TLS, as lab stage 2 (group_vars/all is stage 2's)
    assert got["shop_app_database_ca_src"].endswith("ca.crt") and got["shop_redis_tls"] is True
