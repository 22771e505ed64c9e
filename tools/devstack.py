#!/usr/bin/env python3
"""The whole shop on loopback, from the Debian binaries: PostgreSQL, pgbouncer, Redis, the fake
Stripe, gunicorn and nginx, each in its own process group with its state in one directory.

Used two ways:
- `make run` / `make stop`: ``python tools/devstack.py up|down|status`` with the state under
  ``.state/run`` and the fixed ports of ``RUN_PORTS`` (shop at http://127.0.0.1:8080);
- the app's tests: ``Stack(tempdir, free_ports())`` started and stopped by a session fixture,
  with methods to stop and start single services (restart-recovery tests).

PostgreSQL and pgbouncer refuse to run as root, so they run as the ``postgres`` user with
directories it owns. Nothing here touches Debian's own instances of these services.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the app's settings module is imported below
    sys.path.insert(0, str(ROOT))
from capacity.shapes import shape  # noqa: E402
from edge import lab  # noqa: E402
from sql import OWNER_URL_ENV  # noqa: E402

STAGE1 = shape("1")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVICES = ("postgres", "pgbouncer", "redis", "fakestripe", "app", "nginx")

# Every port `make run` uses, in one place. The shop is nginx on 8080; lab stage N uses 808N.
RUN_PORTS = {
    "nginx": 8080,
    "app": 18080,
    "postgres": 15432,
    "pgbouncer": 16432,
    "redis": 16379,
    "fakestripe": 12111,
}
# As on every stage (ansible/group_vars/all/topology.yml, Pulumi's dbUser/dbAppUser): the
# schema's owner runs the migrations and the seeding; the app's role only reads and writes
# rows (sql/app_role.py).
DB_NAME = DB_OWNER = "shop"
DB_USER = "shop_app"


def free_ports(names=SERVICES) -> dict[str, int]:
    """Distinct ephemeral loopback ports, one per service (for tests running side by side)."""
    socks, ports = [], {}
    for name in names:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports[name] = s.getsockname()[1]
    for s in socks:
        s.close()
    return ports


def wait_ready(shop_url: str, timeout: float = 30.0, interval: float = 0.2,
               cafile: str | None = None) -> None:
    """Until the shop's /readyz answers 200 (TimeoutError after ``timeout`` seconds);
    ``cafile``: the CA an https shop_url is verified against."""
    deadline = time.monotonic() + timeout
    context = ssl.create_default_context(cafile=cafile)
    while True:
        try:
            with urllib.request.urlopen(f"{shop_url}/readyz", timeout=3, context=context) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{shop_url}/readyz not ready after {timeout:.0f}s")
        time.sleep(interval)


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


ROLES = ROOT / "roles"


def role_vars(role: str, overrides: dict) -> dict:
    """A role's variables (its defaults/main.yml, then vars/main.yml) with ``overrides``, as
    the role's templates would see them. Only the role's own variables may be overridden (a
    typo fails here)."""
    import yaml
    variables = {}
    for part in ("defaults", "vars"):
        path = ROLES / role / part / "main.yml"
        if path.exists():
            variables.update(yaml.safe_load(path.read_text()) or {})
    unknown = sorted(set(overrides) - set(variables))
    if unknown:
        raise KeyError(f"not variables of the {role} role: {', '.join(unknown)}")
    variables.update(overrides)
    # plain values here; one that became a Jinja expression needs Ansible
    templated = sorted(k for k, v in variables.items() if "{{" in str(v) or "{%" in str(v))
    if templated:
        raise ValueError(f"{role} role variables {', '.join(templated)} are templated: "
                         "render them before passing them to devstack")
    return variables


def nginx_role_vars(overrides: dict) -> dict:
    return role_vars("nginx", overrides)


def render_role_template(role: str, template: str, variables: dict) -> str:
    """roles/<role>/templates/<template> rendered with Jinja2 as Ansible's template module
    does (trim_blocks, every variable defined); ``variables`` from role_vars()."""
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLES / role / "templates")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             keep_trailing_newline=True, autoescape=False)
    return env.get_template(template).render(
        ansible_managed=f"generated by tools/devstack.py from roles/{role}/templates/"
                        f"{template} (on hosts: Ansible managed)",
        **variables)


@dataclass
class Stack:
    state: Path
    ports: dict[str, int]
    # gunicorn's process shape: stage 1's (capacity/shapes.py), the one-host stage
    workers: int = STAGE1.workers
    threads: int = STAGE1.threads
    fast: bool = True  # fsync off: the data is disposable
    app_env: dict[str, str] = field(default_factory=dict)
    # overrides of the nginx role's variables (roles/nginx/defaults/main.yml) for this nginx
    nginx_vars: dict = field(default_factory=dict)
    # HTTPS as the lab's edge (ports["https"]; nginx's plain port then only redirects), with a
    # certificate of this stack's own lab CA (ansible/lab-ca.yml into state/ca): ca_file
    tls: bool = False
    # Redis over TLS only (rediss://, as lab stage 2 and ElastiCache), with a certificate of
    # the same CA; the app verifies it against that CA (REDIS_CA_FILE)
    redis_tls: bool = False

    def __post_init__(self):
        self.state = Path(self.state).resolve()
        self.procs: dict[str, subprocess.Popen] = {}

    # --- secrets and URLs, generated once per state directory ---------------------------
    @property
    def secrets(self) -> dict[str, str]:
        path = self.state / "secrets.json"
        known = json.loads(path.read_text()) if path.exists() else {}
        wanted = {
            "db_password": lambda: secrets.token_urlsafe(16),
            "owner_password": lambda: secrets.token_urlsafe(16),
            "jwt_secret": lambda: secrets.token_urlsafe(32),
            "webhook_secret": lambda: "whsec_" + secrets.token_hex(24),
        }
        if set(wanted) - set(known):          # new, or from before a secret was added
            self.state.mkdir(parents=True, exist_ok=True)
            known = {**{k: make() for k, make in wanted.items()}, **known}
            path.write_text(json.dumps(known))
            path.chmod(0o600)
        return known

    def database_url(self, via: str = "pgbouncer") -> str:
        """libpq URL of the shop database, through pgbouncer or direct to PostgreSQL."""
        return (f"postgresql://{DB_USER}:{self.secrets['db_password']}@127.0.0.1:"
                f"{self.ports[via]}/{DB_NAME}")

    def owner_url(self, via: str = "postgres") -> str:
        """libpq URL of the shop database as the schema's owner (direct to PostgreSQL)."""
        return (f"postgresql://{DB_OWNER}:{self.secrets['owner_password']}@127.0.0.1:"
                f"{self.ports[via]}/{DB_NAME}")

    @property
    def superuser_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports['postgres']}/postgres"

    @property
    def redis_url(self) -> str:
        return f"{'rediss' if self.redis_tls else 'redis'}://127.0.0.1:{self.ports['redis']}/0"

    # the key the app uses and the fake Stripe requires on every request (a lab-only test key)
    stripe_secret_key = "sk_test_shoplab_devstack"

    @property
    def stripe_api_base(self) -> str:
        return f"http://127.0.0.1:{self.ports['fakestripe']}"

    @property
    def shop_url(self) -> str:
        if self.tls:
            return f"https://127.0.0.1:{self.ports['https']}"
        return f"http://127.0.0.1:{self.ports['nginx']}"

    @property
    def tls_files(self) -> dict[str, str]:
        """This stack's lab CA and edge certificate and key (edge.lab.ca_files)."""
        return lab.ca_files(self.state / "ca")

    @property
    def ca_file(self) -> str | None:
        return self.tls_files["ca"] if self.tls or self.redis_tls else None

    def env(self, via: str = "pgbouncer", **extra) -> dict[str, str]:
        """The app's environment (see app/settings.py) for this stack."""
        env = {
            "DATABASE_URL": self.database_url(via),
            "REDIS_URL": self.redis_url,
            **({"REDIS_CA_FILE": self.ca_file} if self.redis_tls else {}),
            "JWT_SECRET": self.secrets["jwt_secret"],
            "STRIPE_SECRET_KEY": self.stripe_secret_key,
            "STRIPE_PUBLISHABLE_KEY": "pk_test_shoplab_devstack",
            "STRIPE_WEBHOOK_SECRET": self.secrets["webhook_secret"],
            "STRIPE_API_BASE": self.stripe_api_base,
        }
        env.update(self.app_env)
        env.update(extra)
        return env

    # --- process handling ----------------------------------------------------------------
    def _dir(self, name: str, owner: str | None = None, group: str | None = None) -> Path:
        d = self.state / name
        d.mkdir(parents=True, exist_ok=True)
        if owner:
            shutil.chown(d, owner, group or owner)
        return d

    def _spawn(self, name: str, argv: list[str], *, user: str | None = None,
               env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
        log = open(self._dir("logs") / f"{name}.log", "ab")
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, user=user, group=user, extra_groups=[] if user else None,
            env=env, cwd=cwd or self.state)
        log.close()
        self.procs[name] = proc
        (self._dir("pids") / f"{name}.pid").write_text(str(proc.pid))
        return proc

    def _pid(self, name: str) -> int | None:
        path = self.state / "pids" / f"{name}.pid"
        try:
            return int(path.read_text())
        except (OSError, ValueError):
            return None

    def running(self, name: str) -> bool:
        pid = self._pid(name)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        proc = self.procs.get(name)
        return proc is None or proc.poll() is None

    def stop(self, name: str, timeout: float = 15.0) -> None:
        """Stop one service: its own shutdown signal, then SIGKILL to its process group."""
        pid = self._pid(name)
        if pid is None:
            return
        # postgres: SIGINT is "fast" shutdown (SIGTERM would wait for every client to leave)
        sig = signal.SIGINT if name == "postgres" else signal.SIGTERM
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        proc = self.procs.pop(name, None)
        while time.monotonic() < deadline:
            if proc is not None:
                if proc.poll() is not None:
                    break
            else:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
            time.sleep(0.05)
        try:
            os.killpg(pid, signal.SIGKILL)  # anything left in its group (workers)
        except (ProcessLookupError, PermissionError):
            pass
        if proc is not None:
            proc.wait(5)
        (self.state / "pids" / f"{name}.pid").unlink(missing_ok=True)

    # --- the services --------------------------------------------------------------------
    def start_postgres(self) -> None:
        data = self.state / "pg" / "data"
        if not (data / "PG_VERSION").exists():
            self._dir("pg", "postgres")
            subprocess.run(
                [PG_BIN / "initdb", "-D", data, "-U", "postgres", "-E", "UTF8",
                 "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256"],
                user="postgres", group="postgres", check=True, capture_output=True)
            # the superuser may come in from loopback without a password (setup only);
            # the shop's role must authenticate, as it will in the lab
            (data / "pg_hba.conf").write_text(
                "host all postgres 127.0.0.1/32 trust\n"
                "host all all 127.0.0.1/32 scram-sha-256\n")
            fresh = True
        else:
            fresh = False
        opts = ["-c", "listen_addresses=127.0.0.1", "-c", f"port={self.ports['postgres']}",
                "-c", "unix_socket_directories=", "-c", "max_connections=200",
                "-c", "shared_buffers=128MB", "-c", "logging_collector=off"]
        if self.fast:
            opts += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off"]
        self._spawn("postgres", [str(PG_BIN / "postgres"), "-D", str(data), *opts],
                    user="postgres")
        self._wait_postgres()
        self._ensure_roles(create_database=fresh)

    def _wait_postgres(self, timeout: float = 30.0) -> None:
        import psycopg
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.superuser_url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or not self.running("postgres"):
                    raise RuntimeError("postgres did not start: see "
                                       f"{self.state / 'logs' / 'postgres.log'}")
                time.sleep(0.1)

    def _ensure_roles(self, create_database: bool) -> None:
        """As the postgresql role does: both login roles with this state's passwords (also on
        a cluster from before the app had its own role), the database owned by the owner."""
        import psycopg
        from psycopg import sql
        with psycopg.connect(self.superuser_url, autocommit=True) as conn:
            for user, password in ((DB_OWNER, "owner_password"), (DB_USER, "db_password")):
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                      (user,)).fetchone()
                conn.execute(sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
                    sql.SQL("ALTER" if exists else "CREATE"), sql.Identifier(user),
                    sql.Literal(self.secrets[password])))
            if create_database:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DB_NAME), sql.Identifier(DB_OWNER)))

    def start_pgbouncer(self) -> None:
        d = self._dir("pgbouncer", "postgres")
        userlist = d / "userlist.txt"
        userlist.write_text(f'"{DB_USER}" "{self.secrets["db_password"]}"\n')
        conf = d / "pgbouncer.ini"
        conf.write_text(f"""\
[databases]
{DB_NAME} = host=127.0.0.1 port={self.ports['postgres']} dbname={DB_NAME}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.ports['pgbouncer']}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {userlist}
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
server_connect_timeout = 3
server_login_retry = 1
; a query waiting for a server connection (Postgres down, or pgbouncer's pool full) fails
; after this many seconds instead of the default 120, so the app can answer 503 quickly
query_wait_timeout = 3
; psycopg sends the statement timeout as the "options" startup parameter; pgbouncer 1.18
; cannot forward it, so the role's own default (set by devstack, like the lab) applies
ignore_startup_parameters = extra_float_digits,options
""")
        for f in (userlist, conf):
            shutil.chown(f, "postgres", "postgres")
            f.chmod(0o600)
        proc = self._spawn("pgbouncer", ["/usr/sbin/pgbouncer", str(conf)], user="postgres")
        wait_for_port(self.ports["pgbouncer"], proc=proc)

    def start_redis(self) -> None:
        """Redis with the redis role's own redis.conf (the one that ships: loopback, the
        memory cap and its eviction policy, TLS when redis_tls), on this stack's port, its
        files in the state directory and no persistence (the data is disposable)."""
        d = self._dir("redis")
        overrides = {"redis_port": self.ports["redis"], "redis_save": [],
                     "redis_appendonly": False}
        if self.redis_tls:
            tls = self._dir("redis/tls")
            # where the role installs them (the template names redis_tls_dir's files)
            shutil.copyfile(self.tls_files["redis_cert"], tls / "server.crt")
            shutil.copyfile(self.tls_files["redis_key"], tls / "server.key")
            overrides.update(redis_tls_certificate_src=self.tls_files["redis_cert"],
                             redis_tls_key_src=self.tls_files["redis_key"], redis_tls_dir=str(tls))
        conf = d / "redis.conf"
        conf.write_text(render_role_template("redis", "redis.conf.j2", role_vars("redis", overrides)))
        conf.chmod(0o600)
        # the command line wins over the file: this stack's paths, logs on stdout
        proc = self._spawn("redis", [
            "/usr/bin/redis-server", str(conf), "--dir", str(d), "--pidfile", str(d / "redis.pid"),
            "--logfile", "", "--daemonize", "no"])
        wait_for_port(self.ports["redis"], proc=proc)

    def start_fakestripe(self) -> None:
        # the app's key and webhook secret, through the environment as in the lab (not argv)
        # webhooks go to the shop's front door: over HTTPS, the fake verifies it with the CA
        proc = self._spawn("fakestripe", [
            sys.executable, "-m", "fakestripe", "--host", "127.0.0.1",
            "--port", str(self.ports["fakestripe"]),
            "--webhook-url", f"{self.shop_url}/api/webhook/stripe"],
            env={**os.environ, "PYTHONPATH": str(ROOT),
                 **({"SSL_CERT_FILE": self.ca_file} if self.tls else {}),
                 "STRIPE_SECRET_KEY": self.stripe_secret_key,
                 "STRIPE_WEBHOOK_SECRET": self.secrets["webhook_secret"]}, cwd=ROOT)
        wait_for_port(self.ports["fakestripe"], proc=proc)

    def migrate_and_seed(self, products: int = 50, loadtest_products: int = 0) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env("postgres"),
               OWNER_URL_ENV: self.owner_url()}
        subprocess.run([sys.executable, "-m", "sql.migrate"], env=env, check=True, cwd=ROOT)
        subprocess.run([sys.executable, "-m", "sql.seed", "--products", str(products),
                        "--loadtest-products", str(loadtest_products)],
                       env=env, check=True, cwd=ROOT)
        import psycopg
        from psycopg import sql

        from app.settings import Settings
        timeout_ms = Settings.from_env(self.env()).statement_timeout_ms
        with psycopg.connect(self.superuser_url, autocommit=True) as conn:
            # behind pgbouncer the "options" startup parameter is dropped, so the role carries
            # the same statement timeout the app asks for (the Ansible role does the same)
            conn.execute(sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
                sql.Identifier(DB_USER), sql.Literal(timeout_ms)))

    def gunicorn_argv(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "app.wsgi:application",
                "--config", "python:app.gunicorn_conf",
                "--bind", f"127.0.0.1:{self.ports['app']}",
                "--workers", str(self.workers), "--worker-class", "gthread",
                "--threads", str(self.threads)]

    def start_app(self) -> None:
        # gunicorn is behind this stack's nginx, which appends the client to X-Forwarded-For
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TRUSTED_PROXY_HOPS": "1", **self.env()}
        proc = self._spawn("app", self.gunicorn_argv(), env=env, cwd=ROOT)
        wait_for_port(self.ports["app"], timeout=30, proc=proc)

    def nginx_overrides(self) -> dict:
        """The nginx role's variables this stack sets: what devstack changes (loopback ports,
        its gunicorn, the repo's storefront, logs in the state directory), then nginx_vars."""
        return {
            "nginx_listen_addresses": ["127.0.0.1"],
            "nginx_listen_port": self.ports["nginx"],
            "nginx_upstreams": [f"127.0.0.1:{self.ports['app']}"],
            "nginx_static_root": str(ROOT / "app" / "static"),
            "nginx_access_log": str(self.state / "nginx" / "access.log"),
            "nginx_status_listen": "",
            # clients on loopback (the tests, the load generator) stand for the proxy in front
            # of the shop: their X-Forwarded-For names the client, as behind a CDN or an ALB
            "nginx_real_ip_from": ["127.0.0.1"],
            **({"nginx_tls_certificate_src": self.tls_files["cert"],
                "nginx_tls_key_src": self.tls_files["key"],
                "nginx_tls_dir": str(self.state / "ca"),
                "nginx_tls_listen_port": self.ports["https"],
                "nginx_tls_redirect_port": self.ports["https"]} if self.tls else {}),
            **self.nginx_vars,
        }

    def start_nginx(self) -> None:
        """nginx with the shop's site from the nginx role's own template (the one that ships),
        inside a small main config of devstack's (pid, error log and temp files in the state
        directory; the role's nginx.conf.j2 is for a whole host)."""
        d = self._dir("nginx")
        tmp = self._dir("nginx/tmp", "nobody", "nogroup")
        variables = nginx_role_vars(self.nginx_overrides())
        site = d / "shoplab.conf"
        site.write_text(render_role_template("nginx", "shoplab.conf.j2", variables))
        conf = d / "nginx.conf"
        conf.write_text(f"""\
# generated by tools/devstack.py
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    server_tokens off;
    keepalive_timeout {variables['nginx_keepalive_timeout']};
    include {site};
}}
""")
        proc = self._spawn("nginx", ["/usr/sbin/nginx", "-c", str(conf), "-p", str(d),
                                     "-g", "daemon off; user nobody nogroup;"])
        wait_for_port(self.ports["nginx"], proc=proc)

    # --- the whole stack -----------------------------------------------------------------
    def up(self, products: int = 50, loadtest_products: int = 0) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o755)  # postgres must be able to reach its data dir below
        try:
            if self.tls or self.redis_tls:
                lab.make_ca(self.state / "ca")
            self.start_postgres()
            self.start_pgbouncer()
            self.start_redis()
            self.migrate_and_seed(products, loadtest_products)
            self.start_fakestripe()
            self.start_app()
            self.start_nginx()
            self.wait_ready()
        except BaseException:
            self.down()
            raise

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_ready(self.shop_url, timeout, cafile=self.ca_file)

    def down(self) -> None:
        for name in reversed(SERVICES):
            self.stop(name)


