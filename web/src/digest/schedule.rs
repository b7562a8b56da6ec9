//! The digest on a schedule: `shiplog serve` keeps one task that sleeps until the next
//! configured weekday and local time ([`next_run`], a pure function of the clock's
//! reading), reads the last whole Monday–Sunday week (UTC) through `AppState::read`
//! (so the derived facts are settled first), and sends every target independently.
//!
//! The task sleeps at most an hour at a time and reads the clock again, rather than
//! once until the run: a monotonic sleep does not count a suspended machine and does
//! not follow a wall clock set right, and an hour bounds how late either makes a run.
//! A run the server was not up for is not made up later: the next digest covers the
//! next week, and `shiplog digest send --from … --to …` sends a missed one by hand.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, TimeZone, Utc};
use shiplog_model::Period;

use super::config::{DigestConfig, Schedule};
use super::send::{Delivery, deliver_all};
use crate::app::AppState;

/// Where the loop reads the time: the system's clock, or a test's.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The longest the loop sleeps before reading the clock again.
const LONGEST_SLEEP: Duration = Duration::from_secs(3600);

/// The first run of `schedule` strictly after `now`. A local time that a change to
/// summer time skips runs at the first instant after the gap (02:30 on a day that
/// jumps from 02:00 to 03:00 runs at 03:00); one that the change back repeats runs
/// the first time.
pub fn next_run(now: DateTime<Utc>, schedule: &Schedule) -> DateTime<Utc> {
    let tz = schedule.timezone;
    let today = now.with_timezone(&tz).date_naive();
    // Eight days: today's run may be past, and the same weekday a week on is not.
    for offset in 0..=8u64 {
        let day = today + Days::new(offset);
        if day.weekday() != schedule.weekday {
            continue;
        }
        let at = local_instant(day, schedule);
        if at > now {
            return at;
        }
    }
    unreachable!("a weekday comes within eight days")
}

fn local_instant(day: NaiveDate, schedule: &Schedule) -> DateTime<Utc> {
    let tz = schedule.timezone;
    let mut local = day.and_time(schedule.time);
    // A gap is at most a few hours; a day's minutes bound the walk out of it.
    for _ in 0..=24 * 60 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => local += chrono::Duration::minutes(1),
        }
    }
    unreachable!("no time zone skips a whole day")
}

/// The last whole Monday–Sunday week (UTC days) that has ended by `at`.
pub fn last_whole_week(at: DateTime<Utc>) -> Period {
    let today = at.date_naive();
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    Period::new(monday - Days::new(7), monday).expect("a week has seven days")
}

/// Runs the schedule until the task is dropped (the server aborts it on shutdown).
pub async fn run(state: AppState, schedule: Schedule, clock: Arc<dyn Clock>) {
    loop {
        let (_, deliveries) = next_digest(&state, &schedule, &*clock).await;
        let failed = deliveries.iter().filter(|d| !d.delivered()).count();
        tracing::info!(targets = deliveries.len(), failed, "scheduled digest sent");
    }
}

/// Waits for the first run of `schedule` after the clock's reading and sends that
/// run's week to every target: the week sent, and what came of each delivery.
pub async fn next_digest(
    state: &AppState,
    schedule: &Schedule,
    clock: &dyn Clock,
) -> (Period, Vec<Delivery>) {
    let next = next_run(clock.now(), schedule);
    tracing::info!(next = %next.to_rfc3339(), "next digest");
    loop {
        let now = clock.now();
        if now >= next {
            break;
        }
        let wait = (next - now).to_std().unwrap_or_default().min(LONGEST_SLEEP);
        tokio::time::sleep(wait).await;
    }
    let week = last_whole_week(next);
    (week, send_week(state, week).await)
}

/// Reads the digest of `period` for each configured target's team and sends it.
pub async fn send_week(state: &AppState, period: Period) -> Vec<Delivery> {
    let config: Arc<DigestConfig> = Arc::new(state.config.digest.clone());
    let targets = config.targets.clone();
    let teams: Vec<Option<String>> = targets.iter().map(|t| t.team.clone()).collect();
    let app_config = state.config.clone();
    let read = state
        .read(move |conn| super::read_digests(conn, &app_config, period, &teams))
        .await;
    match read {
        Ok(digests) => deliver_all(config, targets, digests).await,
        Err(e) => {
            tracing::error!(error = ?e, "the scheduled digest could not be read; nothing sent");
            Vec::new()
        }
    }
}

