//! What status needs to know about an md array beyond its live state: when it was last
//! checked and what that check found (lnraid's typed record of `maintain check`, which
//! outlives the reboot that resets sysfs `mismatch_cnt`), how old the array is (mdadm's
//! `Creation Time`), whether the distribution schedules the checks, and members whose own
//! superblock (`mdadm --examine`) names another array — a disk re-used from another array,
//! or a device name that now points at a different disk.
//!
//! Pure parts (`LastCheck::from_record`, `creation_time`, `foreign`) plus one read-only probe
//! (`probe_foreign_members`, `mdadm --examine` through the runner).

use serde::Serialize;

use crate::exec::Runner;
use crate::probe::mdadm::{examine_cmd, parse_examine, Detail};
use crate::records::{JobRecord, Outcome};
use crate::types::DevPath;

/// The key under which `maintain check` records md's `mismatch_cnt` (sectors).
pub const MISMATCH_KEY: &str = "mismatch_sectors";

/// The last finished md check, from lnraid's record of `maintain check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastCheck {
    pub started_at: u64,
    pub finished_at: u64,
    /// `mismatch_cnt` when it finished (sectors the mirrors differ in).
    pub mismatch_sectors: Option<u64>,
}

impl LastCheck {
    /// A record of a check that ran to the end (ok: mirrors equal; uncorrectable: they
    /// differ). A skipped or failed run checked nothing.
    pub fn from_record(r: &JobRecord) -> Option<LastCheck> {
        matches!(r.outcome, Outcome::Ok | Outcome::Uncorrectable).then(|| LastCheck {
            started_at: r.started,
            finished_at: r.finished,
            mismatch_sectors: r.counts.get(MISMATCH_KEY).copied(),
        })
    }
}

/// `Creation Time : Tue Dec  1 17:20:51 2026` of `mdadm --detail` (local time) as Unix
/// seconds.
pub fn creation_time(d: &Detail) -> Option<u64> {
    let created = &d.fields.iter().find(|(k, _)| k == "Creation Time")?.1;
    let t = jiff::fmt::strtime::parse("%a %b %e %H:%M:%S %Y", created.trim()).ok()?;
    let ts = jiff::tz::TimeZone::system()
        .to_ambiguous_zoned_datetime(t.to_datetime().ok()?)
        .compatible()
        .ok()?
        .timestamp();
    u64::try_from(ts.as_second()).ok()
}

/// A member whose superblock names another array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignMember {
    pub path: DevPath,
    /// The array UUID its superblock carries (mdadm's colon form).
    pub array_uuid: String,
}

/// Which of `examined` (member path, its `mdadm --examine` text) carry another array UUID
/// than `array_uuid`. Text that does not parse is not judged (the probe error says why).
/// Pure.
pub fn foreign(array_uuid: &str, examined: &[(DevPath, String)]) -> Vec<ForeignMember> {
    examined
        .iter()
        .filter_map(|(path, text)| {
            let e = parse_examine(text).ok()?;
            (!e.array_uuid.eq_ignore_ascii_case(array_uuid)).then(|| ForeignMember {
                path: path.clone(),
                array_uuid: e.array_uuid,
            })
        })
        .collect()
}

/// `mdadm --examine` of each member, judged by [`foreign`]; errors for members it could not
/// read.
pub fn probe_foreign_members(
    runner: &dyn Runner,
    array_uuid: &str,
    members: &[DevPath],
) -> (Vec<ForeignMember>, Vec<String>) {
    let mut examined = Vec::new();
    let mut errors = Vec::new();
    for m in members {
        match runner.run_ok(&examine_cmd(m)) {
            Ok(o) => examined.push((m.clone(), o.stdout)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (foreign(array_uuid, &examined), errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::FakeRunner;

    const EXAMINE: &str =
        include_str!("../../../fixtures/mdadm-examine/4.2-raid1-member-clean.txt");

    fn examined_uuid() -> String {
        parse_examine(EXAMINE).unwrap().array_uuid
    }

    #[test]
    fn a_member_carrying_another_arrays_uuid_is_named() {
        let own = examined_uuid();
        let dev = DevPath::new("/dev/vda");
        assert!(foreign(&own, &[(dev.clone(), EXAMINE.into())]).is_empty());
        let other = "11111111:22222222:33333333:44444444";
        let f = foreign(other, &[(dev.clone(), EXAMINE.into())]);
        assert_eq!(
            f,
            vec![ForeignMember {
                path: dev,
                array_uuid: own
            }]
        );
        // Garbage is not judged foreign.
        assert!(foreign(other, &[(DevPath::new("/dev/vdb"), "nonsense".into())]).is_empty());
    }

    #[test]
    fn the_probe_examines_each_member_through_the_runner() {
        let runner = FakeRunner::new();
        runner.reply_line("mdadm --examine /dev/vda", EXAMINE);
        let (f, errors) = probe_foreign_members(
            &runner,
            "11111111:22222222:33333333:44444444",
            &[DevPath::new("/dev/vda"), DevPath::new("/dev/vdb")],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(errors.len(), 1, "vdb has no reply: an error, not a guess");
    }

    #[test]
    fn only_a_check_that_ran_to_the_end_counts() {
        let mut r = JobRecord {
            job: crate::records::Job::Scrub,
            fs_uuid: crate::types::FsUuid::parse("0b6c5f0e-7a38-4a5e-9b7f-4f3b0f2d9c11").unwrap(),
            mountpoint: "/mnt/md".into(),
            started: 100,
            finished: 200,
            outcome: Outcome::Uncorrectable,
            detail: String::new(),
            counts: [(MISMATCH_KEY.to_string(), 128)].into_iter().collect(),
        };
        assert_eq!(
            LastCheck::from_record(&r).unwrap().mismatch_sectors,
            Some(128)
        );
        r.outcome = Outcome::Skipped;
        assert_eq!(LastCheck::from_record(&r), None);
    }
}
