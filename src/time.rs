//! Time in lnraid's documents: every timestamp lnraid writes for others to read (`status
//! --json`, job records, alert events, recover's MANIFEST) is RFC 3339 in UTC
//! (`2026-12-01T17:20:51Z`), formatted and parsed by `jiff` — no hand-written calendar code.
//!
//! Inside the program time stays Unix seconds (`u64`); [`UtcTime`] is the one type that turns
//! it into RFC 3339 at the document boundary, and [`unix_rfc3339`] does the same for a plain
//! `u64` field of a stored record while still reading the older numeric form. Pure, except
//! [`parse_btrfs_local_time`], which reads the machine's time zone (btrfs prints local time).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Unix seconds as RFC 3339 UTC, to the second: `2026-12-01T17:20:51Z`.
pub fn rfc3339(unix: u64) -> String {
    let secs = i64::try_from(unix).unwrap_or(i64::MAX);
    match jiff::Timestamp::from_second(secs) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        // Beyond jiff's range (year 9999): clamp rather than print something unparsable.
        Err(_) => "9999-12-31T23:59:59Z".to_string(),
    }
}

/// An RFC 3339 timestamp (any offset) → Unix seconds; `None` for anything else or before 1970.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    // jiff also reads ISO 8601's basic form (`20261201T172051Z`); RFC 3339 is the extended one.
    static SHAPE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
            .expect("constant regex")
    });
    if !SHAPE.is_match(s) {
        return None;
    }
    let t: jiff::Timestamp = s.parse().ok()?;
    u64::try_from(t.as_second()).ok()
}

/// A point in time that serializes as RFC 3339 UTC and reads back from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UtcTime(pub u64);

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&rfc3339(self.0))
    }
}

impl Serialize for UtcTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}

impl<'de> Deserialize<'de> for UtcTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UtcTime, D::Error> {
        let s = String::deserialize(d)?;
        parse_rfc3339(&s)
            .map(UtcTime)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}")))
    }
}

/// `#[serde(with = "crate::time::unix_rfc3339")]` on a `u64` of Unix seconds: written as RFC
/// 3339 UTC; read from RFC 3339 or from the bare number older lnraid versions wrote.
pub mod unix_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*v))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Text(s) => super::parse_rfc3339(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}"))),
        }
    }
}

/// `Sat Nov 21 12:59:51 2026`, as `btrfs scrub status` prints it in the machine's local time,
/// → Unix seconds.
pub fn parse_btrfs_local_time(s: &str) -> Option<u64> {
    let norm = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let dt = jiff::civil::DateTime::strptime("%a %b %d %H:%M:%S %Y", &norm).ok()?;
    let t = jiff::tz::TimeZone::system().to_timestamp(dt).ok()?;
    u64::try_from(t.as_second()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_145_651), "2026-12-01T17:20:51Z");
        assert_eq!(parse_rfc3339("2026-12-01T17:20:51Z"), Some(1_796_145_651));
        assert_eq!(
            parse_rfc3339("2026-12-01T18:20:51+01:00"),
            Some(1_796_145_651)
        );
        assert_eq!(parse_rfc3339("20261201T172051Z"), None);
        assert_eq!(parse_rfc3339("1796145651"), None);
        let j = serde_json::to_string(&UtcTime(1_796_145_651)).unwrap();
        assert_eq!(j, "\"2026-12-01T17:20:51Z\"");
        assert_eq!(
            serde_json::from_str::<UtcTime>(&j).unwrap(),
            UtcTime(1_796_145_651)
        );
        assert!(serde_json::from_str::<UtcTime>("\"yesterday\"").is_err());
    }

    #[test]
    fn old_numeric_records_still_read() {
        #[derive(Serialize, Deserialize)]
        struct R {
            #[serde(with = "unix_rfc3339")]
            t: u64,
        }
        let r: R = serde_json::from_str(r#"{"t": 5}"#).unwrap();
        assert_eq!(r.t, 5);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"t":"1970-01-01T00:00:05Z"}"#
        );
        let r: R = serde_json::from_str(r#"{"t":"1970-01-01T00:00:05Z"}"#).unwrap();
        assert_eq!(r.t, 5);
    }

    #[test]
    fn btrfs_local_time() {
        let t = parse_btrfs_local_time("Sat Nov 21 12:59:51 2026").unwrap();
        // Whatever the machine's zone, within a day of the UTC reading.
        let utc = parse_rfc3339("2026-11-21T12:59:51Z").unwrap();
        assert!(t.abs_diff(utc) <= 14 * 3600, "{t} vs {utc}");
        assert_eq!(parse_btrfs_local_time("Sat Nov 21 12:59 2026"), None);
        assert_eq!(parse_btrfs_local_time("garbage"), None);
    }
}
