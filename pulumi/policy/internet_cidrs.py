"""When a set of CIDRs counts as "the internet".

Contract (used by every security-group rule of the pack): the CIDRs of one ingress rule are
taken together (their union), and they are open to the internet when they admit

- at least a /8's worth (2**24 addresses) of public IPv4 space, public meaning outside
  0.0.0.0/8, RFC 1918 (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10), loopback (127/8),
  link-local (169.254/16) and multicast/reserved (224/3); or
- at least a /32's worth (2**96 addresses) of global unicast IPv6 space (2000::/3).

So 0.0.0.0/0, ::/0, 0.0.0.0/1 + 128.0.0.0/1, any IPv4 prefix shorter than /8, and 10.0.0.0/7
(its upper half, 11/8, is public) are open; 10.0.0.0/8, 100.64.0.0/10 and an office's /24
are not. A string that is not a CIDR is skipped (the provider rejects it anyway)."""
from __future__ import annotations

import ipaddress

PUBLIC_V4_THRESHOLD = 2 ** 24        # a /8
PUBLIC_V6_THRESHOLD = 2 ** 96        # a /32
NON_PUBLIC_V4 = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3"))
GLOBAL_V6 = ipaddress.ip_network("2000::/3")


def _overlap(a, b) -> int:
    """Addresses two CIDRs share (CIDRs either nest or are disjoint)."""
    if a.subnet_of(b):
        return a.num_addresses
    if b.subnet_of(a):
        return b.num_addresses
    return 0


def public_addresses(cidrs) -> tuple[int, int]:
    """(public IPv4, global IPv6) addresses admitted by the union of `cidrs`."""
    nets = {4: [], 6: []}
    for cidr in cidrs or []:
        try:
            net = ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError:
            continue
        nets[net.version].append(net)
    v4 = sum(net.num_addresses - sum(_overlap(net, private) for private in NON_PUBLIC_V4)
             for net in ipaddress.collapse_addresses(nets[4]))
    v6 = sum(_overlap(net, GLOBAL_V6) for net in ipaddress.collapse_addresses(nets[6]))
    return v4, v6


def open_to_internet(cidrs) -> bool:
    v4, v6 = public_addresses(cidrs)
    return v4 >= PUBLIC_V4_THRESHOLD or v6 >= PUBLIC_V6_THRESHOLD
