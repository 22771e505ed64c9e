"""Drives StepLoadShape with a fake clock and runner (run in a subprocess by test_shape.py:
importing locust monkey-patches the process with gevent). Prints the tick results and the
step records as JSON."""
import json
import sys

from locust.stats import RequestStats

from loadtest.plan import StepPlan
from loadtest.shapes import StepLoadShape


class Runner:
    def __init__(self):
        self.stats, self.user_count = RequestStats(), 0


def main(step_log: str) -> None:
    plan = StepPlan("search", [10, 20, 30], step_log, measure_s=10, settle_s=2, spawn_rate=10,
                    stop_p95_ms=100, stop_error_rate=0.01)
    import os
    os.environ.update(plan.to_env())
    shape = StepLoadShape()
    shape.runner = Runner()
    clock = [0.0]
    shape.get_run_time = lambda: clock[0]
    ticks = []
    for second in range(80):
        clock[0] = float(second)
        t = shape.tick()
        ticks.append(t)
        if t is None:
            break
        users = t[0]
        shape.runner.user_count = users          # spawned at once
        # traffic: fast while fewer than 30 users, slow (300 ms) at 30
        for _ in range(users):
            shape.runner.stats.log_request("GET", "list", 300 if users >= 30 else 20, 100)
        if users == 20 and second % 2:
            shape.runner.stats.log_error("GET", "list", "HTTP 503")
    print(json.dumps({"ticks": ticks}))


if __name__ == "__main__":
    main(sys.argv[1])