def _run_stack() -> Stack:
    return Stack(ROOT / ".state" / "run", dict(RUN_PORTS), fast=False,
                 workers=2, threads=4)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["up", "down", "status", "env"])
    p.add_argument("--products", type=int, default=50)
    p.add_argument("--loadtest-products", type=int, default=20,
                   help="the load test's own catalogue (its shopper journey buys only these)")
    args = p.parse_args(argv)
    stack = _run_stack()
    if args.command == "up":
        if any(stack.running(s) for s in SERVICES):
            stack.down()
        stack.up(args.products, args.loadtest_products)
        print(f"shop:        {stack.shop_url}/  (API {stack.shop_url}/api/products)")
        print(f"gunicorn:    http://127.0.0.1:{stack.ports['app']}/healthz")
        print(f"metrics:     {stack.shop_url}/metrics   openapi: {stack.shop_url}/openapi.json")
        print(f"postgres:    {stack.database_url('postgres')}")
        print(f"pgbouncer:   {stack.database_url('pgbouncer')}")
        print(f"redis:       {stack.redis_url}")
        print(f"fake stripe: {stack.stripe_api_base}  (key {stack.stripe_secret_key})")
        print(f"logs:        {stack.state / 'logs'}   stop with: make stop")
    elif args.command == "down":
        stack.down()
    elif args.command == "env":
        for k, v in stack.env().items():
            print(f"export {k}={v}")
    else:
        for s in SERVICES:
            print(f"{s:11} {'up' if stack.running(s) else 'down':5} port {stack.ports[s]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