/// Starts the schedule on `state` when the config has one.
pub fn spawn(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    let schedule = state.config.digest.schedule?;
    if state.config.digest.targets.is_empty() {
        tracing::warn!("[digest] has a schedule but no targets: nothing will be sent");
        return None;
    }
    Some(tokio::spawn(run(
        state.clone(),
        schedule,
        Arc::new(SystemClock),
    )))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, Weekday};
    use chrono_tz::Tz;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn schedule(weekday: Weekday, time: &str, tz: Tz) -> Schedule {
        Schedule {
            weekday,
            time: NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
            timezone: tz,
        }
    }

    #[test]
    fn the_next_run_is_the_coming_weekday_at_local_time() {
        let s = schedule(Weekday::Mon, "08:00", Tz::Europe__Oslo);
        // Wednesday 2026-01-07: next Monday the 12th, 08:00 CET = 07:00 UTC.
        assert_eq!(
            next_run(at("2026-01-07T12:00:00Z"), &s),
            at("2026-01-12T07:00:00Z")
        );
        // Monday before 08:00 local: today.
        assert_eq!(
            next_run(at("2026-01-12T06:59:00Z"), &s),
            at("2026-01-12T07:00:00Z")
        );
        // Exactly at the run, or after it: a week on.
        assert_eq!(
            next_run(at("2026-01-12T07:00:00Z"), &s),
            at("2026-01-19T07:00:00Z")
        );
        // Sunday 23:30 UTC is already Monday 00:30 in Oslo: that Monday's 08:00.
        assert_eq!(
            next_run(at("2026-01-11T23:30:00Z"), &s),
            at("2026-01-12T07:00:00Z")
        );
    }

    #[test]
    fn summer_time_moves_the_utc_instant_but_not_the_local_time() {
        let s = schedule(Weekday::Mon, "08:00", Tz::Europe__Oslo);
        // Summer time starts Sunday 2026-03-29: the Monday after is 08:00 CEST = 06:00 UTC.
        assert_eq!(
            next_run(at("2026-03-27T12:00:00Z"), &s),
            at("2026-03-30T06:00:00Z")
        );
        // It ends Sunday 2026-10-25: 08:00 CET = 07:00 UTC again.
        assert_eq!(
            next_run(at("2026-10-20T12:00:00Z"), &s),
            at("2026-10-26T07:00:00Z")
        );
        let ny = schedule(Weekday::Fri, "17:00", Tz::America__New_York);
        assert_eq!(
            next_run(at("2026-03-06T00:00:00Z"), &ny),
            at("2026-03-06T22:00:00Z")
        );
        assert_eq!(
            next_run(at("2026-03-07T00:00:00Z"), &ny),
            at("2026-03-13T21:00:00Z")
        );
    }

    #[test]
    fn a_skipped_local_time_runs_after_the_gap_and_a_repeated_one_the_first_time() {
        // Sunday 2026-03-29 in Oslo: 02:00 jumps to 03:00; 02:30 does not exist.
        let gap = schedule(Weekday::Sun, "02:30", Tz::Europe__Oslo);
        assert_eq!(
            next_run(at("2026-03-28T12:00:00Z"), &gap),
            at("2026-03-29T01:00:00Z")
        );
        // Sunday 2026-10-25: 02:30 happens twice (CEST, then CET); the first is 00:30 UTC.
        let twice = schedule(Weekday::Sun, "02:30", Tz::Europe__Oslo);
        assert_eq!(
            next_run(at("2026-10-24T12:00:00Z"), &twice),
            at("2026-10-25T00:30:00Z")
        );
        // After the first, the second is not a second run: a week on.
        assert_eq!(
            next_run(at("2026-10-25T00:30:00Z"), &twice),
            at("2026-11-01T01:30:00Z")
        );
    }

    #[test]
    fn every_weekday_is_found_from_every_day() {
        let days = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        for start in 0..7 {
            let now = at("2026-01-05T10:00:00Z") + chrono::Duration::days(start);
            for day in days {
                let next = next_run(now, &schedule(day, "09:00", Tz::UTC));
                assert_eq!(next.weekday(), day);
                assert!(
                    next > now && next - now <= chrono::Duration::days(7),
                    "{now} {day:?} {next}"
                );
            }
        }
    }

    #[test]
    fn the_week_sent_is_the_last_whole_one() {
        let w = last_whole_week(at("2026-02-16T07:00:00Z"));
        assert_eq!(
            (w.from().to_string(), w.to().to_string()),
            ("2026-02-09".into(), "2026-02-16".into())
        );
        let w = last_whole_week(at("2026-02-15T23:59:00Z"));
        assert_eq!(w.from().to_string(), "2026-02-02");
    }
}
