//! The two `java.text.DateFormat` layouts the tools print, as Java 17
//! renders them in the en_US locale and the UTC zone (the only zone we
//! print; run the Java tools with `-Duser.timezone=UTC` to compare).
//! `Date.toString`, the third layout, is `zk_server::commands::java_fmt`.

/// `getDateTimeInstance(SHORT, LONG)` (TxnLogToolkit):
/// `11/23/26, 2:13:33 AM UTC`.
pub fn short_long(epoch_ms: i64) -> String {
    let t = Civil::of(epoch_ms);
    format!(
        "{}/{}/{:02}, {} UTC",
        t.month,
        t.day,
        t.year.rem_euclid(100),
        t.clock()
    )
}

/// `getDateTimeInstance()`, i.e. (MEDIUM, MEDIUM) (PurgeTxnLog):
/// `Nov 23, 2026, 2:13:33 AM`.
pub fn medium_medium(epoch_ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = Civil::of(epoch_ms);
    format!(
        "{} {}, {}, {}",
        MONTHS[(t.month - 1) as usize],
        t.day,
        t.year,
        t.clock()
    )
}

/// A UTC calendar date and time of day.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    secs_of_day: i64,
}

impl Civil {
    fn of(epoch_ms: i64) -> Civil {
        let secs = epoch_ms.div_euclid(1000);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        Civil {
            year,
            month,
            day,
            secs_of_day: secs.rem_euclid(86_400),
        }
    }

    /// `h:mm:ss AM`, the 12-hour clock both layouts share.
    fn clock(&self) -> String {
        let s = self.secs_of_day;
        let h24 = s / 3600;
        let h12 = if h24 % 12 == 0 { 12 } else { h24 % 12 };
        let ampm = if h24 < 12 { "AM" } else { "PM" };
        format!("{h12}:{:02}:{:02} {ampm}", s % 3600 / 60, s % 60)
    }
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian,
/// Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings printed by Java 17 (en_US, UTC).

    #[test]
    fn short_long_matches_java() {
        assert_eq!(short_long(0), "1/1/70, 12:00:00 AM UTC");
        assert_eq!(short_long(1_795_400_013_000), "11/23/26, 2:13:33 AM UTC");
    }

    #[test]
    fn medium_medium_matches_java() {
        assert_eq!(medium_medium(1_795_400_013_000), "Nov 23, 2026, 2:13:33 AM");
        assert_eq!(medium_medium(1_795_440_013_000), "Nov 23, 2026, 1:20:13 PM");
    }
}
