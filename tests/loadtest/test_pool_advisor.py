"""Pool advisor arithmetic: every recommendation is one pool_budget() accepts, and one more
connection per worker is one it refuses."""
import pytest

from loadtest import pool_advisor
from loadtest.pool_advisor import advise, largest_pool, pool_budget, rds_class_max_connections


def test_rds_formula_matches_what_the_reference_saw_on_t3_micro():
    assert rds_class_max_connections("db.t3.micro") == 87
    # twice the memory, a bit more than twice the connections (the OS reserve is fixed)
    assert 2 * 87 < rds_class_max_connections("db.t3.small") < 2 * 87 + 30
    assert rds_class_max_connections("db.r6g.2xlarge") == 5000 or \
        rds_class_max_connections("db.r6g.2xlarge") < 5000
    with pytest.raises(SystemExit):
        rds_class_max_connections("db.x99.huge")


def test_largest_direct_pool_is_the_budget_boundary():
    # 50 - 3 superuser - 5 reserved = 42 usable; 2 hosts x 2 workers -> 10 each (40), 11 is 44
    assert largest_pool(2, 2, 50, reserve=5) == 10
    assert pool_budget(2, 2, 10, 50, 3, 5)["ok"]
    assert not pool_budget(2, 2, 11, 50, 3, 5)["ok"]
    assert largest_pool(4, 4, 10, reserve=5) == 0     # not even one connection each


def test_reference_shape_is_refused_and_the_advice_is_accepted():
    maxc = rds_class_max_connections("db.t3.micro")
    # the reference: 2 copies x 25 connections (one "worker" each) fit 87, but
    # 2 hosts x 2 workers x 25 do not
    assert not pool_budget(2, 2, 25, maxc, 3, 5)["ok"]
    r = advise(maxc, hosts=2, workers=2, threads=4, reserve=5)
    assert r["direct_pool_max_size"] == 4           # never more than the threads
    assert r["direct_pool_max_size_budget"] == 19   # (87 - 8) // 4
    assert r["pgbouncer_check"]["ok"]
    b = r["pgbouncer"]
    assert b["max_client_conn"] == 2 * 2 * 4
    assert b["default_pool_size"] + b["reserve_pool_size"] <= r["postgres_available"]


def test_pgbouncer_advice_on_a_tiny_database():
    r = advise(20, hosts=2, workers=4, threads=8, reserve=5)
    assert r["direct_pool_max_size_budget"] == 1
    b = r["pgbouncer"]
    assert b["default_pool_size"] == 12 - 5 and b["reserve_pool_size"] == 5
    assert r["pgbouncer_check"]["ok"]


def test_cli_prints_both_ways(capsys):
    assert pool_advisor.main(["--max-connections", "100", "--hosts", "1", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "DB_POOL_MAX_SIZE=4" in out and "pool_mode = transaction" in out
