"""The simulated users' client addresses: each user has its own, sent as X-Forwarded-For, as
shoppers behind a CDN would arrive, so the per-IP rate limit sees many shoppers rather than
the one load generator. Only a stage whose proxy trusts the generator's hop believes it (the
lab; hops per stage in roles/README.md); elsewhere the proxy appends the generator's own.
No locust here: importing locust monkey-patches the process (the tests import this module)."""
from __future__ import annotations

import ipaddress
import random

# RFC 2544's benchmarking range, never a real client's address: 131,070 hosts (two of
# thousands of users drawing the same one share a per-IP count, far below its limit).
# wrk/report.lua draws from the same range for the no-think runs.
CLIENT_NET = ipaddress.IPv4Network("198.18.0.0/15")
CLIENT_HEADER = "X-Forwarded-For"


def client_address(rng: random.Random | None = None) -> str:
    """A random host address of CLIENT_NET."""
    return str(CLIENT_NET[(rng or random).randrange(1, CLIENT_NET.num_addresses - 1)])
