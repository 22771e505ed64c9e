"""Breaking-point detection and cause attribution on synthetic series."""
from loadtest.breaking import Limits, aggregate, breaking_index, cause, error_cause, step_breaks


def step(users, p95, err=0.0, requests=1000, **kw):
    return {"users": users, "p95_ms": p95, "error_rate": err, "requests": requests,
            "failures": int(err * requests), **kw}


def test_first_step_past_either_limit_is_the_breaking_point():
    series = [step(100, 20), step(200, 40), step(300, 480), step(500, 650), step(700, 900)]
    assert breaking_index(series, Limits(p95_ms=500)) == 3
    assert breaking_index(series, Limits(p95_ms=30)) == 1
    assert breaking_index(series, Limits(p95_ms=1000)) is None


def test_error_rate_over_one_percent_breaks_even_when_fast():
    series = [step(100, 5, 0.0), step(200, 6, 0.01), step(300, 7, 0.011)]
    assert breaking_index(series) == 2          # exactly 1% still holds
    assert "error rate 1.1%" in step_breaks(series[2])


def test_a_step_with_no_completed_request_is_broken():
    assert step_breaks(step(1000, 0, requests=0)) == "no request completed"


def test_saturated_generator_is_named_before_anything_else():
    res = {"generator_cpu": 97, "generator_capacity": 100, "pool_timeouts": 40,
           "machine_cpu": 199, "machine_capacity": 200, "roles": {"app": 120}}
    assert cause(res)[0] == "generator"


def test_pool_waiting_or_timeouts_mean_pool_even_with_idle_cpu():
    idle = {"generator_cpu": 20, "generator_capacity": 100, "machine_cpu": 40,
            "machine_capacity": 200, "roles": {"app": 20, "db": 10}}
    assert cause({**idle, "pool_timeouts": 3})[0] == "pool"
    assert cause({**idle, "pool_waiting_mean": 4.5})[0] == "pool"
    assert cause({**idle, "pool_waiting_mean": 0.2})[0] == "unknown"


def test_saturated_machine_names_its_busiest_role():
    busy = {"generator_cpu": 50, "generator_capacity": 100, "machine_cpu": 190,
            "machine_capacity": 200}
    assert cause({**busy, "roles": {"app": 110, "db": 40, "proxy": 10}})[0] == "cpu"
    assert cause({**busy, "roles": {"app": 50, "db": 120}})[0] == "database"


def test_a_machine_busy_with_other_work_is_not_blamed_on_the_shop():
    res = {"generator_cpu": 10, "generator_capacity": 100, "machine_cpu": 198,
           "machine_capacity": 200, "roles": {"app": 30, "db": 8}}
    name, evidence = cause(res)
    assert name == "machine-busy" and "other processes 150%" in evidence


def test_redis_errors_are_named():
    assert cause({"redis_errors": 12, "roles": {}})[0] == "redis"


def test_refusals_by_status_code_win_over_resources():
    s = step(300, 40, 0.2, errors={"list: HTTP 429": 150, "list: HTTP 500": 50})
    assert error_cause(s)[0] == "rate-limit"
    s = step(300, 40, 0.2, errors={"list: HTTP 503": 190, "detail: HTTP 500": 10})
    assert error_cause(s)[0] == "pool"
    assert error_cause(step(300, 40, 0.2, errors={"list: HTTP 500": 200})) is None


def test_aggregate_keeps_to_the_window_and_survives_a_counter_reset():
    samples = [
        {"t": 0, "hosts": {"app": 500}, "roles": {"app": "app"}, "pool": {"timeouts": 0}},
        {"t": 10, "hosts": {"app": 80, "postgres": 20, "pgbouncer": 10},
         "roles": {"app": "app", "postgres": "db", "pgbouncer": "db"},
         "pool": {"timeouts": 5, "waiting": 2, "requests": 100, "wait_ms": 50}},
        {"t": 12, "hosts": {"app": 100, "postgres": 40, "pgbouncer": 10},
         "roles": {"app": "app", "postgres": "db", "pgbouncer": "db"},
         "pool": {"timeouts": 1, "waiting": 4, "requests": 20, "wait_ms": 10}},   # worker restart
        {"t": 14, "hosts": {"app": 90, "postgres": 30, "pgbouncer": 10},
         "roles": {"app": "app", "postgres": "db", "pgbouncer": "db"},
         "pool": {"timeouts": 3, "waiting": 0, "requests": 120, "wait_ms": 110}},
    ]
    res = aggregate(samples, 5, 15)
    assert res["samples"] == 3
    assert res["hosts"]["app"] == 90
    assert res["roles"] == {"app": 90, "db": 30 + 10}
    assert res["pool_timeouts"] == 2          # 5 -> 1 is a reset, 1 -> 3 counts
    assert res["pool_waiting_max"] == 4
    assert res["pool_wait_ms_per_request"] == 1.0   # (0 + 100) ms over (0 + 100) requests
    assert aggregate(samples, 100, 200) == {"samples": 0}
