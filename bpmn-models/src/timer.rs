//! Timer event definition bodies (BPMN 2.0.2 §10.5.5 "Timer Event Definition").
//!
//! BPMN stores the body of `timeDate`, `timeDuration` and `timeCycle` as free text and
//! points at ISO 8601 for its meaning. This module parses that text into typed values:
//!
//! * `timeDate`: ISO 8601:2004 §4.3.2 calendar date-time in the extended format,
//!   `YYYY-MM-DDThh:mm[:ss[.f…]]` followed by `Z`, `±hh:mm`, `±hhmm`, `±hh` or nothing (local
//!   time), optionally followed by a bracketed zone id as Camunda 8 (Java's
//!   `ISO_ZONED_DATE_TIME`) accepts it (`+01:00[Europe/Berlin]`). A plain date `YYYY-MM-DD` is
//!   accepted too and means midnight local time.
//! * `timeDuration`: ISO 8601:2004 §4.4.3.2 durations `PnYnMnWnDTnHnMnS`. Deviation: like
//!   Java's `Period`/`Duration` (which Camunda uses) weeks may be combined with other
//!   components, and only the seconds component may carry a fraction (`PT0.5S`, at most 9
//!   digits). Negative durations are rejected: a timer cannot wait a negative time.
//! * `timeCycle`: ISO 8601:2004 §4.5 repeating intervals `Rn/duration`, `Rn/start/duration`,
//!   `Rn/duration/end` (`n` omitted means unbounded), and cron expressions in the 6-field
//!   Spring `CronExpression` dialect that Camunda 8 accepts (Camunda 7 uses Quartz, whose
//!   6-field form is compatible for everything except day-of-week numbers: Spring, like Unix
//!   cron, counts 0–7 from Sunday; Quartz counts 1–7 from Sunday. We follow Spring). Both
//!   day fields must match (Spring semantics), not either (Unix semantics). Special day forms
//!   (`L`, `L-n`, `LW`, `nW`, `dL`, `d#n`) stand alone in their field, as in Spring. A zero
//!   duration in a repeating interval is rejected since it would fire without end.
//!
//! A body that starts with `=` (FEEL, Camunda 8) or contains `${` / `#{` (JUEL, Camunda 7) is an
//! expression evaluated at run time; [`parse_timer`] returns it as [`TimerValue::Expression`].
//!
//! Leading and trailing whitespace is ignored; error offsets are byte offsets into the text as
//! given (before trimming).

use crate::calendar;
use std::borrow::Cow;
use std::fmt;

/// A parse error in a timer definition body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimerError {
    /// The text does not follow the grammar at `offset`.
    #[error("expected {expected}, found {found} at byte {offset}")]
    Syntax {
        offset: usize,
        expected: Cow<'static, str>,
        found: String,
    },
    /// A number is well-formed but outside its allowed range.
    #[error("expected {what} in {min}..={max}, found {value} at byte {offset}")]
    OutOfRange {
        offset: usize,
        what: &'static str,
        min: u64,
        max: u64,
        value: u64,
    },
}

impl TimerError {
    /// Byte offset of the error in the text given to the parser.
    pub fn offset(&self) -> usize {
        match self {
            TimerError::Syntax { offset, .. } | TimerError::OutOfRange { offset, .. } => *offset,
        }
    }
}

/// Which BPMN timer element a body came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    Date,
    Duration,
    Cycle,
}

/// Language of a timer body that is evaluated at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpressionLanguage {
    /// Body started with `=` (Camunda 8).
    Feel,
    /// Body contains `${` or `#{` (Camunda 7).
    Juel,
}

/// The parsed body of a timer event definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerValue {
    Date(DateTime),
    Duration(Duration),
    Cycle(Cycle),
    /// Computed at run time. For FEEL `source` excludes the leading `=`; for JUEL it is the
    /// whole trimmed body (a template).
    Expression {
        language: ExpressionLanguage,
        source: String,
    },
}

/// UTC offset of a [`DateTime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offset {
    /// No offset given: the engine's local time zone applies.
    Local,
    /// `Z`.
    Utc,
    /// `±hh:mm`, in minutes east of UTC.
    Minutes(i16),
}

/// An ISO 8601 calendar date-time (Gregorian, years 0000–9999).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
    pub offset: Offset,
    /// Region id in brackets after the offset, e.g. `Europe/Berlin`.
    pub zone_id: Option<String>,
    /// The text was a plain date (time fields are zero).
    pub date_only: bool,
}

impl DateTime {
    /// Seconds (and nanoseconds) since 1970-01-01T00:00:00Z, or `None` for local times.
    pub fn unix_timestamp(&self) -> Option<(i64, u32)> {
        let offset_minutes = match self.offset {
            Offset::Local => return None,
            Offset::Utc => 0,
            Offset::Minutes(m) => i64::from(m),
        };
        let days = calendar::days_from_civil(i64::from(self.year), self.month, self.day);
        let secs = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - offset_minutes * 60;
        Some((secs, self.nanos))
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)?;
        if self.date_only {
            return Ok(());
        }
        write!(f, "T{:02}:{:02}:{:02}", self.hour, self.minute, self.second)?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        match self.offset {
            Offset::Local => {}
            Offset::Utc => f.write_str("Z")?,
            Offset::Minutes(m) => {
                let sign = if m < 0 { '-' } else { '+' };
                let a = m.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", a / 60, a % 60)?;
            }
        }
        if let Some(zone) = &self.zone_id {
            write!(f, "[{zone}]")?;
        }
        Ok(())
    }
}

/// An ISO 8601 duration; every component is kept as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Duration {
    pub years: u64,
    pub months: u64,
    pub weeks: u64,
    pub days: u64,
    pub hours: u64,
    pub minutes: u64,
    pub seconds: u64,
    /// Fraction of the seconds component, in nanoseconds (< 1e9).
    pub nanos: u32,
}

impl Duration {
    /// The exact length, when it does not depend on the calendar (no years, no months).
    /// A day counts 24 hours and a week 7 days, as in Camunda. `None` on overflow too.
    pub fn fixed_length(&self) -> Option<std::time::Duration> {
        if self.years != 0 || self.months != 0 {
            return None;
        }
        let days = self.weeks.checked_mul(7)?.checked_add(self.days)?;
        let secs = days
            .checked_mul(86_400)?
            .checked_add(self.hours.checked_mul(3600)?)?
            .checked_add(self.minutes.checked_mul(60)?)?
            .checked_add(self.seconds)?;
        Some(std::time::Duration::new(secs, self.nanos))
    }

    /// True when every component is zero (`PT0S`).
    pub fn is_zero(&self) -> bool {
        *self == Duration::default()
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("P")?;
        for (v, d) in [
            (self.years, 'Y'),
            (self.months, 'M'),
            (self.weeks, 'W'),
            (self.days, 'D'),
        ] {
            if v != 0 {
                write!(f, "{v}{d}")?;
            }
        }
        let has_time = self.hours != 0 || self.minutes != 0 || self.seconds != 0 || self.nanos != 0;
        if has_time {
            f.write_str("T")?;
            for (v, d) in [(self.hours, 'H'), (self.minutes, 'M')] {
                if v != 0 {
                    write!(f, "{v}{d}")?;
                }
            }
            if self.seconds != 0 || self.nanos != 0 {
                write!(f, "{}", self.seconds)?;
                if self.nanos != 0 {
                    let frac = format!("{:09}", self.nanos);
                    write!(f, ".{}", frac.trim_end_matches('0'))?;
                }
                f.write_str("S")?;
            }
        } else if self.years == 0 && self.months == 0 && self.weeks == 0 && self.days == 0 {
            f.write_str("T0S")?;
        }
        Ok(())
    }
}

/// A `timeCycle` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cycle {
    /// ISO 8601 repeating interval. `repetitions: None` means unbounded (`R/…`).
    /// At most one of `start` and `end` is set.
    Repeating {
        repetitions: Option<u32>,
        start: Option<DateTime>,
        duration: Duration,
        end: Option<DateTime>,
    },
    Cron(CronSchedule),
}

/// Day-of-month field of a cron schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayOfMonth {
    /// Bit `d` set (1..=31) when day `d` matches.
    Days(u32),
    /// `L` (`offset` 0) or `L-offset`: the last day of the month minus `offset` days.
    Last { offset: u8 },
    /// `LW`: the last weekday (Monday–Friday) of the month.
    LastWeekday,
    /// `nW`: the weekday nearest to day `n`, without leaving the month.
    NearestWeekday(u8),
}

