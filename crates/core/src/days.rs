//! The user's local day, defined once (DECISIONS 8).
//!
//! A user's day is a calendar date in their IANA time zone (`user.timezone`), starting at
//! their `day_starts_at` preference (`HH:MM`, default `00:00`) rather than at midnight: with
//! day start 04:00, 01:30 on the 2nd still belongs to the 1st. Day `D` is the half-open
//! instant range `[start(D), start(D + 1))`, where `start(D)` is the instant the local clock
//! shows `D` at the day start; [`LocalDays::day_of`] returns the day whose range holds an
//! instant, so the two always agree.
//!
//! Daylight-saving transitions:
//! - a day start that falls in a **gap** (the clock jumps over it) maps to the first instant
//!   after the gap;
//! - a day start that falls in an **overlap** (the clock shows it twice) maps to the earlier
//!   of the two instants.
//!
//! So a day can be 23 or 25 hours long, and a date a zone skipped entirely (Pacific/Kiritimati
//! skipped 1994-12-31) has an empty range and is never the day of any instant.
//!
//! Every domain service computes day-valued fields with [`LocalDays::for_user`] when it
//! writes them, never with the UTC date.

use chrono::{
    DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use lifeos_entity::UserId;
use sea_orm::ConnectionTrait;

pub use crate::identity::preferences::{DAY_STARTS_AT, parse_day_start};
use crate::identity::{preferences, users};
use crate::{Error, Result};

/// How one user's instants map to local days: their time zone and the time their day starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalDays {
    zone: Tz,
    day_start: NaiveTime,
}

impl LocalDays {
    /// Days in `zone` starting at `day_start` (seconds and below are ignored: a day starts on
    /// a minute).
    pub fn new(zone: Tz, day_start: NaiveTime) -> Self {
        let day_start = NaiveTime::from_hms_opt(day_start.hour(), day_start.minute(), 0)
            .unwrap_or(NaiveTime::MIN);
        Self { zone, day_start }
    }

    /// The days of `user`: `user.timezone` (`UTC` when unset) and the `day_starts_at`
    /// preference (`00:00` when unset).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown user; [`Error::Invalid`] when a stored value is not
    /// a time zone or an `HH:MM` time (only possible for rows written around the services).
    pub async fn for_user<C: ConnectionTrait>(db: &C, user: UserId) -> Result<Self> {
        let model = users::load(db, user).await?;
        let zone = parse_zone(model.timezone.as_deref().unwrap_or("UTC"))?;
        let day_start = match preferences::get(db, user, DAY_STARTS_AT).await? {
            Some(value) => parse_day_start(value.as_str().unwrap_or_default())?,
            None => NaiveTime::MIN,
        };
        Ok(Self::new(zone, day_start))
    }

    /// The time zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The local time a day starts at.
    pub fn day_start(&self) -> NaiveTime {
        self.day_start
    }

    /// The local day `instant` belongs to.
    pub fn day_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        let local = instant.with_timezone(&self.zone).naive_local();
        let guess = local
            .checked_sub_signed(self.day_start - NaiveTime::MIN)
            .unwrap_or(local)
            .date();
        // The guess is right except around a transition in an overlap; the ranges decide.
        if instant < self.start(guess) {
            guess.pred_opt().unwrap_or(guess)
        } else if guess
            .succ_opt()
            .is_some_and(|next| instant >= self.start(next))
        {
            guess.succ_opt().unwrap_or(guess)
        } else {
            guess
        }
    }

    /// Today, for this user.
    pub fn today(&self) -> NaiveDate {
        self.day_of(Utc::now())
    }

    /// The instants of `day`: `[start, end)`.
    pub fn range(&self, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let end = day
            .checked_add_days(Days::new(1))
            .map_or(DateTime::<Utc>::MAX_UTC, |next| self.start(next));
        (self.start(day), end)
    }

    /// The instants of the days `first..=last`: `[start(first), end(last))`.
    pub fn span(&self, first: NaiveDate, last: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.range(first).0, self.range(last).1)
    }

    /// The instant `day` starts at (see the module docs for gaps and overlaps).
    fn start(&self, day: NaiveDate) -> DateTime<Utc> {
        let wall = day.and_time(self.day_start);
        match self.zone.from_local_datetime(&wall) {
            LocalResult::Single(at) => at.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
            LocalResult::None => self.first_after_gap(wall),
        }
    }

    /// The first instant whose local time is at or after `wall`, which lies in a gap: the
    /// instant of the transition. Found by bisection over whole seconds (transitions fall on
    /// whole seconds) within two days of `wall`, where local time rises monotonically.
    fn first_after_gap(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        let local_at = |seconds: i64| {
            DateTime::<Utc>::from_timestamp(seconds, 0)
                .map(|at| at.with_timezone(&self.zone).naive_local())
        };
        let centre = wall.and_utc().timestamp();
        // Local time before `lo` is before the wall clock; at `hi` it is past it.
        let (mut lo, mut hi) = (centre - 2 * 86_400, centre + 2 * 86_400);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match local_at(mid) {
                Some(local) if local >= wall => hi = mid,
                _ => lo = mid,
            }
        }
        DateTime::<Utc>::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// Parses an IANA time-zone name.
