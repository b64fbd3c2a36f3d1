//! Job times: one syntax for both schedulers. Operators give a 5-field cron expression (the
//! guide's lines are cron lines); cron gets it verbatim, systemd gets it translated into
//! `OnCalendar=` values with the same meaning. Pure.
//!
//! The parser accepts a subset of what Debian's cron (Vixie cron 3.0) accepts — numbers,
//! names (`jan`, `mon`), `*`, ranges, `*/step`, `a-b/step`, lists, and the `@daily`-style
//! aliases — and nothing it would reject, so a validated expression never lands in
//! `/etc/cron.d` as a line cron silently skips.
//!
//! The one trap in translating: when both day-of-month and day-of-week are restricted
//! (neither field starts with `*`), cron runs the job when EITHER matches, while systemd
//! requires both. Such an expression becomes two `OnCalendar=` lines (a timer fires on the
//! union of its lines).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One field of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl Field {
    const ALL: [Field; 5] = [
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
    ];

    fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day of month",
            Field::Month => "month",
            Field::DayOfWeek => "day of week",
        }
    }

    /// Lowest and highest value cron accepts (day of week 7 is Sunday, like 0).
    fn bounds(self) -> (u8, u8) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 7),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => &[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ],
            Field::DayOfWeek => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
            _ => &[],
        }
    }

    fn value(self, s: &str) -> Option<u8> {
        let (lo, hi) = self.bounds();
        if let Some(i) = self.names().iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Some(i as u8 + if self == Field::Month { 1 } else { 0 });
        }
        let v: u8 = s
            .parse()
            .ok()
            .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))?;
        (lo..=hi).contains(&v).then_some(v)
    }
}

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{expr:?} is not a cron time expression: {why} (expected 5 fields, e.g. \"0 0 * * 0\" for Sundays at midnight)")]
pub struct CronExprError {
    pub expr: String,
    pub why: String,
}

/// A validated 5-field cron time expression, kept as written (aliases expanded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CronExpr {
    text: String,
    /// The matching values of each field, day of week folded to 0..=6 (Sunday 0).
    sets: [BTreeSet<u8>; 5],
    /// Day-of-month / day-of-week start with `*` (Vixie cron's DOM_STAR / DOW_STAR flags,
    /// which decide between "both must match" and "either matches").
    dom_star: bool,
    dow_star: bool,
}

