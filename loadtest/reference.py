"""Every number the reference system recorded that Shoplab's reports compare against
(shared/reference/seed-system.md sections 7-8), and the targets of issue 7, in one place; and,
kept apart and labelled as such, performance-ceiling.md's figures for the bench ratios (another
study, of a naive listing on this class of machine: not the reference system)."""

# The reference's README table: average latency at 50 and 200 users, breaking point (users),
# CPU at failure. Stage-3 and stage-4 figures have no backing data in the reference repo.
STAGES = {
    1: {"name": "single host", "avg_ms_50": 45, "avg_ms_200": 265, "breaking_users": 150,
        "cpu_at_failure_pct": 20, "monthly_usd": 12, "daily_usd": 0.40,
        "deploy_minutes": 5, "config": "3 commands", "usd_per_request": 0.000024},
    2: {"name": "ALB + 2 hosts + RDS + ElastiCache", "avg_ms_50": 40, "avg_ms_200": 200,
        "breaking_users": 200, "cpu_at_failure_pct": 18, "monthly_usd": 85, "daily_usd": 2.83,
        "deploy_minutes": 5, "config": "6 commands", "usd_per_request": 0.000170},
    3: {"name": "ECS Fargate", "avg_ms_50": 43, "avg_ms_200": 185, "breaking_users": 500,
        "cpu_at_failure_pct": 10, "monthly_usd": 60, "daily_usd": 2.00,
        "deploy_minutes": 2, "config": "2 commands", "usd_per_request": 0.000120},
    4: {"name": "k3s on one host", "avg_ms_50": 47, "avg_ms_200": 210, "breaking_users": 700,
        "cpu_at_failure_pct": 24, "monthly_usd": 110, "daily_usd": 3.67,
        "deploy_minutes": 2, "config": "437 lines YAML", "usd_per_request": 0.000220},
}
# cost per request in the reference assumes this monthly volume
REQUESTS_PER_MONTH = 500_000

# docs/load-test-stage1.md: the stage-1 ramp at 200 users (k6, 1 s think time)
STAGE1_AT_200 = {"rps": 754, "avg_ms": 265, "p95_ms": 792, "p99_ms": 1720, "max_ms": 4514,
                 "error_rate": 0.0, "cpu_pct": 20}
# stage-2 ab run, 100 concurrent, no think time (test1-baseline.txt)
STAGE2_AB_100 = {"rps": 101.09, "mean_ms": 989.178, "p50_ms": 587, "p95_ms": 3666,
                 "p99_ms": 3804, "error_rate": 0.0}

# the k6 stage-1 ramp: (target users, minutes) - 2m->10, 2m->50, 2m->100, 2m->200, 1m->0
STAGE1_RAMP = [(10, 2), (50, 2), (100, 2), (200, 2)]
STAGE1_THINK_S = 1.0
# the k6 stage-3 mix: weights of list / detail / search / list-again, think time, thresholds
STAGE3_MIX = {"list": 40, "detail": 30, "search": 15, "list_again": 15}
STAGE3_THINK_S = (0.5, 2.5)
STAGE3_SEARCH_TERMS = ("electronics", "clothing", "home")
# product ids its detail requests draw from (its seed had 50 products)
STAGE3_DETAIL_IDS = range(1, 51)
STAGE3_THRESHOLDS = {"p95_ms": 500, "p99_ms": 1000, "error_rate": 0.05, "min_rps": 100}

# section 8: the claimed tuning findings the experiments re-measure
FINDINGS = {
    "pgbouncer_transaction_vs_session": 3.0,   # "~3x throughput"
    "index_query_ms": (150, 12),               # users.email / products.category indexes
    "readiness_pool_freed": 0.20,              # probes every 5 s -> 30 s freed ~20% of pool
    "pool_max_per_instance": 25,               # MaxOpenConns of the Go app
    "instances": 2,                            # stages 2-4 ran two copies
    "rds_t3_micro_max_connections": 87,
}

# issue 7's targets (a benchmark on the stage-1 lab, generator on the same 2-core box)
TARGETS = {
    "p95_ms_at_50": 25, "p95_ms_at_200": 25, "error_rate": 0.0,
    "breaking_point_users": 1000,
    "listing_rps_no_think_200": 3 * 754,
    "bench_ratio_uncached": 0.50, "bench_ratio_cached": 0.85,
    "large_catalogue_ratio": 0.80,
}

# performance-ceiling.md's figures for the bench ratios: NOT the reference system's. Reports
# quote them for scale, always with CEILING_SOURCE beside them.
CEILING_SOURCE = "performance-ceiling.md"
CEILING = {"bench_ratio_uncached": "naive listing 0.29-0.35",
           "bench_ratio_cached": "1 s response cache 0.87-0.92",
           "large_catalogue_ratio": "naive COUNT(*) per page ~0.15"}
