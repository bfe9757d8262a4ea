//! When timers are due: the instants at which a BPMN timer event fires.
//!
//! BPMN 2.0.2 §10.5.5 ("Timer Event Definition") gives a timer one of three bodies and points
//! at ISO 8601 for their meaning; [`bpmn_models::timer`] parses them. This module turns a
//! parsed body into due instants, as milliseconds since 1970-01-01T00:00:00Z, the unit in
//! which the engine core receives `now`. It is pure: it never reads a clock; the activation
//! instant, the previous due instant and the engine's UTC offset are parameters.
//!
//! * `timeDate`: the given instant, even when it lies before the activation (the caller then
//!   fires at once, as Camunda 7 and 8 both do for a date in the past).
//! * `timeDuration`: activation + duration (BPMN: "a specific time interval after which the
//!   event fires"). As in Camunda (`java.time` `ZonedDateTime.plus(Period).plus(Duration)`
//!   in Camunda 8, `javax.xml.datatype.Duration.addTo(Calendar)` in Camunda 7), years and
//!   months are calendar arithmetic: all months are added at once to the local civil date and
//!   the day is clamped to the length of the target month (`P1M` from January 31st is
//!   February 28th or 29th, `P1Y` from February 29th is February 28th). Weeks, days, hours,
//!   minutes and seconds are then added as exact lengths: a week is 7 days and a day is
//!   24 hours, which is what Java does in a zone with a fixed offset.
//! * `timeCycle`, ISO 8601:2004 §4.5 repeating interval `R[n]/…` (`n` omitted: unbounded):
//!   the timer fires at most `n` times.
//!   * `R[n]/duration`: at activation + duration, then every duration after the previous
//!     due instant (Camunda 7 and 8 alike).
//!   * `R[n]/start/duration`: the occurrences are `start`, `start + duration`,
//!     `start + 2·duration`, … (each one the previous one plus the duration, so a monthly
//!     cycle from January 31st goes on with February 28th, March 28th, as Java's stepping
//!     does), the first `n` of them. The first due instant is the first occurrence at or
//!     after the activation. Occurrences before the activation are missed and count against
//!     `n`: `R3/…T10:00/PT1H` activated at 10:30 fires at 11:00 and 12:00 only. This is the
//!     ISO 8601 reading (the `n` intervals are fixed in time by `start`) and what Camunda 7
//!     does (`DurationHelper.getDateAfterRepeat` steps from the start, at most `n` times,
//!     to the first occurrence strictly after now, and gives up when all lie in the past).
//!     Deviations: an occurrence exactly at the activation instant is due (Camunda 7 skips
//!     to the next one), and Camunda 8 differs (its `Interval.toEpochMilli` fires a cycle
//!     whose start is in the past immediately, then steps from that firing).
//!   * `R[n]/duration/end`: like `R[n]/duration`, but no occurrence after `end` (one exactly
//!     at `end` is due). Camunda 8 does not accept this form; Camunda 7 counts the `n`
//!     occurrences back from `end` instead.
//!
//!   Calendar arithmetic in a cycle uses the UTC offset of the cycle's date (start or end)
//!   when it has one, as Camunda 8's `Interval.withStart` keeps the start's zone, and the
//!   engine's offset otherwise.
//! * `timeCycle`, cron (the 6-field Spring dialect Camunda 8 uses): the first matching second
//!   strictly after the activation, then the first one strictly after the previous due
//!   instant; unbounded. The fields are matched against local civil time at the engine's
//!   offset (Camunda 8 evaluates cron in the JVM's default zone), so with offset 0 they
//!   are UTC.
//!
//! Time zones: a date-time without an offset (ISO 8601 "local time") means the engine's
//! zone, which this module receives as a fixed UTC offset in minutes (`tz_offset_minutes`,
//! east of UTC positive). IANA zones (daylight saving time) are not supported: a bracketed
//! zone id such as `[Europe/Berlin]` is ignored in favour of the explicit offset before it,
//! and the engine's offset is the same all year.
//!
//! Resolution and range: instants are whole milliseconds; a fraction of a millisecond in a
//! date or duration is rounded up, so that a timer never fires early and a non-zero cycle
//! never has a zero step. Instants given to this module must lie in the years 0000–9999
//! (UTC), durations may not exceed 10 000 years, and every instant returned lies before
//! 10000-01-01T00:00:00Z; anything else is a [`ScheduleError`], never an overflow.

use std::borrow::Cow;

use bpmn_models::calendar::{civil_from_days, days_from_civil, days_in_month};
use bpmn_models::timer::{
    self, CronSchedule, Cycle, DateTime, Duration, ExpressionLanguage, Offset, TimerError,
    TimerKind, TimerValue,
};

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// 0000-01-01T00:00:00Z, the earliest instant this module accepts.
pub const MIN_INSTANT: i64 = -62_167_219_200_000;
/// 10000-01-01T00:00:00Z: every accepted and returned instant lies before it.
pub const MAX_INSTANT: i64 = 253_402_300_800_000;
/// Largest engine UTC offset, in minutes either side of UTC: `±18:59`, the range of an offset
/// written in a timer body.
pub const MAX_OFFSET_MINUTES: i32 = 18 * 60 + 59;

/// Longest step: 10 000 years of months, or of milliseconds.
const MAX_STEP_MONTHS: u64 = 12 * 10_000;
const MAX_STEP_MS: i64 = MAX_INSTANT - MIN_INSTANT;

/// Why a schedule cannot be built or a due instant computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The timer body is an expression; it must be evaluated before it can be scheduled.
    #[error(
        "expected an ISO 8601 date, duration or repeating interval, or a cron expression, \
         found a {} expression `{expression}`: evaluate it and pass the result to \
         `Schedule::from_text`",
        language_name(*.language)
    )]
    Expression {
        language: ExpressionLanguage,
        expression: String,
    },
    /// The text of a run-time value does not parse.
    #[error("{error} in `{text}`")]
    Parse { text: String, error: TimerError },
    /// A value is outside what can be scheduled (see the module documentation).
    #[error("expected {expected}, found {found}")]
    OutOfRange {
        expected: Cow<'static, str>,
        found: String,
    },
}

fn language_name(language: ExpressionLanguage) -> &'static str {
    match language {
        ExpressionLanguage::Feel => "FEEL",
        ExpressionLanguage::Juel => "JUEL",
    }
}

/// A compiled timer body: computes when the timer is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    form: Form,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    Date(DateTime),
    Duration {
        duration: Duration,
        step: Step,
    },
    Repeating {
        repetitions: Option<u32>,
        start: Option<DateTime>,
        duration: Duration,
        step: Step,
        end: Option<DateTime>,
    },
    Cron(CronSchedule),
}

impl TryFrom<&TimerValue> for Schedule {
    type Error = ScheduleError;

    fn try_from(value: &TimerValue) -> Result<Self, ScheduleError> {
        Schedule::new(value)
    }
}