impl CronExpr {
    pub fn parse(s: &str) -> Result<CronExpr, CronExprError> {
        let err = |why: String| CronExprError {
            expr: s.to_string(),
            why,
        };
        let expanded = match s.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other if other.starts_with('@') => return Err(err(format!("unknown alias {other}"))),
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(err(format!("{} fields", parts.len())));
        }
        let mut sets: [BTreeSet<u8>; 5] = Default::default();
        for ((field, text), set) in Field::ALL.iter().zip(&parts).zip(sets.iter_mut()) {
            *set =
                parse_field(*field, text).map_err(|why| err(format!("{}: {why}", field.name())))?;
        }
        let dow: BTreeSet<u8> = sets[4].iter().map(|d| d % 7).collect();
        sets[4] = dow;
        Ok(CronExpr {
            text: parts.join(" "),
            sets,
            dom_star: parts[2].starts_with('*'),
            dow_star: parts[4].starts_with('*'),
        })
    }

    /// The expression as it goes into a cron line.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The `OnCalendar=` values that fire exactly when cron would run this expression (one,
    /// or two for cron's "day of month OR day of week").
    pub fn on_calendar(&self) -> Vec<String> {
        let [min, hour, dom, month, dow] = &self.sets;
        let time = format!(
            "{}:{}:00",
            compress(hour, 0, 23, num2),
            compress(min, 0, 59, num2)
        );
        let month = compress(month, 1, 12, num2);
        let days = compress(dom, 1, 31, num2);
        let weekdays = weekdays(dow);
        let either = !self.dom_star && !self.dow_star;
        match weekdays {
            Some(w) if either => vec![
                format!("*-{month}-{days} {time}"),
                format!("{w} *-{month}-* {time}"),
            ],
            Some(w) => vec![format!("{w} *-{month}-{days} {time}")],
            None => vec![format!("*-{month}-{days} {time}")],
        }
    }

    /// True when the expression runs at `minute hour day month weekday` (weekday 0 = Sunday),
    /// with cron's rules. For tests and `show`.
    pub fn matches(&self, minute: u8, hour: u8, day: u8, month: u8, weekday: u8) -> bool {
        let [m, h, d, mo, w] = &self.sets;
        let (dm, wm) = (d.contains(&day), w.contains(&(weekday % 7)));
        let day_ok = if self.dom_star || self.dow_star {
            dm && wm
        } else {
            dm || wm
        };
        m.contains(&minute) && h.contains(&hour) && mo.contains(&month) && day_ok
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for CronExpr {
    type Error = CronExprError;
    fn try_from(s: String) -> Result<CronExpr, CronExprError> {
        CronExpr::parse(&s)
    }
}

impl From<CronExpr> for String {
    fn from(c: CronExpr) -> String {
        c.text
    }
}

impl std::str::FromStr for CronExpr {
    type Err = CronExprError;
    fn from_str(s: &str) -> Result<CronExpr, CronExprError> {
        CronExpr::parse(s)
    }
}

/// `a`, `a-b`, `*`, each optionally `/step` (not after a single value: cron rejects `5/10`),
/// joined by commas.
fn parse_field(field: Field, text: &str) -> Result<BTreeSet<u8>, String> {
    let (lo, hi) = field.bounds();
    let mut out = BTreeSet::new();
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u8 = s
                    .parse()
                    .ok()
                    .filter(|v| *v >= 1 && s.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| format!("bad step {s:?}"))?;
                (r, Some(step))
            }
            None => (item, None),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let v = |x: &str| field.value(x).ok_or_else(|| format!("bad value {x:?}"));
            (v(a)?, v(b)?)
        } else {
            if step.is_some() {
                return Err(format!("{item:?}: a step needs a range or *"));
            }
            let v = field
                .value(range)
                .ok_or_else(|| format!("bad value {range:?} (allowed {lo}-{hi})"))?;
            (v, v)
        };
        if a > b {
            return Err(format!("range {range:?} runs backwards"));
        }
        out.extend((a..=b).step_by(usize::from(step.unwrap_or(1))));
    }
    Ok(out)
}

fn num2(v: u8) -> String {
    format!("{v:02}")
}