/// Day-of-week field of a cron schedule; weekdays are numbered 0 (Sunday) to 6 (Saturday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayOfWeek {
    /// Bit `w` set (0..=6) when weekday `w` matches.
    Days(u8),
    /// `wL`: the last weekday `w` of the month.
    Last(u8),
    /// `w#n`: the `n`th (1..=5) weekday `w` of the month.
    Nth { weekday: u8, n: u8 },
}

/// A 6-field cron schedule (seconds resolution), with each field expanded to a bitset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CronSchedule {
    /// Bit `s` set (0..=59).
    pub seconds: u64,
    /// Bit `m` set (0..=59).
    pub minutes: u64,
    /// Bit `h` set (0..=23).
    pub hours: u32,
    pub days_of_month: DayOfMonth,
    /// Bit `m` set (1..=12).
    pub months: u16,
    pub days_of_week: DayOfWeek,
}

/// A civil date-time `(year, month, day, hour, minute, second)`.
pub type CivilTime = (i32, u8, u8, u8, u8, u8);

impl CronSchedule {
    /// The first instant strictly after `(y, mo, d, h, mi, s)` (read as UTC) that matches.
    ///
    /// Returns `None` when the input is not a valid civil time, or when no instant matches.
    /// The search covers 400 years plus one month; since the Gregorian calendar (including
    /// weekdays: 146 097 days is exactly 20 871 weeks) repeats every 400 years, a schedule
    /// with no match in that window has none at all (e.g. `0 0 0 30 2 ?`).
    pub fn next_after(&self, y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Option<CivilTime> {
        if !(1..=12).contains(&mo) || d == 0 || d > calendar::days_in_month(i64::from(y), mo) {
            return None;
        }
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
        // Step one second forward.
        let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (i64::from(y), mo, d, h, mi, s);
        s += 1;
        if s == 60 {
            s = 0;
            mi += 1;
            if mi == 60 {
                mi = 0;
                h += 1;
                if h == 24 {
                    h = 0;
                    d += 1;
                    if d > calendar::days_in_month(y, mo) {
                        d = 1;
                        mo += 1;
                        if mo == 13 {
                            mo = 1;
                            y += 1;
                        }
                    }
                }
            }
        }
        let (start_y, start_mo, start_d) = (y, mo, d);
        for step in 0..=(400 * 12 + 1) {
            let month_index = (start_mo as i64 - 1) + step;
            let cy = start_y + month_index.div_euclid(12);
            let cm = (month_index.rem_euclid(12) + 1) as u8;
            if self.months & (1 << cm) == 0 {
                continue;
            }
            let first_day = if step == 0 { start_d } else { 1 };
            for day in first_day..=calendar::days_in_month(cy, cm) {
                if !self.day_matches(cy, cm, day) {
                    continue;
                }
                let from = if step == 0 && day == start_d {
                    (h, mi, s)
                } else {
                    (0, 0, 0)
                };
                if let Some((th, tm, ts)) = self.time_of_day_from(from) {
                    let year = i32::try_from(cy).ok()?;
                    return Some((year, cm, day, th, tm, ts));
                }
            }
        }
        None
    }

    fn day_matches(&self, y: i64, m: u8, d: u8) -> bool {
        let last = calendar::days_in_month(y, m);
        let weekday = calendar::weekday(y, m, d);
        let dom = match self.days_of_month {
            DayOfMonth::Days(bits) => bits & (1 << d) != 0,
            DayOfMonth::Last { offset } => last.checked_sub(offset).is_some_and(|t| t == d),
            DayOfMonth::LastWeekday => {
                let lw = weekday_nearest(y, m, last);
                d == lw
            }
            DayOfMonth::NearestWeekday(n) => n <= last && d == weekday_nearest(y, m, n),
        };
        if !dom {
            return false;
        }
        match self.days_of_week {
            DayOfWeek::Days(bits) => bits & (1 << weekday) != 0,
            DayOfWeek::Last(w) => w == weekday && d + 7 > last,
            DayOfWeek::Nth { weekday: w, n } => w == weekday && (d - 1) / 7 + 1 == n,
        }
    }

    fn time_of_day_from(&self, (h0, m0, s0): (u8, u8, u8)) -> Option<(u8, u8, u8)> {
        let first_m = next_bit(self.minutes, 0)?;
        let first_s = next_bit(self.seconds, 0)?;
        let mut h = next_bit(u64::from(self.hours), h0)?;
        loop {
            if h > h0 {
                return Some((h, first_m, first_s));
            }
            // h == h0: look within this hour from (m0, s0).
            if let Some(m) = next_bit(self.minutes, m0) {
                if m > m0 {
                    return Some((h, m, first_s));
                }
                if let Some(s) = next_bit(self.seconds, s0) {
                    return Some((h, m, s));
                }
                if let Some(m2) = next_bit(self.minutes, m0 + 1) {
                    return Some((h, m2, first_s));
                }
            }
            h = next_bit(u64::from(self.hours), h0 + 1)?;
        }
    }
}

/// Lowest set bit at position `>= from`.
fn next_bit(bits: u64, from: u8) -> Option<u8> {
    if from >= 64 {
        return None;
    }
    let masked = bits & (u64::MAX << from);
    (masked != 0).then(|| masked.trailing_zeros() as u8)
}

/// The Monday–Friday day nearest to day `n` of the month, staying within the month.
fn weekday_nearest(y: i64, m: u8, n: u8) -> u8 {
    let last = calendar::days_in_month(y, m);
    match calendar::weekday(y, m, n) {
        6 if n == 1 => 3,        // Saturday the 1st → Monday the 3rd
        6 => n - 1,              // Saturday → Friday
        0 if n == last => n - 2, // Sunday the last → Friday
        0 => n + 1,              // Sunday → Monday
        _ => n,
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Describes the text at `pos` for an error message.
fn found_at(text: &str, pos: usize) -> String {
    match text.get(pos..) {
        None | Some("") => "end of input".to_owned(),
        Some(rest) => {
            // One word (at least one character), at most 12 characters.
            let snippet: String = rest
                .chars()
                .enumerate()
                .take_while(|(i, c)| *i == 0 || !c.is_whitespace())
                .map(|(_, c)| c)
                .take(12)
                .collect();
            format!("`{snippet}`")
        }
    }
}

fn syntax(text: &str, pos: usize, expected: impl Into<Cow<'static, str>>) -> TimerError {
    TimerError::Syntax {
        offset: pos,
        expected: expected.into(),
        found: found_at(text, pos),
    }
}

/// A cursor over the whole (untrimmed) text, restricted to `pos..end`.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over `text` with surrounding whitespace skipped.
    fn trimmed(text: &'a str) -> Self {
        let start = text.len() - text.trim_start().len();
        let end = text.trim_end().len().max(start);
        Cursor {
            text,
            pos: start,
            end,
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..self.end]
    }

    fn peek(&self) -> Option<u8> {
        self.rest().as_bytes().first().copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    fn err(&self, expected: impl Into<Cow<'static, str>>) -> TimerError {
        TimerError::Syntax {
            offset: self.pos,
            expected: expected.into(),
            found: if self.at_end() {
                "end of input".to_owned()
            } else {
                found_at(&self.text[..self.end], self.pos)
            },
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_ci(&mut self, b: u8) -> bool {
        if self.peek().map(|c| c.to_ascii_uppercase()) == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8, expected: &'static str) -> Result<(), TimerError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.err(expected))
        }
    }

    /// Exactly `n` ASCII digits.
    fn fixed_digits(&mut self, n: usize, what: &'static str) -> Result<u64, TimerError> {
        let rest = self.rest().as_bytes();
        if rest.len() < n || !rest[..n].iter().all(u8::is_ascii_digit) {
            let found_digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let at = self.pos + found_digits;
            return Err(TimerError::Syntax {
                offset: at,
                expected: format!("{n} digits for the {what}").into(),
                found: found_at(&self.text[..self.end], at),
            });
        }
        let v = rest[..n]
            .iter()
            .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
        self.pos += n;
        Ok(v)
    }

    /// One or more digits, as a `u64`.
    fn number(&mut self, expected: &'static str) -> Result<u64, TimerError> {
        let start = self.pos;
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(self.err(expected));
        }
        let s = &self.rest()[..digits];
        let v = s.parse::<u64>().map_err(|_| TimerError::Syntax {
            offset: start,
            expected: "a number that fits in 64 bits".into(),
            found: format!("`{s}`"),
        })?;
        self.pos += digits;
        Ok(v)
    }
}

fn range_check(
    v: u64,
    min: u64,
    max: u64,
    what: &'static str,
    offset: usize,
) -> Result<u64, TimerError> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(TimerError::OutOfRange {
            offset,
            what,
            min,
            max,
            value: v,
        })
    }
}

/// True if the body is evaluated at run time rather than parsed as a literal.
fn expression_language(trimmed: &str) -> Option<ExpressionLanguage> {
    if trimmed.starts_with('=') {
        Some(ExpressionLanguage::Feel)
    } else if trimmed.contains("${") || trimmed.contains("#{") {
        Some(ExpressionLanguage::Juel)
    } else {
        None
    }
}

/// Parses any timer body; expressions are returned as [`TimerValue::Expression`].
pub fn parse_timer(kind: TimerKind, text: &str) -> Result<TimerValue, TimerError> {
    let trimmed = text.trim();
    if let Some(language) = expression_language(trimmed) {
        let source = match language {
            ExpressionLanguage::Feel => trimmed[1..].trim_start(),
            ExpressionLanguage::Juel => trimmed,
        };
        if source.is_empty() {
            return Err(TimerError::Syntax {
                offset: text.len() - text.trim_start().len() + 1,
                expected: "a FEEL expression after `=`".into(),
                found: "end of input".to_owned(),
            });
        }
        return Ok(TimerValue::Expression {
            language,
            source: source.to_owned(),
        });
    }
    match kind {
        TimerKind::Date => parse_time_date(text).map(TimerValue::Date),
        TimerKind::Duration => parse_time_duration(text).map(TimerValue::Duration),
        TimerKind::Cycle => parse_time_cycle(text).map(TimerValue::Cycle),
    }
}

/// Parses a `timeDate` body.
pub fn parse_time_date(text: &str) -> Result<DateTime, TimerError> {
    let mut c = Cursor::trimmed(text);
    let dt = date_time(&mut c)?;
    if !c.at_end() {
        return Err(c.err("end of the date-time"));
    }
    Ok(dt)
}

/// Parses a `timeDuration` body.
pub fn parse_time_duration(text: &str) -> Result<Duration, TimerError> {
    let mut c = Cursor::trimmed(text);
    let d = duration(&mut c)?;
    if !c.at_end() {
        return Err(c.err("end of the duration"));
    }
    Ok(d)
}

/// Parses a `timeCycle` body: an ISO 8601 repeating interval or a 6-field cron expression.
pub fn parse_time_cycle(text: &str) -> Result<Cycle, TimerError> {
    let mut c = Cursor::trimmed(text);
    let rest = c.rest();
    let b = rest.as_bytes();
    let iso = matches!(b.first(), Some(b'R' | b'r'))
        && matches!(b.get(1), Some(b'/') | Some(b'0'..=b'9'));
    if iso {
        return repeating(&mut c);
    }
    if rest.starts_with('@') || rest.contains(char::is_whitespace) {
        return parse_cron_at(text, c.pos, c.end).map(Cycle::Cron);
    }
    Err(c.err(
        "a repeating interval `R[n]/…` or a cron expression (6 fields: second minute hour \
         day-of-month month day-of-week)",
    ))
}

/// Parses a 6-field Spring-style cron expression (or an `@` macro).
pub fn parse_cron(text: &str) -> Result<CronSchedule, TimerError> {
    let c = Cursor::trimmed(text);
    parse_cron_at(text, c.pos, c.end)
}

fn date_time(c: &mut Cursor<'_>) -> Result<DateTime, TimerError> {
    let year_at = c.pos;
    let year = c.fixed_digits(4, "year")?;
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        return Err(TimerError::Syntax {
            offset: year_at,
            expected: "a 4-digit year followed by `-`".into(),
            found: found_at(&c.text[..c.end], year_at),
        });
    }
    c.expect(b'-', "`-` after the year")?;
    let month_at = c.pos;
    let month = c.fixed_digits(2, "month")?;
    range_check(month, 1, 12, "month", month_at)?;
    c.expect(b'-', "`-` after the month")?;
    let day_at = c.pos;
    let day = c.fixed_digits(2, "day")?;
    let dim = calendar::days_in_month(year as i64, month as u8);
    range_check(day, 1, u64::from(dim), "day of this month", day_at)?;
    let mut dt = DateTime {
        year: year as u16,
        month: month as u8,
        day: day as u8,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset: Offset::Local,
        zone_id: None,
        date_only: true,
    };
    if c.at_end() || c.peek() == Some(b'/') {
        return Ok(dt);
    }
    if !c.eat_ci(b'T') {
        return Err(c.err("`T` and a time, or the end of the date"));
    }
    dt.date_only = false;
    let hour_at = c.pos;
    dt.hour = range_check(c.fixed_digits(2, "hour")?, 0, 23, "hour", hour_at)? as u8;
    c.expect(b':', "`:` after the hour")?;
    let min_at = c.pos;
    dt.minute = range_check(c.fixed_digits(2, "minute")?, 0, 59, "minute", min_at)? as u8;
    if c.eat(b':') {
        let sec_at = c.pos;
        dt.second = range_check(c.fixed_digits(2, "second")?, 0, 59, "second", sec_at)? as u8;
        if c.peek() == Some(b'.') || c.peek() == Some(b',') {
            c.pos += 1;
            dt.nanos = fraction(c)?;
        }
    }
    match c.peek() {
        Some(b'Z' | b'z') => {
            c.pos += 1;
            dt.offset = Offset::Utc;
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let oh_at = c.pos;
            let oh = range_check(
                c.fixed_digits(2, "offset hours")?,
                0,
                18,
                "offset hours",
                oh_at,
            )?;
            let mut om = 0;
            let colon = c.eat(b':');
            if colon || c.peek().is_some_and(|b| b.is_ascii_digit()) {
                let om_at = c.pos;
                om = range_check(
                    c.fixed_digits(2, "offset minutes")?,
                    0,
                    59,
                    "offset minutes",
                    om_at,
                )?;
            }
            let total = (oh * 60 + om) as i16;
            dt.offset = Offset::Minutes(if sign == b'-' { -total } else { total });
        }
        _ => {}
    }
    if c.peek() == Some(b'[') {
        if dt.offset == Offset::Local {
            return Err(c.err("a UTC offset (`Z` or `±hh:mm`) before the zone id"));
        }
        c.pos += 1;
        let len = c
            .rest()
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
            .count();
        if len == 0 {
            return Err(c.err("a zone id such as `Europe/Berlin`"));
        }
        dt.zone_id = Some(c.rest()[..len].to_owned());
        c.pos += len;
        c.expect(b']', "`]` after the zone id")?;
    }
    Ok(dt)
}