///
/// # Errors
/// [`Error::Invalid`] with `field = "timezone"`.
pub fn parse_zone(name: &str) -> Result<Tz> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| Error::invalid("timezone", format!("`{name}` is not an IANA time zone")))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use chrono_tz::{America, Asia, Europe, Pacific};

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// `day_of` and `range` agree on every quarter hour of the given UTC days.
    fn consistent(days: &LocalDays, from: DateTime<Utc>, hours: i64) {
        for step in 0..hours * 4 {
            let instant = from + Duration::minutes(15 * step);
            let d = days.day_of(instant);
            let (start, end) = days.range(d);
            assert!(
                start <= instant && instant < end,
                "{days:?} {instant} -> {d}"
            );
        }
    }

    #[test]
    fn seoul_late_evening_is_the_local_date_not_the_utc_one() {
        let days = LocalDays::new(Asia::Seoul, NaiveTime::MIN);
        // 23:30 in Seoul on 1 March is 14:30 UTC, still 1 March in UTC too; 00:30 on 2 March
        // in Seoul is 15:30 UTC on 1 March.
        assert_eq!(days.day_of(utc(2026, 3, 1, 14, 30)), day(2026, 3, 1));
        assert_eq!(days.day_of(utc(2026, 3, 1, 15, 30)), day(2026, 3, 2));
        let (start, end) = days.range(day(2026, 3, 2));
        assert_eq!(
            (start, end),
            (utc(2026, 3, 1, 15, 0), utc(2026, 3, 2, 15, 0))
        );
    }

    #[test]
    fn a_day_start_moves_early_hours_to_the_day_before() {
        let days = LocalDays::new(Europe::Berlin, hm(4, 0));
        // 01:30 on 11 June in Berlin (CEST, UTC+2) is 23:30 UTC on 10 June.
        assert_eq!(days.day_of(utc(2026, 6, 10, 23, 30)), day(2026, 6, 10));
        // 04:00 local starts the 11th.
        assert_eq!(days.day_of(utc(2026, 6, 11, 2, 0)), day(2026, 6, 11));
        assert_eq!(days.day_of(utc(2026, 6, 11, 1, 59)), day(2026, 6, 10));
    }

    #[test]
    fn berlin_transition_days_are_23_and_25_hours_long() {
        let days = LocalDays::new(Europe::Berlin, NaiveTime::MIN);
        let (start, end) = days.range(day(2026, 3, 29));
        assert_eq!(end - start, Duration::hours(23));
        let (start, end) = days.range(day(2026, 10, 25));
        assert_eq!(end - start, Duration::hours(25));
        consistent(&days, utc(2026, 3, 28, 0, 0), 72);
        consistent(&days, utc(2026, 10, 24, 0, 0), 72);
    }

    #[test]
    fn a_day_start_in_a_gap_maps_to_the_first_instant_after_it() {
        // New York springs forward on 8 March 2026: 02:00 EST becomes 03:00 EDT (07:00 UTC).
        let days = LocalDays::new(America::New_York, hm(2, 30));
        let (start, _) = days.range(day(2026, 3, 8));
        assert_eq!(start, utc(2026, 3, 8, 7, 0));
        assert_eq!(days.day_of(utc(2026, 3, 8, 6, 59)), day(2026, 3, 7));
        assert_eq!(days.day_of(utc(2026, 3, 8, 7, 0)), day(2026, 3, 8));
        consistent(&days, utc(2026, 3, 7, 0, 0), 72);
    }

    #[test]
    fn a_day_start_in_an_overlap_maps_to_the_earlier_instant() {
        // New York falls back on 1 November 2026: 01:00–02:00 happens twice, first as EDT
        // (05:00–06:00 UTC), then as EST (06:00–07:00 UTC).
        let days = LocalDays::new(America::New_York, hm(1, 30));
        let (start, _) = days.range(day(2026, 11, 1));
        assert_eq!(start, utc(2026, 11, 1, 5, 30));
        // The second 01:15 (EST, 06:15 UTC) comes after the day started.
        assert_eq!(days.day_of(utc(2026, 11, 1, 6, 15)), day(2026, 11, 1));
        assert_eq!(days.day_of(utc(2026, 11, 1, 5, 15)), day(2026, 10, 31));
        consistent(&days, utc(2026, 10, 31, 0, 0), 72);
    }

    #[test]
    fn kiritimati_is_fourteen_hours_ahead_and_skipped_a_day() {
        let days = LocalDays::new(Pacific::Kiritimati, NaiveTime::MIN);
        // 10:30 UTC on 1 June is 00:30 on 2 June in Kiritimati.
        assert_eq!(days.day_of(utc(2026, 6, 1, 10, 30)), day(2026, 6, 2));
        assert_eq!(days.day_of(utc(2026, 6, 1, 9, 59)), day(2026, 6, 1));
        // 31 December 1994 never happened there: its range is empty, and no instant has it.
        let (start, end) = days.range(day(1994, 12, 31));
        assert_eq!(start, end);
        consistent(&days, utc(1994, 12, 29, 0, 0), 96);
    }

    #[test]
    fn day_starts_parse_as_hh_mm() {
        assert_eq!(parse_day_start("04:00").unwrap(), hm(4, 0));
        assert_eq!(parse_day_start("23:59").unwrap(), hm(23, 59));
        for bad in [
            "4:00", "24:00", "04:60", "0400", "", "04:00:00", "aa:bb", "+4:00", "04:+1",
        ] {
            assert!(
                matches!(
                    parse_day_start(bad),
                    Err(Error::Invalid {
                        field: DAY_STARTS_AT,
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }
}
