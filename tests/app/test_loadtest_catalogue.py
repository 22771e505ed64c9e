"""The load test's shopper journey (loadtest/users.py), run for a few journeys through nginx
against the real stack: it buys only from the load test's own catalogue, so every product of
the reference catalogue keeps its stock, and its paid orders stay as they are (nothing is
restocked or undone afterwards)."""
import json
import subprocess
import sys
import time

import psycopg

from sql import seed
from sql.catalogue import LOADTEST_CATEGORY

from conftest import ROOT

JOURNEYS = 3
PAID_WAIT_S = 30  # the fake Stripe's webhook is asynchronous


def test_the_journey_leaves_the_reference_catalogue_alone(stack, db):
    with psycopg.connect(stack.owner_url(), autocommit=True) as conn:
        seed.seed_loadtest_products(conn, 20)
    reference = dict(db.execute("SELECT id, stock FROM products WHERE id <= 50").fetchall())
    loadtest = dict(db.execute("SELECT id, stock FROM products WHERE category = %s",
                               (LOADTEST_CATEGORY,)).fetchall())
    assert len(reference) == 50 and len(loadtest) == 20 and min(loadtest) > 50
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "loadtest" / "journey_driver.py"),
         stack.shop_url, str(JOURNEYS)], capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["failures"] == {}, result
    assert result["requests"]["checkout"] == JOURNEYS
    assert set(result["seen"]) <= set(loadtest)

    orders = f"""FROM orders o JOIN users u ON u.id = o.user_id
                 JOIN order_items i ON i.order_id = o.id WHERE u.email = %s"""
    deadline = time.monotonic() + PAID_WAIT_S
    while time.monotonic() < deadline and db.execute(
            f"SELECT count(*) {orders} AND o.status <> 'paid'", (result["email"],)
    ).fetchone()[0]:
        time.sleep(0.5)
    bought = db.execute(f"SELECT i.product_id, i.quantity, o.status {orders}",
                        (result["email"],)).fetchall()
    assert len(bought) == JOURNEYS and {s for _, _, s in bought} == {"paid"}
    assert {pid for pid, _, _ in bought} <= set(loadtest)        # never a reference product
    # every reference product has the stock it had; the load test's paid for what it bought
    assert dict(db.execute("SELECT id, stock FROM products WHERE id <= 50").fetchall()) \
        == reference
    after = dict(db.execute("SELECT id, stock FROM products WHERE category = %s",
                            (LOADTEST_CATEGORY,)).fetchall())
    sold = {pid: 0 for pid in loadtest}
    for pid, qty, _ in bought:
        sold[pid] += qty
    assert after == {pid: loadtest[pid] - sold[pid] for pid in loadtest}