/// Digits after a decimal separator, as nanoseconds (1 to 9 digits).
fn fraction(c: &mut Cursor<'_>) -> Result<u32, TimerError> {
    let digits = c.rest().bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(c.err("digits after the decimal separator"));
    }
    if digits > 9 {
        return Err(TimerError::Syntax {
            offset: c.pos + 9,
            expected: "at most 9 fractional digits (nanoseconds)".into(),
            found: found_at(&c.text[..c.end], c.pos + 9),
        });
    }
    let mut v: u32 = 0;
    for b in c.rest().bytes().take(digits) {
        v = v * 10 + u32::from(b - b'0');
    }
    c.pos += digits;
    Ok(v * 10u32.pow((9 - digits) as u32))
}

fn duration(c: &mut Cursor<'_>) -> Result<Duration, TimerError> {
    if c.peek() == Some(b'-') {
        return Err(c.err("`P` (negative durations are not allowed for timers)"));
    }
    if !c.eat_ci(b'P') {
        return Err(c.err("`P` starting an ISO 8601 duration"));
    }
    let mut d = Duration::default();
    let mut any = false;
    // Date part: designators in order Y, M, W, D.
    const DATE: [u8; 4] = [b'Y', b'M', b'W', b'D'];
    const TIME: [u8; 3] = [b'H', b'M', b'S'];
    let mut next_allowed = 0;
    while c.peek().is_some_and(|b| b.is_ascii_digit()) {
        let (v, frac_at) = component_number(c)?;
        let designator_at = c.pos;
        let des = c.peek().map(|b| b.to_ascii_uppercase());
        let idx = des.and_then(|b| DATE.iter().position(|&x| x == b));
        match idx {
            Some(i) if i >= next_allowed => {
                if frac_at.is_some() {
                    return Err(TimerError::Syntax {
                        offset: designator_at,
                        expected:
                            "`S` after a fractional number (only seconds may have a fraction)"
                                .into(),
                        found: found_at(&c.text[..c.end], designator_at),
                    });
                }
                c.pos += 1;
                next_allowed = i + 1;
                any = true;
                match i {
                    0 => d.years = v,
                    1 => d.months = v,
                    2 => d.weeks = v,
                    _ => d.days = v,
                }
            }
            _ => {
                let remaining: Vec<String> = DATE[next_allowed.min(4)..]
                    .iter()
                    .map(|b| format!("`{}`", *b as char))
                    .collect();
                let expected = if remaining.is_empty() {
                    "`T` after the day component".to_owned()
                } else {
                    format!(
                        "a date designator in order Y, M, W, D (here {})",
                        remaining.join(", ")
                    )
                };
                return Err(TimerError::Syntax {
                    offset: designator_at,
                    expected: expected.into(),
                    found: found_at(&c.text[..c.end], designator_at),
                });
            }
        }
    }
    if c.eat_ci(b'T') {
        let mut any_time = false;
        let mut next_allowed = 0;
        while c.peek().is_some_and(|b| b.is_ascii_digit()) {
            let (v, frac) = component_number(c)?;
            let designator_at = c.pos;
            let des = c.peek().map(|b| b.to_ascii_uppercase());
            let idx = des.and_then(|b| TIME.iter().position(|&x| x == b));
            match idx {
                Some(i) if i >= next_allowed => {
                    if frac.is_some() && i != 2 {
                        return Err(TimerError::Syntax {
                            offset: designator_at,
                            expected:
                                "`S` after a fractional number (only seconds may have a fraction)"
                                    .into(),
                            found: found_at(&c.text[..c.end], designator_at),
                        });
                    }
                    c.pos += 1;
                    next_allowed = i + 1;
                    any_time = true;
                    match i {
                        0 => d.hours = v,
                        1 => d.minutes = v,
                        _ => {
                            d.seconds = v;
                            d.nanos = frac.unwrap_or(0);
                        }
                    }
                }
                _ => {
                    let remaining: Vec<String> = TIME[next_allowed.min(3)..]
                        .iter()
                        .map(|b| format!("`{}`", *b as char))
                        .collect();
                    let expected = if remaining.is_empty() {
                        "end of the duration after the seconds".to_owned()
                    } else {
                        format!(
                            "a time designator in order H, M, S (here {})",
                            remaining.join(", ")
                        )
                    };
                    return Err(TimerError::Syntax {
                        offset: designator_at,
                        expected: expected.into(),
                        found: found_at(&c.text[..c.end], designator_at),
                    });
                }
            }
        }
        if !any_time {
            return Err(c.err("a time component such as `1H`, `30M` or `0.5S` after `T`"));
        }
        any = true;
    }
    if !any {
        return Err(c.err("a duration component such as `1D` or `T1H` after `P`"));
    }
    Ok(d)
}