impl Schedule {
    /// Compiles a parsed timer body. Refuses [`TimerValue::Expression`] (evaluate it, then
    /// use [`Schedule::from_text`]), durations longer than 10 000 years and repeating
    /// intervals with a zero duration.
    pub fn new(value: &TimerValue) -> Result<Schedule, ScheduleError> {
        let form = match value {
            TimerValue::Date(dt) => Form::Date(dt.clone()),
            TimerValue::Duration(duration) => Form::Duration {
                duration: *duration,
                step: Step::of(duration)?,
            },
            TimerValue::Cycle(Cycle::Repeating {
                repetitions,
                start,
                duration,
                end,
            }) => {
                if duration.is_zero() {
                    return Err(ScheduleError::OutOfRange {
                        expected: "a non-zero duration in a repeating interval".into(),
                        found: format!("`{duration}`"),
                    });
                }
                Form::Repeating {
                    repetitions: *repetitions,
                    start: start.clone(),
                    duration: *duration,
                    step: Step::of(duration)?,
                    end: end.clone(),
                }
            }
            TimerValue::Cycle(Cycle::Cron(cron)) => Form::Cron(*cron),
            TimerValue::Expression { language, source } => {
                return Err(ScheduleError::Expression {
                    language: *language,
                    expression: source.clone(),
                });
            }
        };
        Ok(Schedule { form })
    }

    /// Parses and compiles the value of a timer body computed at run time (the string a
    /// FEEL or JUEL expression evaluated to), read as the given kind of body.
    pub fn from_text(kind: TimerKind, text: &str) -> Result<Schedule, ScheduleError> {
        let value = timer::parse_timer(kind, text).map_err(|error| ScheduleError::Parse {
            text: text.to_owned(),
            error,
        })?;
        Schedule::new(&value)
    }

    /// The kind of timer body this schedule was compiled from.
    pub fn kind(&self) -> TimerKind {
        match self.form {
            Form::Date(_) => TimerKind::Date,
            Form::Duration { .. } => TimerKind::Duration,
            Form::Repeating { .. } | Form::Cron(_) => TimerKind::Cycle,
        }
    }

    /// Whether the timer can fire more than once (a `timeCycle`).
    pub fn is_cycle(&self) -> bool {
        self.kind() == TimerKind::Cycle
    }

    /// The first due instant of a timer activated at `activated_at` (ms since the epoch), with
    /// the engine at `tz_offset_minutes` east of UTC. `None` when the timer never fires: a
    /// cycle with `R0`, whose occurrences all lie before the activation or after its end, or a
    /// cron schedule that matches no date.
    ///
    /// For a date this may lie before `activated_at` (the timer is overdue); for a duration or
    /// a cycle it is at or after `activated_at` (strictly after, except for `PT0S` and for an
    /// occurrence of `R[n]/start/duration` exactly at the activation).
    pub fn first_due(
        &self,
        activated_at: i64,
        tz_offset_minutes: i32,
    ) -> Result<Option<i64>, ScheduleError> {
        check_instant(activated_at)?;
        check_offset(tz_offset_minutes)?;
        match &self.form {
            Form::Date(dt) => date_instant(dt, tz_offset_minutes).map(Some),
            Form::Duration { duration, step } => step
                .add(activated_at, tz_offset_minutes)
                .map(Some)
                .ok_or_else(|| beyond_range(duration, activated_at)),
            Form::Repeating {
                repetitions,
                start: Some(start),
                step,
                duration,
                ..
            } => {
                let grid = Grid::new(start, *step, *repetitions, tz_offset_minutes)?;
                grid.at_or_after(activated_at, duration)
            }
            Form::Repeating {
                repetitions,
                start: None,
                duration,
                step,
                end,
            } => {
                if *repetitions == Some(0) {
                    return Ok(None);
                }
                step_before_end(
                    activated_at,
                    *step,
                    duration,
                    end.as_ref(),
                    tz_offset_minutes,
                )
            }
            Form::Cron(cron) => cron_after(cron, activated_at, tz_offset_minutes),
        }
    }

