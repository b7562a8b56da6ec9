-- The weekly report's Parquet schema (SPEC §5): the CSV's columns, unrounded.
CREATE OR REPLACE TEMP TABLE weekly_report (
    week_start                   DATE,
    service                      VARCHAR,
    deployments                  BIGINT,
    deploy_days                  BIGINT,
    lead_time_samples            BIGINT,
    lead_time_median_hours       DOUBLE,
    lead_time_p90_hours          DOUBLE,
    failed_deployments           BIGINT,
    change_failure_rate          DOUBLE,
    recovered_deployments        BIGINT,
    recovery_median_hours        DOUBLE,
    incidents                    BIGINT,
    resolved_incidents           BIGINT,
    time_to_restore_median_hours DOUBLE,
    rework_deployments           BIGINT,
    rework_rate                  DOUBLE
);