/// A set as systemd writes it: `*` when full, `a/step` for a progression that runs to the
/// field's end, else runs (`a..b`) and single values joined by commas.
fn compress(set: &BTreeSet<u8>, lo: u8, hi: u8, fmt: fn(u8) -> String) -> String {
    let v: Vec<u8> = set.iter().copied().collect();
    if v.len() == usize::from(hi - lo) + 1 {
        return "*".into();
    }
    if v.len() >= 3 {
        let step = v[1] - v[0];
        let progression = step > 1 && v.windows(2).all(|w| w[1] - w[0] == step);
        if progression && u16::from(v[v.len() - 1]) + u16::from(step) > u16::from(hi) {
            return format!("{}/{step}", fmt(v[0]));
        }
    }
    runs(&v)
        .iter()
        .map(|&(a, b)| match b - a {
            0 => fmt(a),
            1 => format!("{},{}", fmt(a), fmt(b)),
            _ => format!("{}..{}", fmt(a), fmt(b)),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Maximal runs of consecutive values in a sorted list.
fn runs(v: &[u8]) -> Vec<(u8, u8)> {
    let mut out: Vec<(u8, u8)> = Vec::new();
    for &x in v {
        match out.last_mut() {
            Some((_, b)) if *b + 1 == x => *b = x,
            _ => out.push((x, x)),
        }
    }
    out
}

/// systemd's weekday list (Monday first, as systemd orders ranges), or `None` for every day.
fn weekdays(dow: &BTreeSet<u8>) -> Option<String> {
    const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if dow.len() == 7 {
        return None;
    }
    // cron: 0 = Sunday; systemd order: Monday = 0.
    let mon_first: Vec<u8> = {
        let mut v: Vec<u8> = dow.iter().map(|d| (d + 6) % 7).collect();
        v.sort_unstable();
        v
    };
    Some(
        runs(&mon_first)
            .iter()
            .map(|&(a, b)| match b - a {
                0 => NAMES[usize::from(a)].to_string(),
                1 => format!("{},{}", NAMES[usize::from(a)], NAMES[usize::from(b)]),
                _ => format!("{}..{}", NAMES[usize::from(a)], NAMES[usize::from(b)]),
            })
            .collect::<Vec<_>>()
            .join(","),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(s: &str) -> Vec<String> {
        CronExpr::parse(s).unwrap().on_calendar()
    }

    #[test]
    fn guide_times() {
        assert_eq!(cal("0 0 * * *"), ["*-*-* 00:00:00"]);
        assert_eq!(cal("0 0 * * 0"), ["Sun *-*-* 00:00:00"]);
        assert_eq!(cal("0 0 * * 7"), ["Sun *-*-* 00:00:00"]);
        assert_eq!(cal("@weekly"), ["Sun *-*-* 00:00:00"]);
        assert_eq!(CronExpr::parse("@daily").unwrap().as_str(), "0 0 * * *");
    }

    #[test]
    fn ranges_steps_names() {
        assert_eq!(cal("*/5 * * * *"), ["*-*-* *:00/5:00"]);
        assert_eq!(cal("30 2 * * mon-fri"), ["Mon..Fri *-*-* 02:30:00"]);
        assert_eq!(cal("15 3 1 jan,jul *"), ["*-01,07-01 03:15:00"]);
        assert_eq!(cal("0 1-4 * * *"), ["*-*-* 01..04:00:00"]);
        assert_eq!(cal("0 10-20/5 * * *"), ["*-*-* 10/5:00:00"]); // 10, 15, 20: 25 is no hour
        assert_eq!(cal("0 10-15/5 * * *"), ["*-*-* 10,15:00:00"]);
        assert_eq!(cal("0 1,2,3,7 * * *"), ["*-*-* 01..03,07:00:00"]);
        assert_eq!(cal("0 0 * * 5-7"), ["Fri..Sun *-*-* 00:00:00"]);
        assert_eq!(cal("0 0 * * sat,sun"), ["Sat,Sun *-*-* 00:00:00"]);
        assert_eq!(cal("  0   0 *  * 0 "), ["Sun *-*-* 00:00:00"]);
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // cron: the 1st of the month OR any Monday.
        assert_eq!(
            cal("0 4 1 * mon"),
            ["*-*-01 04:00:00", "Mon *-*-* 04:00:00"]
        );
        // A field starting with `*` makes cron require both.
        assert_eq!(cal("0 4 */2 * mon"), ["Mon *-*-01/2 04:00:00"]);
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "0 0 * *",
            "0 0 * * * *",
            "60 0 * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "0 0 * 13 *",
            "0 0 * * 8",
            "5/10 * * * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "0 0 * * funday",
            "@often",
            "0 0 * * -1",
            "a b c d e",
            "0,,5 * * * *",
        ] {
            assert!(CronExpr::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn matches_like_cron() {
        let e = CronExpr::parse("0 4 1 * mon").unwrap();
        assert!(e.matches(0, 4, 1, 5, 3)); // the 1st, a Wednesday
        assert!(e.matches(0, 4, 8, 5, 1)); // a Monday, the 8th
        assert!(!e.matches(0, 4, 9, 5, 2));
        let e = CronExpr::parse("0 4 */2 * mon").unwrap();
        assert!(!e.matches(0, 4, 1, 5, 3));
        assert!(e.matches(0, 4, 3, 5, 1));
    }
}
