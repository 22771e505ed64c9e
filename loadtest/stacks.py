"""Throwaway shops on loopback for the bench and the experiments: tools/devstack.py's Stack with
the settings an experiment needs, in a temporary directory, always stopped afterwards.

Only these stacks are reconfigured (pgbouncer pool mode, app settings, indexes): never
`make run`'s or the lab's.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import devstack  # noqa: E402  (tools/ is not a package)

from app.settings import Settings  # noqa: E402
from sql import OWNER_URL_ENV  # noqa: E402

# load from one loopback IP would hit the per-IP rate limit within a second; the access log
# stays on (it is part of the request cost) but only warnings go to the app's log
LOAD_TEST_ENV = {"RATE_LIMIT_IP_PER_MINUTE": "0", "RATE_LIMIT_USER_PER_MINUTE": "0"}


class ShopStack(devstack.Stack):
    """A devstack whose app can be restarted with other settings and whose pgbouncer can be
    switched between pooling modes, with the Prometheus multiprocess view of every worker."""

    worker_class = "gthread"

    def gunicorn_argv(self) -> list[str]:
        argv = super().gunicorn_argv()
        argv[argv.index("--worker-class") + 1] = self.worker_class
        return argv

    def start_app(self) -> None:
        metrics = self.state / "prometheus"
        shutil.rmtree(metrics, ignore_errors=True)   # stale files would add dead workers
        metrics.mkdir(parents=True)
        self.app_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
        super().start_app()

    def restart_app(self, unset=(), shape: tuple[str, int, int] | None = None, **env) -> None:
        """Restart gunicorn with these settings changed (``unset``: back to their defaults)
        and, given ``shape`` = (worker class, workers, threads), with that process shape."""
        self.stop("app")
        if shape:
            self.worker_class, self.workers, self.threads = shape
        for key in unset:
            self.app_env.pop(key, None)
        self.app_env.update({k: str(v) for k, v in env.items()})
        self.start_app()
        self.wait_ready()

    def set_pgbouncer(self, **settings) -> None:
        """Rewrite settings in pgbouncer.ini and reload it (SIGHUP): pool_mode and the pool
        sizes take effect for new server connections, so the app is restarted too."""
        conf = self.state / "pgbouncer" / "pgbouncer.ini"
        text = conf.read_text()
        for key, value in settings.items():
            line = f"{key} = {value}"
            text, n = re.subn(rf"(?m)^{key}\s*=.*$", line, text)
            if not n:
                text = text.replace("[pgbouncer]\n", f"[pgbouncer]\n{line}\n", 1)
        conf.write_text(text)
        pid = int((self.state / "pids" / "pgbouncer.pid").read_text())
        os.kill(pid, signal.SIGHUP)
        time.sleep(1)
        self.restart_app()

    def psql(self, sql: str, params=None):
        """One statement as the schema's owner (the experiments drop and create indexes)."""
        import psycopg
        with psycopg.connect(self.owner_url(), autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else None


def cache_off_env() -> dict[str, str]:
    """Every numeric app setting that caches catalogue data, set to 0: found by name
    (``*CACHE*``, ``*COUNT_TTL``), so a cache the app adds later is switched off too."""
    return {env: "0" for env, default, _ in Settings.describe()
            if isinstance(default, (int, float)) and not isinstance(default, bool)
            and ("CACHE" in env or env.endswith("COUNT_TTL")) and "CART" not in env}


@contextlib.contextmanager
def shop(name: str, products: int = 50, workers: int = 2, threads: int = 4,
         loadtest_products: int = 0, **app_env):
    """A running shop for one bench/experiment; yields the ShopStack, always tears it down.
    ``loadtest_products``: the load test's own catalogue (the shopper journey buys only it)."""
    state = Path(tempfile.mkdtemp(prefix=f"shoplab-{name}-"))
    env = {**LOAD_TEST_ENV, **{k: str(v) for k, v in app_env.items()}}
    stack = ShopStack(state, devstack.free_ports(), workers=workers, threads=threads,
                      app_env=env)
    t0 = time.monotonic()
    print(f"[{name}] starting a shop ({products} products, {workers} workers x {threads} "
          f"threads) in {state}", flush=True)
    try:
        stack.up(products, loadtest_products)
        print(f"[{name}] up in {time.monotonic() - t0:.0f}s at {stack.shop_url}", flush=True)
        yield stack
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)


def seed(stack: ShopStack, products: int, users: int = 0) -> float:
    """Grow the catalogue (and users) with sql.seed; returns the seconds it took."""
    import subprocess
    t0 = time.monotonic()
    # as the schema's owner, which carries no statement timeout (the app's role has 5 s)
    env = {**os.environ, "PYTHONPATH": str(ROOT), **stack.env("postgres"),
           OWNER_URL_ENV: stack.owner_url()}
    subprocess.run([sys.executable, "-m", "sql.seed", "--products", str(products),
                    "--users", str(users)], env=env, check=True, cwd=ROOT, timeout=900)
    # what an operator does after a bulk load: set hint bits and the visibility map now, so
    # the first minute of measurement is not autovacuum's (it halved the first 8 s run)
    stack.psql("VACUUM (ANALYZE) products")
    stack.psql("VACUUM (ANALYZE) users")
    return time.monotonic() - t0
