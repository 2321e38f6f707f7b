//! How the JVM prints the few values the four-letter words show, so that
//! scripts written against Apache ZooKeeper parse our text unchanged:
//! `Double.toString`, `Date.toString`, `InetSocketAddress.toString` and
//! Jackson's form of a socket address.

use std::net::{IpAddr, SocketAddr};

/// `Double.toString`: plain decimal with at least one fractional digit
/// between 10^-3 and 10^7, computerized scientific notation outside.
pub fn double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = d.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        // Rust's Debug form is the shortest round-trip decimal and keeps
        // ".0" on whole numbers, which is Java's form in this range.
        return format!("{:?}", d);
    }
    let sci = format!("{:e}", d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    if mantissa.contains('.') {
        format!("{}E{}", mantissa, exp)
    } else {
        format!("{}.0E{}", mantissa, exp)
    }
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Date.toString` in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn date(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        y
    )
}

/// Year, month (1-12), day (1-31) of a day count since 1970-01-01, in the
/// proleptic Gregorian calendar (Howard Hinnant's algorithm).
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

/// `InetAddress.getHostAddress`: IPv6 uncompressed, as the JVM prints it.
fn host_address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|s| format!("{:x}", s))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// `InetSocketAddress.toString` of an accepted connection:
/// `/127.0.0.1:40000`, `/[0:0:0:0:0:0:0:1]:40000`.
pub fn socket_address(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(_) => format!("/{}:{}", host_address(addr.ip()), addr.port()),
        IpAddr::V6(_) => format!("/[{}]:{}", host_address(addr.ip()), addr.port()),
    }
}

/// Jackson's `InetSocketAddressSerializer` form: `127.0.0.1:40000`,
/// `[0:0:0:0:0:0:0:1]:40000`.
pub fn socket_address_json(addr: SocketAddr) -> String {
    let s = socket_address(addr);
    s[1..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(double(0.0), "0.0");
        assert_eq!(double(1.0), "1.0");
        assert_eq!(double(1.6667), "1.6667");
        assert_eq!(double(0.001), "0.001");
        assert_eq!(double(5.0e-4), "5.0E-4");
        assert_eq!(double(1.25e-4), "1.25E-4");
        assert_eq!(double(12345678.0), "1.2345678E7");
        assert_eq!(double(1.0e7), "1.0E7");
        assert_eq!(double(9999999.0), "9999999.0");
    }

    #[test]
    fn dates_print_as_java_does_in_utc() {
        assert_eq!(date(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2022-03-01 12:34:56 UTC was a Tuesday.
        assert_eq!(date(1_646_138_096_000), "Tue Mar 01 12:34:56 UTC 2022");
        // Leap day.
        assert_eq!(date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
    }

    #[test]
    fn socket_addresses_print_as_java_does() {
        let v4: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(socket_address(v4), "/127.0.0.1:40000");
        assert_eq!(socket_address_json(v4), "127.0.0.1:40000");
        let v6: SocketAddr = "[::1]:2181".parse().unwrap();
        assert_eq!(socket_address(v6), "/[0:0:0:0:0:0:0:1]:2181");
        assert_eq!(socket_address_json(v6), "[0:0:0:0:0:0:0:1]:2181");
    }
}