/// A component's number; the second value is its fraction in nanoseconds, if any.
fn component_number(c: &mut Cursor<'_>) -> Result<(u64, Option<u32>), TimerError> {
    let v = c.number("a number")?;
    if matches!(c.peek(), Some(b'.' | b',')) {
        c.pos += 1;
        let f = fraction(c)?;
        return Ok((v, Some(f)));
    }
    Ok((v, None))
}

fn repeating(c: &mut Cursor<'_>) -> Result<Cycle, TimerError> {
    c.pos += 1; // `R`
    let repetitions = if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        let at = c.pos;
        let n = c.number("a repetition count")?;
        Some(range_check(n, 0, u64::from(u32::MAX), "repetition count", at)? as u32)
    } else {
        None
    };
    c.expect(b'/', "`/` after the repetition count")?;
    let is_duration = |c: &Cursor<'_>| matches!(c.peek(), Some(b'P' | b'p'));
    let (start, duration_at, duration, end);
    if is_duration(c) {
        start = None;
        duration_at = c.pos;
        duration = self::duration(c)?;
        if c.eat(b'/') {
            end = Some(date_time(c)?);
        } else {
            end = None;
        }
    } else {
        start = Some(date_time(c)?);
        c.expect(b'/', "`/` and a duration after the start date-time")?;
        if !is_duration(c) {
            return Err(c.err("a duration such as `P1D` after the start date-time"));
        }
        duration_at = c.pos;
        duration = self::duration(c)?;
        end = None;
    }
    if !c.at_end() {
        return Err(c.err("end of the repeating interval"));
    }
    if duration.is_zero() {
        return Err(TimerError::Syntax {
            offset: duration_at,
            expected: "a non-zero duration in a repeating interval".into(),
            found: found_at(&c.text[..c.end], duration_at),
        });
    }
    Ok(Cycle::Repeating {
        repetitions,
        start,
        duration,
        end,
    })
}

// ------------------------------------------------------------------------------------------
// Cron
// ------------------------------------------------------------------------------------------

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
/// Spring numbering: MON = 1 … SAT = 6, SUN = 7 (0 is Sunday too).
const DAY_NAMES: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl FieldKind {
    fn name(self) -> &'static str {
        match self {
            FieldKind::Second => "second",
            FieldKind::Minute => "minute",
            FieldKind::Hour => "hour",
            FieldKind::DayOfMonth => "day of month",
            FieldKind::Month => "month",
            FieldKind::DayOfWeek => "day of week",
        }
    }
    fn bounds(self) -> (u64, u64) {
        match self {
            FieldKind::Second | FieldKind::Minute => (0, 59),
            FieldKind::Hour => (0, 23),
            FieldKind::DayOfMonth => (1, 31),
            FieldKind::Month => (1, 12),
            FieldKind::DayOfWeek => (0, 7),
        }
    }
}

fn parse_cron_at(text: &str, start: usize, end: usize) -> Result<CronSchedule, TimerError> {
    let body = &text[start..end];
    if let Some(name) = body.strip_prefix('@') {
        let expanded = match name.to_ascii_lowercase().as_str() {
            "yearly" | "annually" => "0 0 0 1 1 *",
            "monthly" => "0 0 0 1 * *",
            "weekly" => "0 0 0 * * 0",
            "daily" | "midnight" => "0 0 0 * * *",
            "hourly" => "0 0 * * * *",
            _ => {
                return Err(syntax(
                    text,
                    start,
                    "a cron macro (@yearly, @annually, @monthly, @weekly, @daily, @midnight, \
                     @hourly)",
                ));
            }
        };
        return parse_cron_at(expanded, 0, expanded.len());
    }
    // Split into fields, remembering offsets.
    let mut fields: Vec<(usize, &str)> = Vec::with_capacity(6);
    let mut i = 0;
    let bytes = body.as_bytes();
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let s = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push((start + s, &body[s..i]));
    }
    if fields.len() != 6 {
        let (offset, found) = if fields.len() > 6 {
            (fields[6].0, format!("{} fields", fields.len()))
        } else {
            (
                end,
                format!(
                    "{} field{}",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" }
                ),
            )
        };
        let mut msg: Cow<'static, str> =
            "6 cron fields (second minute hour day-of-month month day-of-week)".into();
        if fields.len() == 5 {
            msg = "6 cron fields (second minute hour day-of-month month day-of-week); \
                   5-field Unix cron is not accepted, add a seconds field"
                .into();
        }
        return Err(TimerError::Syntax {
            offset,
            expected: msg,
            found,
        });
    }
    let seconds = bits_field(text, fields[0], FieldKind::Second)?;
    let minutes = bits_field(text, fields[1], FieldKind::Minute)?;
    let hours = bits_field(text, fields[2], FieldKind::Hour)? as u32;
    let days_of_month = day_of_month_field(text, fields[3])?;
    let months = bits_field(text, fields[4], FieldKind::Month)? as u16;
    let days_of_week = day_of_week_field(text, fields[5])?;
    Ok(CronSchedule {
        seconds,
        minutes,
        hours,
        days_of_month,
        months,
        days_of_week,
    })
}

