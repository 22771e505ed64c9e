"""The step plan a locust run follows, handed from the runner to the shape in one environment
variable (kept free of locust imports: importing locust monkey-patches the process)."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

ENV = "LOADTEST_PLAN"


@dataclass
class StepPlan:
    phase: str                      # name used in the report ("ramp", "search", "journey")
    steps: list[int]                # users per step, in order
    step_log: str                   # JSON-lines file the shape appends one record per step to
    measure_s: float = 20.0         # seconds measured per step, after the settle time
    settle_s: float = 5.0           # seconds after the users are spawned before measuring
    spawn_rate: float = 50.0        # users started per second
    stop_p95_ms: float | None = None        # stop at the first step past these limits
    stop_error_rate: float | None = None    # (None: run every step)
    extra: dict = field(default_factory=dict)

    def to_env(self) -> dict[str, str]:
        return {ENV: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls, environ=None) -> "StepPlan":
        raw = (environ or os.environ).get(ENV)
        if not raw:
            raise RuntimeError(f"{ENV} is not set: run locust through `python -m loadtest.run`")
        return cls(**json.loads(raw))

    def max_seconds(self) -> float:
        """Upper bound of the run, for the runner's hard timeout."""
        spawn = sum(max(0.0, b - a) for a, b in zip([0] + self.steps, self.steps))
        return (len(self.steps) * (self.measure_s + self.settle_s) + spawn / self.spawn_rate
                + 30.0)
