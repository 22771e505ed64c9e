"""The reaper: one pass over what the order lifecycle leaves for later, then exit.

    python -m app.reaper        # every setting from the environment, as the app

- expire pending orders whose hold (ORDER_HOLD_MINUTES) lapsed, by app/lifecycle.py's rule:
  the intent is canceled at Stripe first, and an order Stripe says is paid becomes paid;
- refund late payments whose refund could not be made when they arrived;
- delete Idempotency-Keys older than 24 hours.

Deployed as each stage runs periodic work: a systemd timer on hosts (shop_app role), an
EventBridge scheduled task on ECS, a CronJob on k3s. Safe to run on several hosts at once:
each lapsed order is claimed with ``FOR UPDATE SKIP LOCKED`` and a short lease. Exit status 0
when the pass completed (orders Stripe could not be asked about stay held for the next pass),
1 when the database could not be reached. One JSON line on stdout says what was done.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time

import psycopg
import psycopg_pool
import stripe

from app import logs, payment_provider
from app.cart import make_redis
from app.catalogue_cache import CatalogueCache
from app.db import Database
from app.lifecycle import Lifecycle
from app.order_states import Event, Status
from app.settings import Settings
from app.store.orders import OrderStore
from app.store.payments import PaymentStore

log = logging.getLogger("shop.reaper")
BATCH = 100
MAX_BATCHES = 20          # a pass handles at most BATCH x MAX_BATCHES orders
LEASE_SECONDS = 60        # a claimed order is skipped by other reapers this long


class Reaper:
    """The reaper's own pool and clients (a process of its own, or a test's)."""

    def __init__(self, settings: Settings, *, stripe_client=None, redis_client=None):
        # one connection at a time is all a pass uses: a pool of one, opened on first use
        self.db = Database(dataclasses.replace(settings, pool_min_size=0, pool_max_size=1))
        self.orders, self.payments = OrderStore(self.db), PaymentStore(self.db)
        client = stripe_client or payment_provider.make_stripe(settings)
        # the catalogue cache only tells the app's workers that stock came back
        catalogue = CatalogueCache(0, redis_client or make_redis(settings))
        self.lifecycle = Lifecycle(self.orders, self.payments, client, catalogue)

    def run_pass(self) -> dict:
        """One pass; what it did, by kind."""
        done = {"expired": 0, "paid": 0, "kept": 0, "refunded": 0, "refunds_deferred": 0,
                "keys_purged": 0}
        for _ in range(MAX_BATCHES):
            batch = self.orders.claim_lapsed_holds(BATCH, LEASE_SECONDS)
            for order in batch:
                try:
                    step = self.lifecycle.close(order, Event.EXPIRE)
                except stripe.StripeError as exc:
                    log.warning("order %s kept: Stripe: %s", order["id"], exc)
                    step = None
                if step is None:
                    done["kept"] += 1
                else:
                    done["paid" if step.to is Status.PAID else "expired"] += 1
            if len(batch) < BATCH:
                break
        for due in self.payments.refunds_due():
            try:
                self.lifecycle.refund_late_payment(due["payment_intent_id"])
                done["refunded"] += 1
            except stripe.StripeError as exc:
                log.warning("refund of %s deferred: %s", due["payment_intent_id"], exc)
                done["refunds_deferred"] += 1
        done["keys_purged"] = self.orders.purge_keys()
        return done

    def close(self) -> None:
        self.db.close()


def main() -> int:
    settings = Settings.from_env()
    logs.configure_logging(settings.log_level)
    reaper = Reaper(settings)
    started = time.monotonic()
    try:
        done = reaper.run_pass()
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        log.error("reaper: database unavailable: %s", exc)
        return 1
    finally:
        reaper.close()
    print(json.dumps({"reaper": done, "seconds": round(time.monotonic() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
