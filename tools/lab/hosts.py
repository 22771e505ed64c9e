#!/usr/bin/env python3
"""Print "<inventory name> <container name> <groups>" for every host of a lab inventory, so
the lab scripts create exactly the containers the inventory describes (one place for the
topology: ansible/inventories/lab-stageN/hosts.yml)."""
import json
import subprocess
import sys

inventory = sys.argv[1]
data = json.loads(subprocess.run(["ansible-inventory", "-i", inventory, "--list"],
                                 check=True, capture_output=True, text=True).stdout)
hostvars = data["_meta"]["hostvars"]
groups = {h: sorted(g for g, v in data.items() if isinstance(v, dict) and h in v.get("hosts", []))
          for h in hostvars}
for host in sorted(hostvars):
    print(host, hostvars[host].get("ansible_host", host), ",".join(groups[host]))