/// A single value: a number or (for months and weekdays) a three-letter name.
fn cron_value(text: &str, at: usize, s: &str, kind: FieldKind) -> Result<u64, TimerError> {
    let (min, max) = kind.bounds();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let v: u64 = s.parse().unwrap_or(u64::MAX);
        return range_check(v, min, max, kind.name(), at);
    }
    let upper = s.to_ascii_uppercase();
    let names: &[&str] = match kind {
        FieldKind::Month => &MONTH_NAMES,
        FieldKind::DayOfWeek => &DAY_NAMES,
        _ => &[],
    };
    if let Some(i) = names.iter().position(|n| *n == upper) {
        return Ok(i as u64 + 1);
    }
    let expected: Cow<'static, str> = match kind {
        FieldKind::Month => "a month 1-12 or JAN-DEC".into(),
        FieldKind::DayOfWeek => "a day of week 0-7 or MON-SUN".into(),
        _ => format!("a {} {min}-{max}", kind.name()).into(),
    };
    Err(syntax(text, at, expected))
}

/// A comma-separated list of `*`, `?`, `v`, `a-b`, `*/n`, `a/n`, `a-b/n` as a bitset.
fn bits_field(text: &str, (at, field): (usize, &str), kind: FieldKind) -> Result<u64, TimerError> {
    let (min, max) = kind.bounds();
    let mut bits = 0u64;
    let mut offset = at;
    for item in field.split(',') {
        let item_at = offset;
        offset += item.len() + 1;
        if item.is_empty() {
            return Err(syntax(
                text,
                item_at,
                format!("a {} value, `*` or a range", kind.name()),
            ));
        }
        let (range_part, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step_at = item_at + r.len() + 1;
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(syntax(text, step_at, "a step number after `/`"));
                }
                let v: u64 = s.parse().unwrap_or(u64::MAX);
                (r, range_check(v, 1, max.max(1), "step", step_at)?)
            }
            None => (item, 1),
        };
        let wildcard = range_part == "*" || range_part == "?";
        if range_part == "?" && !matches!(kind, FieldKind::DayOfMonth | FieldKind::DayOfWeek) {
            return Err(syntax(
                text,
                item_at,
                format!(
                    "a {} value or `*` (`?` is only allowed in the day fields)",
                    kind.name()
                ),
            ));
        }
        let (lo, hi) = if wildcard {
            (min, max)
        } else if let Some((a, b)) = range_part.split_once('-') {
            let a_at = item_at;
            let b_at = item_at + a.len() + 1;
            let mut lo = cron_value(text, a_at, a, kind)?;
            let hi = cron_value(text, b_at, b, kind)?;
            if kind == FieldKind::DayOfWeek && lo == 7 && hi < 7 {
                lo = 0; // `SUN-SAT`, `7-3`: Sunday starts the week here.
            }
            if lo > hi {
                return Err(syntax(
                    text,
                    a_at,
                    format!("a range whose start is not after its end (`{a}` > `{b}`)"),
                ));
            }
            (lo, hi)
        } else {
            let v = cron_value(text, item_at, range_part, kind)?;
            // `a/n` means from `a` to the end of the field.
            if item.contains('/') { (v, max) } else { (v, v) }
        };
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    if kind == FieldKind::DayOfWeek && bits & (1 << 7) != 0 {
        bits = (bits | 1) & !(1 << 7);
    }
    Ok(bits)
}

fn day_of_month_field(text: &str, (at, field): (usize, &str)) -> Result<DayOfMonth, TimerError> {
    let upper = field.to_ascii_uppercase();
    if !upper.contains(['L', 'W']) {
        return Ok(DayOfMonth::Days(
            bits_field(text, (at, field), FieldKind::DayOfMonth)? as u32,
        ));
    }
    if upper == "L" {
        return Ok(DayOfMonth::Last { offset: 0 });
    }
    if upper == "LW" {
        return Ok(DayOfMonth::LastWeekday);
    }
    if let Some(n) = upper.strip_prefix("L-") {
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            let v: u64 = n.parse().unwrap_or(u64::MAX);
            let v = range_check(v, 1, 30, "offset from the last day", at + 2)?;
            return Ok(DayOfMonth::Last { offset: v as u8 });
        }
        return Err(syntax(text, at + 2, "a number of days after `L-`"));
    }
    if let Some(n) = upper.strip_suffix('W')
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        let v: u64 = n.parse().unwrap_or(u64::MAX);
        let v = range_check(v, 1, 31, "day of month", at)?;
        return Ok(DayOfMonth::NearestWeekday(v as u8));
    }
    Err(syntax(
        text,
        at,
        "a day-of-month list, or exactly one of `L`, `L-n`, `LW`, `nW`",
    ))
}

