"""``StepLoadShape``: hold each step's user count, measure it on a clean slate, write one record
per step, and stop at the first step past the limits (that step is the breaking point)."""
from __future__ import annotations

import json
import time

from locust import LoadTestShape

from loadtest.breaking import Limits, step_breaks
from loadtest.plan import StepPlan


def step_record(stats, users: int, seconds: float) -> dict:
    """One step's numbers from locust's stats since the last reset."""
    total = stats.total
    n = total.num_requests
    pct = (lambda p: float(total.get_response_time_percentile(p))) if n else (lambda p: 0.0)
    return {
        "users": users, "requests": n, "failures": total.num_failures,
        "error_rate": (total.num_failures / n) if n else 0.0,
        "rps": n / seconds if seconds else 0.0,
        "avg_ms": total.avg_response_time, "p50_ms": pct(0.50), "p95_ms": pct(0.95),
        "p99_ms": pct(0.99), "max_ms": float(total.max_response_time or 0),
        "endpoints": {
            name: {"requests": e.num_requests, "failures": e.num_failures,
                   "p95_ms": float(e.get_response_time_percentile(0.95)) if e.num_requests else 0.0}
            for (name, _method), e in stats.entries.items()},
        "errors": {f"{e.name}: {e.error}"[:200]: e.occurrences for e in stats.errors.values()},
    }


class StepLoadShape(LoadTestShape):
    def __init__(self):
        super().__init__()
        self.plan = StepPlan.from_env()
        self.limits = None
        if self.plan.stop_p95_ms is not None or self.plan.stop_error_rate is not None:
            self.limits = Limits(p95_ms=self.plan.stop_p95_ms or float("inf"),
                                 error_rate=self.plan.stop_error_rate or 1.0)
        self.index, self.measuring, self.since, self.wall_start = 0, False, None, None

    def _spawned(self, users: int, elapsed: float) -> bool:
        # wait for every user to be running, but never longer than the spawn should take + 10 s
        budget = users / self.plan.spawn_rate + 10.0
        return self.get_current_user_count() >= users or elapsed > budget

    def tick(self):
        if self.index >= len(self.plan.steps):
            return None
        users, now = self.plan.steps[self.index], self.get_run_time()
        if self.since is None:
            self.since = now
        elapsed = now - self.since
        if not self.measuring:
            if elapsed >= self.plan.settle_s and self._spawned(users, elapsed):
                self.runner.stats.reset_all()
                self.measuring, self.since, self.wall_start = True, now, time.time()
        elif elapsed >= self.plan.measure_s:
            if not self._finish_step(users, elapsed):
                return None
            if self.index >= len(self.plan.steps):
                return None
            users = self.plan.steps[self.index]
        return users, self.plan.spawn_rate

    def _finish_step(self, users: int, seconds: float) -> bool:
        """Record the step; False when the run must stop here."""
        rec = step_record(self.runner.stats, users, seconds)
        rec.update(phase=self.plan.phase, step=self.index, running_users=self.get_current_user_count(),
                   t_start=self.wall_start, t_end=time.time())
        reason = step_breaks(rec, self.limits) if self.limits else None
        rec["broke"] = reason
        with open(self.plan.step_log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(f"[{self.plan.phase}] step {self.index + 1}/{len(self.plan.steps)}: {users} users "
              f"{rec['rps']:.0f} req/s p50 {rec['p50_ms']:.0f} p95 {rec['p95_ms']:.0f} "
              f"p99 {rec['p99_ms']:.0f} ms errors {rec['error_rate']:.2%}"
              + (f"  BROKE: {reason}" if reason else ""), flush=True)
        self.index, self.measuring, self.since = self.index + 1, False, None
        return reason is None