    /// The due instant after a firing of a cycle: `previous_due` is the instant the timer was
    /// due (not when it was handled) and `fired` how many times it has fired so far, counting
    /// that firing. `None` when the cycle is exhausted (`fired` reached `n` in `R[n]`, the next
    /// occurrence lies after the end or beyond the `n`th occurrence from the start) and always
    /// for dates and durations, which fire once. Strictly after `previous_due` otherwise.
    ///
    /// For `R[n]/start/duration` the result is the first occurrence strictly after
    /// `previous_due`, whether or not `previous_due` is itself an occurrence.
    pub fn next_due(
        &self,
        previous_due: i64,
        fired: u32,
        tz_offset_minutes: i32,
    ) -> Result<Option<i64>, ScheduleError> {
        check_instant(previous_due)?;
        check_offset(tz_offset_minutes)?;
        match &self.form {
            Form::Date(_) | Form::Duration { .. } => Ok(None),
            Form::Repeating { repetitions, .. } if repetitions.is_some_and(|n| fired >= n) => {
                Ok(None)
            }
            Form::Repeating {
                repetitions,
                start: Some(start),
                step,
                duration,
                ..
            } => {
                let grid = Grid::new(start, *step, *repetitions, tz_offset_minutes)?;
                // `previous_due < MAX_INSTANT`, so this cannot overflow.
                grid.at_or_after(previous_due + 1, duration)
            }
            Form::Repeating {
                start: None,
                duration,
                step,
                end,
                ..
            } => step_before_end(
                previous_due,
                *step,
                duration,
                end.as_ref(),
                tz_offset_minutes,
            ),
            Form::Cron(cron) => cron_after(cron, previous_due, tz_offset_minutes),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------

/// A duration split into its calendar part (months) and its exact part (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    /// Years × 12 + months, at most [`MAX_STEP_MONTHS`].
    months: u32,
    /// Weeks, days, hours, minutes and seconds, rounded up to whole milliseconds; at most
    /// [`MAX_STEP_MS`].
    millis: i64,
}

/// `t` (ms since the epoch) plus a duration, exactly as a timer with that
/// `timeDuration` activated at `t` becomes due: years and months by the
/// calendar at `offset_minutes` (the day clamped to the month's length),
/// the rest as fixed lengths. `None` when the duration is longer than 10000
/// years or the result is not before [`MAX_INSTANT`]. The scenario runner's
/// `advanceClock` uses it, so that advancing by a timer's duration makes the
/// timer due.
pub fn add_duration(t: i64, duration: &Duration, offset_minutes: i32) -> Option<i64> {
    Step::of(duration).ok()?.add(t, offset_minutes)
}

impl Step {
    fn of(duration: &Duration) -> Result<Step, ScheduleError> {
        let too_long = || ScheduleError::OutOfRange {
            expected: "a duration of at most 10000 years".into(),
            found: format!("`{duration}`"),
        };
        let months = duration
            .years
            .checked_mul(12)
            .and_then(|m| m.checked_add(duration.months))
            .filter(|m| *m <= MAX_STEP_MONTHS)
            .and_then(|m| u32::try_from(m).ok())
            .ok_or_else(too_long)?;
        let exact = Duration {
            years: 0,
            months: 0,
            ..*duration
        }
        .fixed_length()
        .ok_or_else(too_long)?;
        let millis = i64::try_from(exact.as_secs())
            .ok()
            .and_then(|s| s.checked_mul(SECOND_MS))
            .and_then(|ms| ms.checked_add(i64::from(exact.subsec_nanos().div_ceil(1_000_000))))
            .filter(|ms| *ms <= MAX_STEP_MS)
            .ok_or_else(too_long)?;
        Ok(Step { months, millis })
    }

    /// `t` plus this step, with months added in local civil time at `offset_minutes`.
    /// `None` when the result is not before [`MAX_INSTANT`].
    fn add(self, t: i64, offset_minutes: i32) -> Option<i64> {
        let mut t = t;
        if self.months != 0 {
            let shift = i64::from(offset_minutes) * MINUTE_MS;
            let local = t.checked_add(shift)?;
            let (y, m, d) = civil_from_days(local.div_euclid(DAY_MS));
            let time_of_day = local.rem_euclid(DAY_MS);
            let month_index = y
                .checked_mul(12)?
                .checked_add(i64::from(m) - 1)?
                .checked_add(i64::from(self.months))?;
            let year = month_index.div_euclid(12);
            if year > 9999 {
                return None;
            }
            let month = (month_index.rem_euclid(12) + 1) as u8;
            let day = d.min(days_in_month(year, month));
            t = (days_from_civil(year, month, day) * DAY_MS + time_of_day).checked_sub(shift)?;
        }
        t.checked_add(self.millis).filter(|t| *t < MAX_INSTANT)
    }
}

/// The occurrences of `R[n]/start/duration`: `start` stepped `k` times, `k < n`.
struct Grid {
    start: i64,
    step: Step,
    repetitions: Option<u32>,
    /// Offset for calendar arithmetic: the start's, or the engine's for a local start.
    offset: i32,
}

impl Grid {
    fn new(
        start: &DateTime,
        step: Step,
        repetitions: Option<u32>,
        tz: i32,
    ) -> Result<Grid, ScheduleError> {
        Ok(Grid {
            start: date_instant(start, tz)?,
            step,
            repetitions,
            offset: offset_of(start, tz),
        })
    }

    /// The first occurrence at or after `target`, if there is one among the first `n`.
    fn at_or_after(&self, target: i64, duration: &Duration) -> Result<Option<i64>, ScheduleError> {
        let within = |k: u64| self.repetitions.is_none_or(|n| k < u64::from(n));
        if !within(0) {
            return Ok(None);
        }
        if self.start >= target {
            return Ok(Some(self.start));
        }
        if self.step.months == 0 {
            // Exact steps: the index is a division. Both operands are positive (`Schedule::new`
            // refuses a zero duration, and a non-zero one is at least 1 ms after rounding up)
            // and bounded by the instant range, so nothing overflows.
            let d = self.step.millis.max(1);
            let gap = target - self.start;
            let k = gap / d + i64::from(gap % d != 0);
            if !within(k as u64) {
                return Ok(None);
            }
            return self
                .start
                .checked_add(k.checked_mul(d).unwrap_or(i64::MAX))
                .filter(|t| *t < MAX_INSTANT)
                .map(Some)
                .ok_or_else(|| beyond_range(duration, target));
        }
        // Calendar steps depend on the day reached so far (clamping), so walk. Each step is at
        // least 28 days and the walk stays below year 10000: at most ~130 000 steps.
        let mut t = self.start;
        let mut k: u64 = 0;
        while t < target {
            k += 1;
            if !within(k) {
                return Ok(None);
            }
            t = self
                .step
                .add(t, self.offset)
                .ok_or_else(|| beyond_range(duration, t))?;
        }
        Ok(Some(t))
    }
}

/// `from` plus one step, unless that is after `end`.
fn step_before_end(
    from: i64,
    step: Step,
    duration: &Duration,
    end: Option<&DateTime>,
    tz: i32,
) -> Result<Option<i64>, ScheduleError> {
    let offset = end.map_or(tz, |e| offset_of(e, tz));
    let end = match end {
        Some(e) => Some(date_instant(e, tz)?),
        None => None,
    };
    match step.add(from, offset) {
        Some(t) if end.is_some_and(|e| t > e) => Ok(None),
        Some(t) => Ok(Some(t)),
        // Beyond year 9999 is after any end.
        None if end.is_some() => Ok(None),
        None => Err(beyond_range(duration, from)),
    }
}

/// The first second matching `cron` strictly after `t`, in local civil time at `tz`.
fn cron_after(cron: &CronSchedule, t: i64, tz: i32) -> Result<Option<i64>, ScheduleError> {
    let shift = i64::from(tz) * MINUTE_MS;
    let local = t + shift; // both bounded: no overflow
    let (y, mo, d) = civil_from_days(local.div_euclid(DAY_MS));
    let secs = local.rem_euclid(DAY_MS) / SECOND_MS;
    let (h, mi, s) = (
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
    );
    // `t` is within years 0000–9999, so the local year is within -1..=10000.
    let year = i32::try_from(y).map_err(|_| out_of_range_instant(t))?;
    let Some((ny, nmo, nd, nh, nmi, ns)) = cron.next_after(year, mo, d, h, mi, s) else {
        return Ok(None);
    };
    let due = days_from_civil(i64::from(ny), nmo, nd) * DAY_MS
        + i64::from(nh) * HOUR_MS
        + i64::from(nmi) * MINUTE_MS
        + i64::from(ns) * SECOND_MS
        - shift;
    if due >= MAX_INSTANT {
        return Err(ScheduleError::OutOfRange {
            expected: "a due instant before 10000-01-01T00:00:00Z".into(),
            found: format!(
                "the next cron match after {} ({ny:04}-{nmo:02}-{nd:02})",
                format_utc(t)
            ),
        });
    }
    Ok(Some(due))
}

// ---------------------------------------------------------------------------------------------
// Instants and civil time
// ---------------------------------------------------------------------------------------------

fn check_instant(t: i64) -> Result<(), ScheduleError> {
    if (MIN_INSTANT..MAX_INSTANT).contains(&t) {
        Ok(())
    } else {
        Err(out_of_range_instant(t))
    }
}

fn out_of_range_instant(t: i64) -> ScheduleError {
    ScheduleError::OutOfRange {
        expected: "an instant in the years 0000-9999 (UTC)".into(),
        found: format!("{t} ms since the epoch"),
    }
}

/// The UTC offset, in minutes east, of `zone` at `millis` (0 without a
/// zone: UTC).
pub fn zone_offset_minutes(zone: Option<&jiff::tz::TimeZone>, millis: i64) -> i32 {
    let Some(zone) = zone else {
        return 0;
    };
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(t) => zone.to_offset(t).seconds() / 60,
        Err(_) => 0,
    }
}

/// A due time computed in a time zone: first with the zone's offset at
/// `at` (activation or previous firing), then, when the zone's offset at
/// the result differs (a daylight-saving change in between), once more
/// with that one, so a local time keeps its wall-clock meaning.
pub fn due_in_zone<E>(
    zone: Option<&jiff::tz::TimeZone>,
    at: i64,
    compute: impl Fn(i32) -> Result<Option<i64>, E>,
) -> Result<Option<i64>, E> {
    let first = zone_offset_minutes(zone, at);
    let due = compute(first)?;
    match due {
        Some(d) if zone.is_some() && zone_offset_minutes(zone, d) != first => {
            compute(zone_offset_minutes(zone, d))
        }
        other => Ok(other),
    }
}

fn check_offset(minutes: i32) -> Result<(), ScheduleError> {
    if (-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(&minutes) {
        Ok(())
    } else {
        Err(ScheduleError::OutOfRange {
            expected: format!(
                "an engine UTC offset in -{MAX_OFFSET_MINUTES}..={MAX_OFFSET_MINUTES} minutes"
            )
            .into(),
            found: minutes.to_string(),
        })
    }
}

fn beyond_range(duration: &Duration, from: i64) -> ScheduleError {
    ScheduleError::OutOfRange {
        expected: "a due instant before 10000-01-01T00:00:00Z".into(),
        found: format!("`{duration}` after {}", format_utc(from)),
    }
}

/// The UTC offset a date-time was written with; the engine's for a local time.
fn offset_of(dt: &DateTime, tz: i32) -> i32 {
    match dt.offset {
        Offset::Local => tz,
        Offset::Utc => 0,
        Offset::Minutes(m) => i32::from(m),
    }
}

/// A parsed date-time as an instant (a local time at the engine's offset `tz`), with a
/// fraction of a millisecond rounded up.
fn date_instant(dt: &DateTime, tz: i32) -> Result<i64, ScheduleError> {
    // Years are 0000–9999 and offsets below a day: every term is small.
    let t = days_from_civil(i64::from(dt.year), dt.month, dt.day) * DAY_MS
        + i64::from(dt.hour) * HOUR_MS
        + i64::from(dt.minute) * MINUTE_MS
        + i64::from(dt.second) * SECOND_MS
        + i64::from(dt.nanos.div_ceil(1_000_000))
        - i64::from(offset_of(dt, tz)) * MINUTE_MS;
    if t >= MAX_INSTANT {
        return Err(ScheduleError::OutOfRange {
            expected: "a date-time before 10000-01-01T00:00:00Z".into(),
            found: format!("`{dt}`"),
        });
    }
    Ok(t)
}

/// An instant as UTC text, `2026-01-31T10:00:00Z` (milliseconds only when
/// not zero: `…T10:00:00.500Z`), for messages and the CLI.
pub fn format_utc(t: i64) -> String {
    // Not jiff's `Timestamp`: it ends on 9999-12-30, and due instants
    // reach the end of 9999.
    let (y, m, d) = civil_from_days(t.div_euclid(DAY_MS));
    let ms = t.rem_euclid(DAY_MS);
    let millis = ms % SECOND_MS;
    let fraction = if millis == 0 {
        String::new()
    } else {
        format!(".{millis:03}")
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{fraction}Z",
        ms / HOUR_MS,
        ms / MINUTE_MS % 60,
        ms / SECOND_MS % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpmn_models::timer::parse_time_date;

    /// An instant written with an explicit offset, through the parser's own conversion.
    fn at(text: &str) -> i64 {
        let (secs, nanos) = parse_time_date(text)
            .unwrap()
            .unix_timestamp()
            .expect("test instants carry an offset");
        secs * 1000 + i64::from(nanos.div_ceil(1_000_000))
    }

    fn schedule(kind: TimerKind, text: &str) -> Schedule {
        Schedule::from_text(kind, text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn civil_days_round_trip() {
        let cases: &[((i64, u8, u8), i64)] = &[
            ((1970, 1, 1), 0),
            ((1969, 12, 31), -1),
            ((2000, 2, 29), 11_016),
            ((2026, 1, 1), 20_454),
            ((0, 1, 1), -719_528),
            ((9999, 12, 31), 2_932_896),
            ((1600, 3, 1), -135_080),
        ];
        for ((y, m, d), days) in cases {
            assert_eq!(days_from_civil(*y, *m, *d), *days, "{y}-{m}-{d}");
            assert_eq!(civil_from_days(*days), (*y, *m, *d), "{days}");
        }
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!(d >= 1 && d <= days_in_month(y, m), "{days}");
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(MIN_INSTANT, days_from_civil(0, 1, 1) * DAY_MS);
        assert_eq!(MAX_INSTANT, days_from_civil(10_000, 1, 1) * DAY_MS);
        assert_eq!(
            format_utc(at("2026-01-31T10:00:00.5Z")),
            "2026-01-31T10:00:00.500Z"
        );
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn dates() {
        let activated = at("2026-03-01T00:00:00Z");
        // (text, engine offset, due)
        let cases: &[(&str, i32, &str)] = &[
            ("2026-05-01T12:00:00Z", 0, "2026-05-01T12:00:00Z"),
            ("2026-05-01T12:00:00+02:00", 0, "2026-05-01T10:00:00Z"),
            ("2026-05-01T12:00:00-05:30", 60, "2026-05-01T17:30:00Z"),
            ("2026-05-01T12:00:00", 120, "2026-05-01T10:00:00Z"),
            ("2026-05-01T12:00:00", -300, "2026-05-01T17:00:00Z"),
            ("2026-05-01T12:00:00", 0, "2026-05-01T12:00:00Z"),
            ("2026-05-01", 60, "2026-04-30T23:00:00Z"),
            (
                "2026-05-01T12:00:00+01:00[Europe/Berlin]",
                0,
                "2026-05-01T11:00:00Z",
            ),
            // A fraction of a millisecond is rounded up.
            ("2026-05-01T12:00:00.0001Z", 0, "2026-05-01T12:00:00.001Z"),
            // In the past: due at once, the caller fires it.
            ("2020-01-01T00:00:00Z", 0, "2020-01-01T00:00:00Z"),
            ("0000-01-01T00:00:00Z", 0, "0000-01-01T00:00:00Z"),
            ("9999-12-31T23:59:59.999Z", 0, "9999-12-31T23:59:59.999Z"),
        ];
        for (text, tz, due) in cases {
            let s = schedule(TimerKind::Date, text);
            assert_eq!(s.kind(), TimerKind::Date);
            assert!(!s.is_cycle());
            assert_eq!(
                s.first_due(activated, *tz),
                Ok(Some(at(due))),
                "{text} at {tz}"
            );
            assert_eq!(s.next_due(at(due), 1, *tz), Ok(None), "{text}");
        }
        let late = schedule(TimerKind::Date, "9999-12-31T23:59:59-18:00");
        let err = late.first_due(activated, 0).unwrap_err();
        assert!(
            err.to_string().starts_with("expected a date-time before"),
            "{err}"
        );
        let late_local = schedule(TimerKind::Date, "9999-12-31T23:00:00");
        assert!(late_local.first_due(activated, 0).unwrap().is_some());
        assert!(late_local.first_due(activated, -120).is_err());
    }

    #[test]
    fn durations() {
        // (duration, activated, engine offset, due)
        let cases: &[(&str, &str, i32, &str)] = &[
            ("PT10M", "2026-01-01T00:00:00Z", 0, "2026-01-01T00:10:00Z"),
            ("PT0S", "2026-01-01T00:00:00Z", 0, "2026-01-01T00:00:00Z"),
            (
                "PT1.5S",
                "2026-01-01T00:00:00Z",
                0,
                "2026-01-01T00:00:01.5Z",
            ),
            (
                "PT0.0001S",
                "2026-01-01T00:00:00Z",
                0,
                "2026-01-01T00:00:00.001Z",
            ),
            ("PT36H", "2026-01-01T00:00:00Z", 0, "2026-01-02T12:00:00Z"),
            ("P1W", "2026-01-28T09:00:00Z", 0, "2026-02-04T09:00:00Z"),
            ("P1W2D", "2026-01-28T09:00:00Z", 0, "2026-02-06T09:00:00Z"),
            // Days are 24 hours, also across a European daylight saving change.
            ("P1D", "2026-03-28T12:00:00Z", 60, "2026-03-29T12:00:00Z"),
            // Month-end clamping, leap years.
            ("P1M", "2026-01-31T10:00:00Z", 0, "2026-02-28T10:00:00Z"),
            ("P1M", "2024-01-31T10:00:00Z", 0, "2024-02-29T10:00:00Z"),
            ("P1M", "2026-03-31T10:00:00Z", 0, "2026-04-30T10:00:00Z"),
            ("P2M", "2025-12-31T10:00:00Z", 0, "2026-02-28T10:00:00Z"),
            ("P13M", "2023-01-31T10:00:00Z", 0, "2024-02-29T10:00:00Z"),
            ("P1Y", "2024-02-29T12:00:00Z", 0, "2025-02-28T12:00:00Z"),
            ("P4Y", "2024-02-29T12:00:00Z", 0, "2028-02-29T12:00:00Z"),
            ("P100Y", "2000-02-29T12:00:00Z", 0, "2100-02-28T12:00:00Z"),
            (
                "P1Y2DT3H",
                "2024-01-31T10:00:00Z",
                0,
                "2025-02-02T13:00:00Z",
            ),
            ("P1M1D", "2026-01-31T10:00:00Z", 0, "2026-03-01T10:00:00Z"),
            // Months are added to the local date at the engine's offset: 2026-01-30T23:30Z is
            // January 31st at +02:00, and February 28th 01:30 there is 2026-02-27T23:30Z.
            ("P1M", "2026-01-30T23:30:00Z", 120, "2026-02-27T23:30:00Z"),
            ("P1M", "2026-01-30T23:30:00Z", 0, "2026-02-28T23:30:00Z"),
            // 2026-03-01T02:00Z is still February 28th at -05:00.
            ("P1M", "2026-03-01T02:00:00Z", -300, "2026-03-29T02:00:00Z"),
            ("P1M", "2026-03-01T02:00:00Z", 0, "2026-04-01T02:00:00Z"),
            ("P7000Y", "2026-01-01T00:00:00Z", 0, "9026-01-01T00:00:00Z"),
        ];
        for (text, from, tz, due) in cases {
            let s = schedule(TimerKind::Duration, text);
            assert_eq!(s.kind(), TimerKind::Duration);
            assert_eq!(
                s.first_due(at(from), *tz),
                Ok(Some(at(due))),
                "{text} from {from} at {tz}"
            );
            assert_eq!(s.next_due(at(due), 1, *tz), Ok(None), "{text}");
        }
    }

    #[test]
    fn huge_durations_are_errors() {
        let from = at("2026-01-31T10:00:00Z");
        // Compiles, but lands after year 9999.
        for text in ["P8000Y", "P95999M", "PT315569520000S"] {
            let s = schedule(TimerKind::Duration, text);
            let err = s.first_due(from, 0).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with("expected a due instant before 10000"),
                "{msg}"
            );
            assert!(msg.contains("after 2026-01-31T10:00:00Z"), "{msg}");
        }
        // Longer than anything that can be scheduled: refused when compiled.
        for text in [
            "P999999999Y",
            "P10001Y",
            "P120001M",
            "P18446744073709551615Y",
            "P18446744073709551615W",
            "PT18446744073709551615H",
            "PT400000000000S",
            "R/P999999999Y",
        ] {
            let kind = if text.starts_with('R') {
                TimerKind::Cycle
            } else {
                TimerKind::Duration
            };
            let err = Schedule::from_text(kind, text).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("expected a duration of at most 10000 years, found `P"),
                "{text}: {err}"
            );
        }
    }

    /// Walks a cycle: the first due instant, then `next_due` after each firing.
    fn walk(s: &Schedule, activated: i64, tz: i32, max: usize) -> Vec<i64> {
        let mut out = Vec::new();
        let mut due = s.first_due(activated, tz).unwrap();
        while let Some(t) = due {
            out.push(t);
            if out.len() == max {
                break;
            }
            due = s.next_due(t, out.len() as u32, tz).unwrap();
        }
        out
    }

    #[test]
    fn cycles() {
        struct Case {
            text: &'static str,
            activated: &'static str,
            tz: i32,
            dues: &'static [&'static str],
            /// Whether the cycle ends after `dues`.
            ends: bool,
        }
        let cases = [
            // R3 exhausts.
            Case {
                text: "R3/PT10M",
                activated: "2026-01-01T00:00:00Z",
                tz: 0,
                dues: &[
                    "2026-01-01T00:10:00Z",
                    "2026-01-01T00:20:00Z",
                    "2026-01-01T00:30:00Z",
                ],
                ends: true,
            },
            Case {
                text: "R1/PT10M",
                activated: "2026-01-01T00:00:00Z",
                tz: 0,
                dues: &["2026-01-01T00:10:00Z"],
                ends: true,
            },
            Case {
                text: "R0/PT10M",
                activated: "2026-01-01T00:00:00Z",
                tz: 0,
                dues: &[],
                ends: true,
            },
            // Unbounded.
            Case {
                text: "R/PT10M",
                activated: "2026-01-01T23:45:00Z",
                tz: 0,
                dues: &[
                    "2026-01-01T23:55:00Z",
                    "2026-01-02T00:05:00Z",
                    "2026-01-02T00:15:00Z",
                    "2026-01-02T00:25:00Z",
                    "2026-01-02T00:35:00Z",
                ],
                ends: false,
            },
            // Monthly from the activation, stepping (and clamping) from each due instant.
            Case {
                text: "R/P1M",
                activated: "2024-01-31T08:00:00Z",
                tz: 0,
                dues: &[
                    "2024-02-29T08:00:00Z",
                    "2024-03-29T08:00:00Z",
                    "2024-04-29T08:00:00Z",
                ],
                ends: false,
            },
            // Start in the future.
            Case {
                text: "R3/2026-01-01T10:00:00Z/PT1H",
                activated: "2026-01-01T08:00:00Z",
                tz: 0,
                dues: &[
                    "2026-01-01T10:00:00Z",
                    "2026-01-01T11:00:00Z",
                    "2026-01-01T12:00:00Z",
                ],
                ends: true,
            },
            // Activated exactly at the start: the start is due.
            Case {
                text: "R3/2026-01-01T10:00:00Z/PT1H",
                activated: "2026-01-01T10:00:00Z",
                tz: 0,
                dues: &[
                    "2026-01-01T10:00:00Z",
                    "2026-01-01T11:00:00Z",
                    "2026-01-01T12:00:00Z",
                ],
                ends: true,
            },
            // Start in the past: missed occurrences count against R3.
            Case {
                text: "R3/2026-01-01T10:00:00Z/PT1H",
                activated: "2026-01-01T10:30:00Z",
                tz: 0,
                dues: &["2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"],
                ends: true,
            },
            Case {
                text: "R3/2026-01-01T10:00:00Z/PT1H",
                activated: "2026-01-01T12:00:00.001Z",
                tz: 0,
                dues: &[],
                ends: true,
            },
            Case {
                text: "R/2026-01-01T10:00:00Z/PT1H",
                activated: "2026-03-05T07:59:59.999Z",
                tz: 0,
                dues: &[
                    "2026-03-05T08:00:00Z",
                    "2026-03-05T09:00:00Z",
                    "2026-03-05T10:00:00Z",
                ],
                ends: false,
            },
            Case {
                text: "R/2026-01-01T10:00:00Z/PT0.0001S",
                activated: "2026-01-01T10:00:00.0005Z",
                tz: 0,
                dues: &[
                    "2026-01-01T10:00:00.001Z",
                    "2026-01-01T10:00:00.002Z",
                    "2026-01-01T10:00:00.003Z",
                ],
                ends: false,
            },
            // Monthly from a month end: clamped once, then the 28th (Java's stepping).
            Case {
                text: "R4/2026-01-31T00:00:00Z/P1M",
                activated: "2025-12-01T00:00:00Z",
                tz: 0,
                dues: &[
                    "2026-01-31T00:00:00Z",
                    "2026-02-28T00:00:00Z",
                    "2026-03-28T00:00:00Z",
                    "2026-04-28T00:00:00Z",
                ],
                ends: true,
            },
            Case {
                text: "R/2024-01-31T00:00:00Z/P1M",
                activated: "2024-02-15T00:00:00Z",
                tz: 0,
                dues: &[
                    "2024-02-29T00:00:00Z",
                    "2024-03-29T00:00:00Z",
                    "2024-04-29T00:00:00Z",
                ],
                ends: false,
            },
            Case {
                text: "R3/2023-02-28T00:00:00Z/P1Y",
                activated: "2023-03-01T00:00:00Z",
                tz: 0,
                dues: &["2024-02-28T00:00:00Z", "2025-02-28T00:00:00Z"],
                ends: true,
            },
            // Start with an offset, and a local start at the engine's offset.
            Case {
                text: "R2/2026-01-01T10:00:00+02:00/PT1H",
                activated: "2026-01-01T00:00:00Z",
                tz: 0,
                dues: &["2026-01-01T08:00:00Z", "2026-01-01T09:00:00Z"],
                ends: true,
            },
            Case {
                text: "R2/2026-01-01T10:00:00/PT1H",
                activated: "2026-01-01T00:00:00Z",
                tz: 120,
                dues: &["2026-01-01T08:00:00Z", "2026-01-01T09:00:00Z"],
                ends: true,
            },
            Case {
                text: "R2/2026-01-01T10:00:00/PT1H",
                activated: "2026-01-01T00:00:00Z",
                tz: 0,
                dues: &["2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"],
                ends: true,
            },
            // Calendar steps in the start's own offset: January 31st at +02:00 is
            // 2026-01-30T22:00Z, and a month later is February 28th at +02:00.
            Case {
                text: "R2/2026-01-31T00:00:00+02:00/P1M",
                activated: "2026-01-01T00:00:00Z",
                tz: 0,
                dues: &["2026-01-30T22:00:00Z", "2026-02-27T22:00:00Z"],
                ends: true,
            },
            // Duration and end: R2 ends first.
            Case {
                text: "R2/PT1H/2026-01-01T12:00:00Z",
                activated: "2026-01-01T09:00:00Z",
                tz: 0,
                dues: &["2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"],
                ends: true,
            },
            // The end comes first; an occurrence exactly at the end is due.
            Case {
                text: "R5/PT1H/2026-01-01T12:00:00Z",
                activated: "2026-01-01T10:00:00Z",
                tz: 0,
                dues: &["2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"],
                ends: true,
            },
            Case {
                text: "R/PT1H/2026-01-01T12:00:00Z",
                activated: "2026-01-01T09:30:00Z",
                tz: 0,
                dues: &["2026-01-01T10:30:00Z", "2026-01-01T11:30:00Z"],
                ends: true,
            },
            Case {
                text: "R2/PT1H/2026-01-01T12:00:00Z",
                activated: "2026-01-01T11:30:00Z",
                tz: 0,
                dues: &[],
                ends: true,
            },
            Case {
                text: "R/PT1H/2026-01-01T12:00:00",
                activated: "2026-01-01T09:30:00Z",
                tz: -60,
                dues: &[
                    "2026-01-01T10:30:00Z",
                    "2026-01-01T11:30:00Z",
                    "2026-01-01T12:30:00Z",
                ],
                ends: true,
            },
            // Cron, in UTC and at the engine's offset.
            Case {
                text: "0 */5 * * * *",
                activated: "2026-01-01T10:07:30Z",
                tz: 0,
                dues: &[
                    "2026-01-01T10:10:00Z",
                    "2026-01-01T10:15:00Z",
                    "2026-01-01T10:20:00Z",
                ],
                ends: false,
            },
            // Strictly after the activation, to the millisecond.
            Case {
                text: "0 */5 * * * *",
                activated: "2026-01-01T10:10:00Z",
                tz: 0,
                dues: &["2026-01-01T10:15:00Z"],
                ends: false,
            },
            Case {
                text: "0 */5 * * * *",
                activated: "2026-01-01T10:09:59.999Z",
                tz: 0,
                dues: &["2026-01-01T10:10:00Z", "2026-01-01T10:15:00Z"],
                ends: false,
            },
            Case {
                text: "0 0 12 L * ?",
                activated: "2026-01-15T00:00:00Z",
                tz: 0,
                dues: &[
                    "2026-01-31T12:00:00Z",
                    "2026-02-28T12:00:00Z",
                    "2026-03-31T12:00:00Z",
                    "2026-04-30T12:00:00Z",
                ],
                ends: false,
            },
            Case {
                text: "0 0 12 L * ?",
                activated: "2024-02-01T00:00:00Z",
                tz: 0,
                dues: &["2024-02-29T12:00:00Z", "2024-03-31T12:00:00Z"],
                ends: false,
            },
            Case {
                text: "0 0 9 * * *",
                activated: "2026-01-01T00:00:00Z",
                tz: 120,
                dues: &["2026-01-01T07:00:00Z", "2026-01-02T07:00:00Z"],
                ends: false,
            },
            // 2026-01-31T12:00Z is 07:00 at -05:00; the 1st of February there is 05:00Z.
            Case {
                text: "0 0 0 1 * *",
                activated: "2026-01-31T12:00:00Z",
                tz: -300,
                dues: &["2026-02-01T05:00:00Z", "2026-03-01T05:00:00Z"],
                ends: false,
            },
            // The last day of the month in local time: at +02:00, 2026-02-28T22:30Z is
            // already March 1st, so the next one is March 31st.
            Case {
                text: "0 0 0 L * ?",
                activated: "2026-02-27T22:30:00Z",
                tz: 120,
                dues: &["2026-03-30T22:00:00Z", "2026-04-29T22:00:00Z"],
                ends: false,
            },
            Case {
                text: "0 0 0 30 2 ?",
                activated: "2026-01-01T00:00:00Z",
                tz: 0,
                dues: &[],
                ends: true,
            },
        ];
        for case in &cases {
            let s = schedule(TimerKind::Cycle, case.text);
            assert!(s.is_cycle(), "{}", case.text);
            let want: Vec<i64> = case.dues.iter().map(|d| at(d)).collect();
            let max = want.len() + usize::from(!case.ends);
            let mut got = walk(&s, at(case.activated), case.tz, max);
            if !case.ends {
                assert_eq!(got.len(), want.len() + 1, "{} goes on", case.text);
                got.pop();
            }
            assert_eq!(got, want, "{} from {}", case.text, case.activated);
        }
    }

    #[test]
    fn next_due_bounds() {
        let r3 = schedule(TimerKind::Cycle, "R3/PT1H");
        let t = at("2026-01-01T00:00:00Z");
        assert_eq!(r3.next_due(t, 2, 0), Ok(Some(t + HOUR_MS)));
        assert_eq!(r3.next_due(t, 3, 0), Ok(None));
        assert_eq!(r3.next_due(t, u32::MAX, 0), Ok(None));
        // With a start, the occurrence after any instant; before the start, the start.
        let grid = schedule(TimerKind::Cycle, "R3/2026-01-01T10:00:00Z/PT1H");
        let cases: &[(&str, Option<&str>)] = &[
            ("2026-01-01T00:00:00Z", Some("2026-01-01T10:00:00Z")),
            ("2026-01-01T10:00:00Z", Some("2026-01-01T11:00:00Z")),
            ("2026-01-01T10:59:59.999Z", Some("2026-01-01T11:00:00Z")),
            ("2026-01-01T11:00:00Z", Some("2026-01-01T12:00:00Z")),
            ("2026-01-01T12:00:00Z", None),
        ];
        for (prev, next) in cases {
            assert_eq!(
                grid.next_due(at(prev), 1, 0),
                Ok(next.map(at)),
                "after {prev}"
            );
        }
        // Dates and durations never fire again.
        let once = schedule(TimerKind::Duration, "PT1H");
        assert_eq!(once.next_due(t, 0, 0), Ok(None));
    }

    #[test]
    fn range_errors() {
        let hourly = schedule(TimerKind::Cycle, "R/PT1H");
        let t = at("2026-01-01T00:00:00Z");
        for bad in [i64::MIN, MIN_INSTANT - 1, MAX_INSTANT, i64::MAX] {
            let err = hourly.first_due(bad, 0).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("expected an instant in the years 0000-9999")
            );
            assert!(hourly.next_due(bad, 1, 0).is_err());
        }
        for bad in [i32::MIN, -1140, 1140, i32::MAX] {
            let err = hourly.first_due(t, bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("expected an engine UTC offset in -1139..=1139 minutes, found {bad}")
            );
        }
        assert!(hourly.first_due(t, 1139).is_ok() && hourly.first_due(t, -1139).is_ok());
        // Walking off the end of year 9999.
        let last = at("9999-12-31T23:30:00Z");
        let err = hourly.next_due(last, 1, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a due instant before 10000-01-01T00:00:00Z, found `PT1H` after \
             9999-12-31T23:30:00Z"
        );
        let ended = schedule(TimerKind::Cycle, "R/PT1H/9999-12-31T23:59:00Z");
        assert_eq!(ended.next_due(last, 1, 0), Ok(None));
        // Monthly from January 31st of year 0: clamped to February 29th (0000 is a leap
        // year), then to the 28th in February 0001, where it stays.
        let grid = schedule(TimerKind::Cycle, "R/0000-01-31T00:00:00Z/P1M");
        assert_eq!(
            grid.first_due(at("0001-03-01T00:00:00Z"), 0),
            Ok(Some(at("0001-03-28T00:00:00Z")))
        );
        assert_eq!(
            grid.first_due(at("9999-11-01T00:00:00Z"), 0),
            Ok(Some(at("9999-11-28T00:00:00Z")))
        );
        assert_eq!(
            grid.next_due(at("9999-11-28T00:00:00Z"), 1, 0),
            Ok(Some(at("9999-12-28T00:00:00Z")))
        );
        assert!(grid.next_due(at("9999-12-28T00:00:00Z"), 1, 0).is_err());
        let grid = schedule(TimerKind::Cycle, "R/0000-01-01T00:00:00Z/PT7H");
        assert!(grid.next_due(MAX_INSTANT - 1, 1, 0).is_err());
        let yearly = schedule(TimerKind::Cycle, "0 0 0 1 1 *");
        let err = yearly.first_due(at("9999-06-01T00:00:00Z"), 0).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("expected a due instant before 10000")
        );
        assert_eq!(
            yearly.first_due(at("9999-06-01T00:00:00Z"), -60),
            Err(err.clone()),
        );
        // New Year at +01:00 is 23:00 UTC the day before.
        assert_eq!(
            yearly.first_due(at("9998-06-01T00:00:00Z"), 60),
            Ok(Some(at("9998-12-31T23:00:00Z")))
        );
    }

    #[test]
    fn expressions_and_bad_text_are_refused() {
        let cases: &[(TimerKind, &str, &str)] = &[
            (
                TimerKind::Duration,
                "= duration(\"PT1H\")",
                "expected an ISO 8601 date, duration or repeating interval, or a cron \
                 expression, found a FEEL expression `duration(\"PT1H\")`",
            ),
            (
                TimerKind::Date,
                "${dueDate}",
                "found a JUEL expression `${dueDate}`",
            ),
            (TimerKind::Cycle, "R3/PT0S", "expected a non-zero duration"),
            (TimerKind::Cycle, "R3/PT0S", "in `R3/PT0S`"),
            (TimerKind::Duration, "2026-01-01T00:00:00Z", "expected "),
            (TimerKind::Date, "tomorrow", "in `tomorrow`"),
        ];
        for (kind, text, fragment) in cases {
            let err = Schedule::from_text(*kind, text).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("expected "), "{text}: {msg}");
            assert!(msg.contains(fragment), "{text}: {msg}");
        }
        let expression = TimerValue::Expression {
            language: ExpressionLanguage::Feel,
            source: "x".into(),
        };
        assert!(matches!(
            Schedule::try_from(&expression),
            Err(ScheduleError::Expression { .. })
        ));
        // A hand-built cycle with a zero duration, which the parser would have refused.
        let zero = TimerValue::Cycle(Cycle::Repeating {
            repetitions: None,
            start: None,
            duration: Duration::default(),
            end: None,
        });
        let err = Schedule::new(&zero).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a non-zero duration in a repeating interval, found `PT0S`"
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn date_time() -> impl Strategy<Value = DateTime> {
            (
                (1900u16..2200, 1u8..=12, 1u8..=31),
                (0u8..24, 0u8..60, 0u8..60, 0u32..1_000_000_000),
                prop_oneof![
                    Just(Offset::Local),
                    Just(Offset::Utc),
                    (-1139i16..=1139).prop_map(Offset::Minutes),
                ],
            )
                .prop_map(
                    |((year, month, day), (hour, minute, second, nanos), offset)| {
                        let day = day.min(days_in_month(i64::from(year), month));
                        DateTime {
                            year,
                            month,
                            day,
                            hour,
                            minute,
                            second,
                            nanos,
                            offset,
                            zone_id: None,
                            date_only: false,
                        }
                    },
                )
        }

        fn duration() -> impl Strategy<Value = Duration> {
            let small = (
                (0u64..3, 0u64..30, 0u64..3, 0u64..40),
                (0u64..50, 0u64..100, 0u64..100_000, 0u32..1_000_000_000),
            )
                .prop_map(
                    |((years, months, weeks, days), (hours, minutes, seconds, nanos))| Duration {
                        years,
                        months,
                        weeks,
                        days,
                        hours,
                        minutes,
                        seconds,
                        nanos,
                    },
                );
            let huge = (any::<u64>(), 0usize..7).prop_map(|(v, which)| {
                let mut d = Duration::default();
                *[
                    &mut d.years,
                    &mut d.months,
                    &mut d.weeks,
                    &mut d.days,
                    &mut d.hours,
                    &mut d.minutes,
                    &mut d.seconds,
                ][which] = v;
                d
            });
            prop_oneof![8 => small, 1 => huge]
        }

        fn cycle() -> impl Strategy<Value = TimerValue> {
            let repeating = (
                prop::option::of(0u32..6),
                duration(),
                prop_oneof![
                    Just((None, None)),
                    date_time().prop_map(|s| (Some(s), None)),
                    date_time().prop_map(|e| (None, Some(e))),
                ],
            )
                .prop_map(|(repetitions, duration, (start, end))| {
                    TimerValue::Cycle(Cycle::Repeating {
                        repetitions,
                        start,
                        duration,
                        end,
                    })
                });
            let cron = prop::sample::select(vec![
                "0 */5 * * * *",
                "*/7 * * * * *",
                "0 0 12 L * ?",
                "0 0 0 29 2 ?",
                "0 30 9 ? * MON-FRI",
                "0 0 0 LW * ?",
                "0 0 0 ? * 5L",
                "0 0 0 ? * MON#5",
                "0 0 0 30 2 ?",
                "@yearly",
            ])
            .prop_map(|text| timer::parse_timer(TimerKind::Cycle, text).unwrap());
            prop_oneof![4 => repeating, 1 => cron]
        }

        fn instant() -> impl Strategy<Value = i64> {
            prop_oneof![
                // 1900..2200, where the generated dates are.
                6 => -2_208_988_800_000i64..7_258_118_400_000,
                1 => MIN_INSTANT..MAX_INSTANT,
                1 => any::<i64>(),
            ]
        }

        proptest! {
            #[test]
            fn cycles_strictly_increase(
                value in cycle(),
                activated in instant(),
                tz in prop_oneof![8 => -1139i32..=1139, 1 => any::<i32>()],
            ) {
                let Ok(s) = Schedule::new(&value) else {
                    return Ok(());
                };
                let mut due = match s.first_due(activated, tz) {
                    Ok(d) => d,
                    Err(e) => {
                        prop_assert!(e.to_string().starts_with("expected "));
                        return Ok(());
                    }
                };
                if let Some(first) = due {
                    prop_assert!(first >= activated);
                }
                let mut fired = 0u32;
                while let Some(t) = due {
                    prop_assert!(t < MAX_INSTANT);
                    fired += 1;
                    if fired > 25 {
                        break;
                    }
                    match s.next_due(t, fired, tz) {
                        Ok(next) => {
                            if let Some(n) = next {
                                prop_assert!(n > t, "{n} after {t}");
                            }
                            due = next;
                        }
                        Err(e) => {
                            prop_assert!(e.to_string().starts_with("expected "));
                            break;
                        }
                    }
                }
                if let TimerValue::Cycle(Cycle::Repeating { repetitions: Some(n), .. }) = value {
                    prop_assert!(fired <= n);
                }
            }

            #[test]
            fn exact_durations_add_exactly(
                seconds in 0u64..10_000_000_000,
                millis in 0u32..1000,
                activated in -2_208_988_800_000i64..7_258_118_400_000,
                tz in -1139i32..=1139,
            ) {
                let d = Duration { seconds, nanos: millis * 1_000_000, ..Duration::default() };
                let s = Schedule::new(&TimerValue::Duration(d)).unwrap();
                let want = activated + seconds as i64 * 1000 + i64::from(millis);
                let got = s.first_due(activated, tz);
                if want < MAX_INSTANT {
                    prop_assert_eq!(got, Ok(Some(want)));
                } else {
                    prop_assert!(got.is_err());
                }
            }

            /// `add_duration` is the same arithmetic as a duration timer's due time.
            #[test]
            fn add_duration_is_the_due_time_of_a_duration_timer(
                d in duration(),
                activated in -2_208_988_800_000i64..7_258_118_400_000,
            ) {
                let Ok(s) = Schedule::new(&TimerValue::Duration(d)) else {
                    return Ok(());
                };
                let ours = s.first_due(activated, 0).ok().flatten();
                prop_assert_eq!(ours, add_duration(activated, &d, 0));
            }

            #[test]
            fn any_text_never_panics(
                text in "[RPTWYMDHS0-9:/.+Z@ *?#L-]{0,30}",
                activated in instant(),
                previous in instant(),
                fired in any::<u32>(),
                tz in prop_oneof![8 => -1139i32..=1139, 1 => any::<i32>()],
            ) {
                for kind in [TimerKind::Date, TimerKind::Duration, TimerKind::Cycle] {
                    match Schedule::from_text(kind, &text) {
                        Ok(s) => {
                            for r in [s.first_due(activated, tz), s.next_due(previous, fired, tz)] {
                                if let Err(e) = r {
                                    prop_assert!(e.to_string().starts_with("expected "));
                                }
                            }
                        }
                        Err(e) => prop_assert!(e.to_string().starts_with("expected ")),
                    }
                }
            }
        }
    }
}