fn day_of_week_field(text: &str, (at, field): (usize, &str)) -> Result<DayOfWeek, TimerError> {
    let to_weekday = |v: u64| (v % 7) as u8; // 7 → 0 (Sunday)
    if let Some((d, n)) = field.split_once('#') {
        let w = cron_value(text, at, d, FieldKind::DayOfWeek)?;
        let n_at = at + d.len() + 1;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax(text, n_at, "an occurrence 1-5 after `#`"));
        }
        let nv: u64 = n.parse().unwrap_or(u64::MAX);
        let nv = range_check(nv, 1, 5, "occurrence of the weekday", n_at)?;
        return Ok(DayOfWeek::Nth {
            weekday: to_weekday(w),
            n: nv as u8,
        });
    }
    if field.len() > 1 && field.ends_with(['L', 'l']) {
        let d = &field[..field.len() - 1];
        let w = cron_value(text, at, d, FieldKind::DayOfWeek)?;
        return Ok(DayOfWeek::Last(to_weekday(w)));
    }
    if field.eq_ignore_ascii_case("L") {
        return Err(syntax(
            text,
            at,
            "a weekday before `L` (e.g. `5L` or `FRIL` for the last Friday)",
        ));
    }
    Ok(DayOfWeek::Days(
        bits_field(text, (at, field), FieldKind::DayOfWeek)? as u8,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn dt(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, nanos: u32, offset: Offset) -> DateTime {
        DateTime {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            nanos,
            offset,
            zone_id: None,
            date_only: false,
        }
    }

    #[test]
    fn time_dates_parse() {
        let cases: &[(&str, DateTime)] = &[
            (
                "2026-01-01T00:00:00Z",
                dt(2026, 1, 1, 0, 0, 0, 0, Offset::Utc),
            ),
            (
                "  2011-03-11T12:13:14Z \n",
                dt(2011, 3, 11, 12, 13, 14, 0, Offset::Utc),
            ),
            (
                "2024-02-29T23:59:59.5+02:00",
                dt(2024, 2, 29, 23, 59, 59, 500_000_000, Offset::Minutes(120)),
            ),
            (
                "2026-06-30T08:00:00.123456789-05:30",
                dt(2026, 6, 30, 8, 0, 0, 123_456_789, Offset::Minutes(-330)),
            ),
            (
                "2026-06-30T08:00:00",
                dt(2026, 6, 30, 8, 0, 0, 0, Offset::Local),
            ),
            (
                "2026-06-30T08:00",
                dt(2026, 6, 30, 8, 0, 0, 0, Offset::Local),
            ),
            (
                "2026-06-30T08:00:00+0100",
                dt(2026, 6, 30, 8, 0, 0, 0, Offset::Minutes(60)),
            ),
            (
                "2026-06-30T08:00:00-01",
                dt(2026, 6, 30, 8, 0, 0, 0, Offset::Minutes(-60)),
            ),
            (
                "2000-02-29T00:00:00,25Z",
                dt(2000, 2, 29, 0, 0, 0, 250_000_000, Offset::Utc),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time_date(text).as_ref(), Ok(want), "{text}");
        }
        let d = parse_time_date("2026-01-01").unwrap();
        assert!(d.date_only);
        assert_eq!(
            (d.year, d.month, d.day, d.offset),
            (2026, 1, 1, Offset::Local)
        );
        let z = parse_time_date("2019-10-02T08:09:40+02:00[Europe/Berlin]").unwrap();
        assert_eq!(z.zone_id.as_deref(), Some("Europe/Berlin"));
        assert_eq!(z.offset, Offset::Minutes(120));
    }

    #[test]
    fn time_dates_reject() {
        // (text, offset of the error, fragment of the message)
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "4 digits for the year"),
            ("2026-13-01", 5, "month in 1..=12, found 13"),
            ("2026-00-01", 5, "month in 1..=12, found 0"),
            ("2026-02-29", 8, "day of this month in 1..=28, found 29"),
            ("1900-02-29", 8, "in 1..=28"),
            ("2026-04-31T00:00:00Z", 8, "in 1..=30"),
            ("2026-01-01T24:00:00Z", 11, "hour in 0..=23"),
            ("2026-01-01T23:60:00Z", 14, "minute in 0..=59"),
            ("2026-01-01T23:59:60Z", 17, "second in 0..=59"),
            ("2026-01-01T23:59:59+19:00", 20, "offset hours in 0..=18"),
            (
                "2026-01-01T23:59:59.Z",
                20,
                "digits after the decimal separator",
            ),
            (
                "2026-01-01T23:59:59.1234567891Z",
                29,
                "at most 9 fractional digits",
            ),
            ("2026-01-01 10:00", 10, "`T` and a time"),
            ("2026-1-01", 6, "2 digits for the month"),
            ("20260101", 0, "4-digit year followed by `-`"),
            ("2026-01-01T10:00:00Zjunk", 20, "end of the date-time"),
            ("2026-01-01T10:00:00[Europe/Berlin]", 19, "UTC offset"),
            ("  x", 2, "found `x`"),
        ];
        for (text, offset, fragment) in cases {
            let err = parse_time_date(text).expect_err(text);
            assert_eq!(err.offset(), *offset, "{text}: {err}");
            let msg = err.to_string();
            assert!(msg.contains(fragment), "{text}: {msg}");
            assert!(msg.starts_with("expected "), "{msg}");
            assert!(msg.contains("found"), "{msg}");
        }
    }

    #[test]
    fn date_display_round_trips() {
        for text in [
            "2026-01-01T00:00:00Z",
            "2024-02-29T23:59:59.5+02:00",
            "2026-06-30T08:00:00-05:30",
            "2026-06-30T08:00:00",
            "2026-01-01",
            "2019-10-02T08:09:40+02:00[Europe/Berlin]",
        ] {
            assert_eq!(parse_time_date(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn unix_timestamps() {
        let cases: &[(&str, Option<(i64, u32)>)] = &[
            ("1970-01-01T00:00:00Z", Some((0, 0))),
            ("2000-03-01T00:00:00Z", Some((951_868_800, 0))),
            ("2026-01-01T00:00:00Z", Some((1_767_225_600, 0))),
            (
                "2026-01-01T01:00:00.25+01:00",
                Some((1_767_225_600, 250_000_000)),
            ),
            ("1969-12-31T23:59:59Z", Some((-1, 0))),
            ("2026-01-01T00:00:00", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_time_date(text).unwrap().unix_timestamp(),
                *want,
                "{text}"
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dur(y: u64, mo: u64, w: u64, d: u64, h: u64, mi: u64, s: u64, n: u32) -> Duration {
        Duration {
            years: y,
            months: mo,
            weeks: w,
            days: d,
            hours: h,
            minutes: mi,
            seconds: s,
            nanos: n,
        }
    }

    #[test]
    fn durations_parse() {
        let cases: &[(&str, Duration)] = &[
            ("P10D", dur(0, 0, 0, 10, 0, 0, 0, 0)),
            ("PT10M", dur(0, 0, 0, 0, 0, 10, 0, 0)),
            ("P1M", dur(0, 1, 0, 0, 0, 0, 0, 0)),
            ("P2W", dur(0, 0, 2, 0, 0, 0, 0, 0)),
            ("PT0.5S", dur(0, 0, 0, 0, 0, 0, 0, 500_000_000)),
            ("PT1,25S", dur(0, 0, 0, 0, 0, 0, 1, 250_000_000)),
            ("P1Y2M3W4DT5H6M7.000000008S", dur(1, 2, 3, 4, 5, 6, 7, 8)),
            (" PT0S ", dur(0, 0, 0, 0, 0, 0, 0, 0)),
            ("pt1h", dur(0, 0, 0, 0, 1, 0, 0, 0)),
            ("P1DT12H", dur(0, 0, 0, 1, 12, 0, 0, 0)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time_duration(text), Ok(*want), "{text}");
        }
    }

    #[test]
    fn durations_reject() {
        let cases: &[(&str, usize, &str)] = &[
            ("P", 1, "a duration component"),
            ("PT", 2, "a time component"),
            ("", 0, "`P` starting"),
            ("10D", 0, "`P` starting"),
            ("-PT5S", 0, "negative durations"),
            ("P1W2Y", 4, "order Y, M, W, D (here `D`)"),
            ("P1D2Y", 4, "`T` after the day component"),
            ("PT1S2M", 5, "end of the duration after the seconds"),
            ("PT1M2H", 5, "order H, M, S (here `S`)"),
            ("P1H", 2, "date designator"),
            ("P1.5D", 4, "only seconds may have a fraction"),
            ("PT1.5M", 5, "only seconds may have a fraction"),
            ("PT1.S", 4, "digits after the decimal separator"),
            ("P1D1D", 4, "`T` after the day component"),
            ("PT5", 3, "time designator"),
            ("P99999999999999999999D", 1, "a number"),
            ("PT1H ", 0, ""),
            ("PT1H x", 4, "end of the duration"),
        ];
        for (text, offset, fragment) in cases {
            match parse_time_duration(text) {
                Ok(d) if fragment.is_empty() => assert_eq!(d.hours, 1),
                Ok(d) => panic!("{text}: accepted as {d:?}"),
                Err(e) => {
                    assert_eq!(e.offset(), *offset, "{text}: {e}");
                    assert!(e.to_string().contains(fragment), "{text}: {e}");
                }
            }
        }
    }

    #[test]
    fn duration_fixed_length() {
        let cases: &[(&str, Option<(u64, u32)>)] = &[
            ("PT0.5S", Some((0, 500_000_000))),
            ("P1W1DT1H1M1S", Some((8 * 86_400 + 3661, 0))),
            ("P2W", Some((14 * 86_400, 0))),
            ("P1M", None),
            ("P1Y", None),
            ("PT18446744073709551615H", None),
        ];
        for (text, want) in cases {
            let got = parse_time_duration(text)
                .unwrap()
                .fixed_length()
                .map(|d| (d.as_secs(), d.subsec_nanos()));
            assert_eq!(got, *want, "{text}");
        }
    }

    #[test]
    fn duration_display_round_trips() {
        for text in [
            "P10D",
            "PT10M",
            "P1Y2M3W4DT5H6M7.5S",
            "PT0S",
            "P2W",
            "PT0.000000001S",
        ] {
            assert_eq!(parse_time_duration(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn iso_cycles_parse() {
        let day = dur(0, 0, 0, 1, 0, 0, 0, 0);
        let hour = dur(0, 0, 0, 0, 1, 0, 0, 0);
        let jan1 = dt(2026, 1, 1, 0, 0, 0, 0, Offset::Utc);
        let cases: Vec<(&str, Cycle)> = vec![
            (
                "R5/PT10M",
                Cycle::Repeating {
                    repetitions: Some(5),
                    start: None,
                    duration: dur(0, 0, 0, 0, 0, 10, 0, 0),
                    end: None,
                },
            ),
            (
                "R/PT1H",
                Cycle::Repeating {
                    repetitions: None,
                    start: None,
                    duration: hour,
                    end: None,
                },
            ),
            (
                "R3/2026-01-01T00:00:00Z/P1D",
                Cycle::Repeating {
                    repetitions: Some(3),
                    start: Some(jan1.clone()),
                    duration: day,
                    end: None,
                },
            ),
            (
                "R/2026-01-01T00:00:00Z/P1D",
                Cycle::Repeating {
                    repetitions: None,
                    start: Some(jan1.clone()),
                    duration: day,
                    end: None,
                },
            ),
            (
                "R2/PT1H/2026-01-01T00:00:00Z",
                Cycle::Repeating {
                    repetitions: Some(2),
                    start: None,
                    duration: hour,
                    end: Some(jan1.clone()),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time_cycle(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn cycles_reject() {
        let cases: &[(&str, usize, &str)] = &[
            ("R", 0, "repeating interval `R[n]/…` or a cron"),
            ("PT1H", 0, "repeating interval"),
            ("R5", 2, "`/` after the repetition count"),
            ("R5/", 3, "4 digits for the year"),
            ("R5PT1H", 2, "`/` after the repetition count"),
            ("R5/PT0S", 3, "non-zero duration"),
            ("R5/PT1H/", 8, "4 digits for the year"),
            ("R5/2026-01-01T00:00:00Z", 23, "`/` and a duration"),
            (
                "R5/2026-01-01T00:00:00Z/2026-02-01T00:00:00Z",
                24,
                "a duration such as",
            ),
            (
                "R5/PT1H/2026-01-01T00:00:00Z/P1D",
                28,
                "end of the repeating interval",
            ),
            ("R99999999999/PT1H", 1, "repetition count in 0..=4294967295"),
            ("0 0 * * *", 9, "5-field Unix cron is not accepted"),
            ("0 0 0 * * * 2026", 12, "6 cron fields"),
            ("@every", 0, "a cron macro"),
            ("60 * * * * *", 0, "second in 0..=59"),
            ("* 60 * * * *", 2, "minute in 0..=59"),
            ("* * 24 * * *", 4, "hour in 0..=23"),
            ("* * * 0 * *", 6, "day of month in 1..=31"),
            ("* * * 32 * *", 6, "day of month in 1..=31"),
            ("* * * * 13 *", 8, "month in 1..=12"),
            ("* * * * * 8", 10, "day of week in 0..=7"),
            ("* * * * FOO *", 8, "a month 1-12 or JAN-DEC"),
            ("* * * * * FUN", 10, "a day of week 0-7 or MON-SUN"),
            ("? * * * * *", 0, "only allowed in the day fields"),
            ("5-1 * * * * *", 0, "range whose start is not after its end"),
            ("*/0 * * * * *", 2, "step in 1..=59"),
            ("*/ * * * * *", 2, "a step number"),
            ("1,,2 * * * * *", 2, "a second value"),
            ("* * * 1,L * *", 6, "exactly one of `L`"),
            ("* * * L-31 * *", 8, "in 1..=30"),
            ("* * * 32W * *", 6, "day of month in 1..=31"),
            ("* * * * * L", 10, "a weekday before `L`"),
            ("* * * * * 5#6", 12, "occurrence of the weekday in 1..=5"),
            ("* * * * * 5#", 12, "an occurrence 1-5"),
            ("* * * * * X#1", 10, "a day of week"),
        ];
        for (text, offset, fragment) in cases {
            let err = parse_time_cycle(text).expect_err(text);
            assert_eq!(err.offset(), *offset, "{text}: {err}");
            assert!(err.to_string().contains(fragment), "{text}: {err}");
        }
    }

    fn bits(values: &[u8]) -> u64 {
        values.iter().fold(0, |acc, v| acc | 1 << v)
    }

    #[test]
    fn cron_fields_expand() {
        let c = parse_cron("0 */15 9-17 * JAN-MAR,DEC MON-FRI").unwrap();
        assert_eq!(c.seconds, bits(&[0]));
        assert_eq!(c.minutes, bits(&[0, 15, 30, 45]));
        assert_eq!(c.hours as u64, bits(&[9, 10, 11, 12, 13, 14, 15, 16, 17]));
        assert_eq!(c.days_of_month, DayOfMonth::Days(((1u64 << 32) - 2) as u32));
        assert_eq!(c.months as u64, bits(&[1, 2, 3, 12]));
        assert_eq!(
            c.days_of_week,
            DayOfWeek::Days(bits(&[1, 2, 3, 4, 5]) as u8)
        );

        let c = parse_cron("5/20 10-50/20 0 ? * SAT-SUN").unwrap();
        assert_eq!(c.seconds, bits(&[5, 25, 45]));
        assert_eq!(c.minutes, bits(&[10, 30, 50]));
        assert_eq!(c.days_of_week, DayOfWeek::Days(bits(&[0, 6]) as u8));

        let cases: &[(&str, DayOfMonth, DayOfWeek)] = &[
            (
                "0 0 0 L * ?",
                DayOfMonth::Last { offset: 0 },
                DayOfWeek::Days(0x7f),
            ),
            (
                "0 0 0 L-3 * ?",
                DayOfMonth::Last { offset: 3 },
                DayOfWeek::Days(0x7f),
            ),
            (
                "0 0 0 LW * ?",
                DayOfMonth::LastWeekday,
                DayOfWeek::Days(0x7f),
            ),
            (
                "0 0 0 15W * ?",
                DayOfMonth::NearestWeekday(15),
                DayOfWeek::Days(0x7f),
            ),
            (
                "0 0 0 ? * 5L",
                DayOfMonth::Days(0xffff_fffe),
                DayOfWeek::Last(5),
            ),
            (
                "0 0 0 ? * FRIL",
                DayOfMonth::Days(0xffff_fffe),
                DayOfWeek::Last(5),
            ),
            (
                "0 0 0 ? * MON#2",
                DayOfMonth::Days(0xffff_fffe),
                DayOfWeek::Nth { weekday: 1, n: 2 },
            ),
            (
                "0 0 0 ? * 7#1",
                DayOfMonth::Days(0xffff_fffe),
                DayOfWeek::Nth { weekday: 0, n: 1 },
            ),
            (
                "0 0 0 * * 0,7",
                DayOfMonth::Days(0xffff_fffe),
                DayOfWeek::Days(1),
            ),
            (
                "0 0 0 * * SUN-SAT",
                DayOfMonth::Days(0xffff_fffe),
                DayOfWeek::Days(0x7f),
            ),
        ];
        for (text, dom, dow) in cases {
            let c = parse_cron(text).unwrap();
            assert_eq!((c.days_of_month, c.days_of_week), (*dom, *dow), "{text}");
        }
    }

    #[test]
    fn cron_macros_expand() {
        let cases: &[(&str, &str)] = &[
            ("@yearly", "0 0 0 1 1 *"),
            ("@annually", "0 0 0 1 1 *"),
            ("@monthly", "0 0 0 1 * *"),
            ("@weekly", "0 0 0 * * 0"),
            ("@daily", "0 0 0 * * *"),
            ("@midnight", "0 0 0 * * *"),
            ("@hourly", "0 0 * * * *"),
        ];
        for (mac, fields) in cases {
            assert_eq!(parse_cron(mac), parse_cron(fields), "{mac}");
            assert!(matches!(parse_time_cycle(mac), Ok(Cycle::Cron(_))));
        }
    }

    #[test]
    fn cron_next_after() {
        type Case = (&'static str, CivilTime, Option<CivilTime>);
        let cases: &[Case] = &[
            (
                "* * * * * *",
                (2026, 1, 1, 0, 0, 0),
                Some((2026, 1, 1, 0, 0, 1)),
            ),
            (
                "0 0 0 * * *",
                (2026, 12, 31, 23, 59, 59),
                Some((2027, 1, 1, 0, 0, 0)),
            ),
            (
                "0 0 0 * * *",
                (2026, 1, 1, 0, 0, 0),
                Some((2026, 1, 2, 0, 0, 0)),
            ),
            (
                "0 */15 * * * *",
                (2026, 1, 1, 10, 7, 30),
                Some((2026, 1, 1, 10, 15, 0)),
            ),
            (
                "30 45 * * * *",
                (2026, 1, 1, 10, 45, 30),
                Some((2026, 1, 1, 11, 45, 30)),
            ),
            (
                "10,20 5 * * * *",
                (2026, 1, 1, 10, 5, 10),
                Some((2026, 1, 1, 10, 5, 20)),
            ),
            (
                "0 0 9 * * MON-FRI",
                (2026, 1, 2, 9, 0, 0),
                Some((2026, 1, 5, 9, 0, 0)),
            ),
            (
                "0 0 12 29 2 ?",
                (2026, 3, 1, 0, 0, 0),
                Some((2028, 2, 29, 12, 0, 0)),
            ),
            (
                "0 0 12 29 2 ?",
                (2096, 3, 1, 0, 0, 0),
                Some((2104, 2, 29, 12, 0, 0)),
            ),
            (
                "0 0 0 29 2 MON",
                (2026, 1, 1, 0, 0, 0),
                Some((2044, 2, 29, 0, 0, 0)),
            ),
            ("0 0 0 30 2 ?", (2026, 1, 1, 0, 0, 0), None),
            ("0 0 0 31 4,6,9,11 *", (2026, 1, 1, 0, 0, 0), None),
            // The 1st is never a second Monday, the last day never a first one.
            ("0 0 0 1 * MON#2", (2026, 1, 1, 0, 0, 0), None),
            ("* * * L * 1#1", (2026, 1, 1, 0, 0, 0), None),
            (
                "0 0 0 L * ?",
                (2026, 2, 1, 0, 0, 0),
                Some((2026, 2, 28, 0, 0, 0)),
            ),
            (
                "0 0 0 L * ?",
                (2024, 2, 1, 0, 0, 0),
                Some((2024, 2, 29, 0, 0, 0)),
            ),
            (
                "0 0 0 L-2 * ?",
                (2026, 1, 1, 0, 0, 0),
                Some((2026, 1, 29, 0, 0, 0)),
            ),
            // 2026-01-31 is a Saturday, so the last weekday is Friday the 30th.
            (
                "0 0 0 LW * ?",
                (2026, 1, 1, 0, 0, 0),
                Some((2026, 1, 30, 0, 0, 0)),
            ),
            // 2026-02-01 is a Sunday: nearest weekday to the 1st is Monday the 2nd.
            (
                "0 0 0 1W * ?",
                (2026, 1, 31, 0, 0, 0),
                Some((2026, 2, 2, 0, 0, 0)),
            ),
            // 2026-08-01 is a Saturday: it must not move back into July; Monday the 3rd.
            (
                "0 0 0 1W * ?",
                (2026, 7, 31, 0, 0, 0),
                Some((2026, 8, 3, 0, 0, 0)),
            ),
            // 2026-05-31 is a Sunday and the last day: Friday the 29th.
            (
                "0 0 0 31W * ?",
                (2026, 5, 1, 0, 0, 0),
                Some((2026, 5, 29, 0, 0, 0)),
            ),
            // Last Friday of January 2026 is the 30th.
            (
                "0 0 0 ? * 5L",
                (2026, 1, 1, 0, 0, 0),
                Some((2026, 1, 30, 0, 0, 0)),
            ),
            // Second Monday of February 2026 is the 9th.
            (
                "0 0 0 ? * MON#2",
                (2026, 2, 1, 0, 0, 0),
                Some((2026, 2, 9, 0, 0, 0)),
            ),
            (
                "0 0 0 ? * MON#5",
                (2026, 1, 1, 0, 0, 0),
                Some((2026, 3, 30, 0, 0, 0)),
            ),
            (
                "@yearly",
                (2026, 6, 15, 0, 0, 0),
                Some((2027, 1, 1, 0, 0, 0)),
            ),
            (
                "@hourly",
                (2026, 6, 15, 23, 0, 0),
                Some((2026, 6, 16, 0, 0, 0)),
            ),
            (
                "@weekly",
                (2026, 1, 1, 0, 0, 0),
                Some((2026, 1, 4, 0, 0, 0)),
            ),
            (
                "0 0 0 1 1 *",
                (9999, 6, 1, 0, 0, 0),
                Some((10000, 1, 1, 0, 0, 0)),
            ),
        ];
        for (text, from, want) in cases {
            let c = parse_cron(text).unwrap();
            let (y, mo, d, h, mi, s) = *from;
            assert_eq!(
                c.next_after(y, mo, d, h, mi, s),
                *want,
                "{text} after {from:?}"
            );
        }
    }

    #[test]
    fn cron_next_after_rejects_invalid_civil_times() {
        let c = parse_cron("* * * * * *").unwrap();
        for (y, mo, d, h, mi, s) in [
            (2026, 0, 1, 0, 0, 0),
            (2026, 13, 1, 0, 0, 0),
            (2026, 2, 29, 0, 0, 0),
            (2026, 1, 1, 24, 0, 0),
            (2026, 1, 1, 0, 60, 0),
            (2026, 1, 1, 0, 0, 60),
        ] {
            assert_eq!(c.next_after(y, mo, d, h, mi, s), None);
        }
        assert_eq!(c.next_after(i32::MAX, 12, 31, 23, 59, 59), None);
    }

    #[test]
    fn weekdays_and_civil_days() {
        let cases: &[((i64, u8, u8), i64, u8)] = &[
            ((1970, 1, 1), 0, 4),
            ((2000, 2, 29), 11_016, 2),
            ((2026, 1, 1), 20_454, 4),
            ((1969, 12, 31), -1, 3),
            ((1600, 3, 1), -135_080, 3),
        ];
        for ((y, m, d), days, wd) in cases {
            assert_eq!(calendar::days_from_civil(*y, *m, *d), *days, "{y}-{m}-{d}");
            assert_eq!(calendar::weekday(*y, *m, *d), *wd, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn timer_values_and_expressions() {
        let cases: Vec<(TimerKind, &str, TimerValue)> = vec![
            (
                TimerKind::Duration,
                "= duration(\"PT1H\")",
                TimerValue::Expression {
                    language: ExpressionLanguage::Feel,
                    source: "duration(\"PT1H\")".into(),
                },
            ),
            (
                TimerKind::Date,
                " ${dueDate} ",
                TimerValue::Expression {
                    language: ExpressionLanguage::Juel,
                    source: "${dueDate}".into(),
                },
            ),
            (
                TimerKind::Cycle,
                "R3/#{interval}",
                TimerValue::Expression {
                    language: ExpressionLanguage::Juel,
                    source: "R3/#{interval}".into(),
                },
            ),
            (
                TimerKind::Duration,
                "PT5M",
                TimerValue::Duration(dur(0, 0, 0, 0, 0, 5, 0, 0)),
            ),
            (
                TimerKind::Date,
                "2026-01-01T00:00:00Z",
                TimerValue::Date(dt(2026, 1, 1, 0, 0, 0, 0, Offset::Utc)),
            ),
        ];
        for (kind, text, want) in cases {
            assert_eq!(parse_timer(kind, text), Ok(want), "{text}");
        }
        assert!(matches!(
            parse_timer(TimerKind::Cycle, "0 0 9 * * MON-FRI"),
            Ok(TimerValue::Cycle(Cycle::Cron(_)))
        ));
        let err = parse_timer(TimerKind::Date, "  =  ").unwrap_err();
        assert_eq!(err.offset(), 3);
        assert!(parse_timer(TimerKind::Duration, "P").is_err());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics(s in "\\PC{0,40}") {
                for kind in [TimerKind::Date, TimerKind::Duration, TimerKind::Cycle] {
                    if let Err(e) = parse_timer(kind, &s) {
                        prop_assert!(e.offset() <= s.len());
                        prop_assert!(e.to_string().starts_with("expected "));
                    }
                }
            }

            #[test]
            fn never_panics_on_near_misses(s in "[RPTWYMDHS0-9:/.,+Z@ *?#LW-]{0,30}") {
                for kind in [TimerKind::Date, TimerKind::Duration, TimerKind::Cycle] {
                    if let Err(e) = parse_timer(kind, &s) {
                        prop_assert!(e.offset() <= s.len());
                    }
                }
            }

            #[test]
            fn cron_next_is_later_and_matches(
                sec in 0u8..60, min in 0u8..60, hour in 0u8..24,
                y in 1900i32..2300, mo in 1u8..=12, d in 1u8..=28,
                h in 0u8..24, mi in 0u8..60, s in 0u8..60,
            ) {
                let c = parse_cron(&format!("{sec} {min} {hour} * * *")).unwrap();
                let next = c.next_after(y, mo, d, h, mi, s).unwrap();
                prop_assert!(next > (y, mo, d, h, mi, s));
                prop_assert_eq!((next.3, next.4, next.5), (hour, min, sec));
                // At most one day later.
                let day_of = |t: CivilTime| calendar::days_from_civil(i64::from(t.0), t.1, t.2);
                prop_assert!(day_of(next) - day_of((y, mo, d, h, mi, s)) <= 1);
            }
        }
    }
}
