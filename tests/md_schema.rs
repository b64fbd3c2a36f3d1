//! md arrays' `status --json` documents validate against the same strict schema as btrfs's
//! (`schemas/status.schema.json`), including the md-only fields: the last check's mismatch
//! count from lnraid's record, the distribution's check schedule, and members carrying
//! another array's superblock. Built from the VM captures (mdadm 4.2, kernel 6.1) through the
//! md backend's own health, rules and document conversion.

#[path = "common/schema.rs"]
mod schema;

use std::fs;

use lnraid::backend::health::BackendFacts;
use lnraid::backend::md::health::health;
use lnraid::backend::md::history::{ForeignMember, LastCheck};
use lnraid::backend::md::probe::{MdSnapshot, MdSysfs};
use lnraid::backend::md::rules::{evaluate, RulesCtx};
use lnraid::probe::mdadm::{parse_detail, parse_detail_export};
use lnraid::probe::mdstat::parse_mdstat;
use lnraid::status::doc::StatusDoc;
use lnraid::status::{ArrayFacts, ArrayStatus, Severity};
use lnraid::types::DevPath;

fn fx(p: &str) -> String {
    fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(p),
    )
    .unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn snapshot(state: &str) -> MdSnapshot {
    MdSnapshot {
        device: Some(DevPath::new("/dev/md127")),
        export: Some(
            parse_detail_export(&fx(&format!("mdadm-detail-export/4.2-raid1-{state}.txt")))
                .unwrap(),
        ),
        detail: Some(parse_detail(&fx(&format!("mdadm-detail/4.2-raid1-{state}.txt"))).unwrap()),
        mdstat: parse_mdstat(&fx(&format!(
            "mdstat/6.1.0-56-cloud-amd64-raid1-{state}.txt"
        )))
        .unwrap()
        .array("md127")
        .cloned(),
        sysfs: MdSysfs::default(),
        errors: Vec::new(),
    }
}

fn doc(state: &str, ctx: &RulesCtx) -> serde_json::Value {
    let mut h = health(&snapshot(state));
    let problems = evaluate(&h, ctx);
    if let BackendFacts::Md(f) = &mut h.facts {
        f.last_check = ctx.last_check_at.map(|t| LastCheck {
            started_at: t - 600,
            finished_at: t,
            mismatch_sectors: ctx.last_check_mismatch,
        });
        f.distro_check = ctx.distro_check.clone();
        f.foreign = ctx.foreign.clone();
    }
    let a = ArrayStatus {
        verdict: problems
            .iter()
            .map(|p| p.severity)
            .fold(Severity::Ok, Severity::worst),
        problems,
        facts: ArrayFacts {
            mountpoint: "/mnt/lnraid".into(),
            mounted_at: Some("/mnt/lnraid".into()),
            ..ArrayFacts::default()
        },
        health: Some(h),
    };
    let d = lnraid::backend::to_doc(&a);
    serde_json::to_value(StatusDoc::new(1_796_145_651, "host".into(), vec![d])).unwrap()
}

#[test]
fn md_documents_with_check_history_and_foreign_members_match_the_schema() {
    let now = 1_796_145_651;
    let stale = RulesCtx {
        now,
        last_check_at: Some(now - 60 * 86_400),
        last_check_mismatch: Some(128),
        ..RulesCtx::default()
    };
    let foreign = RulesCtx {
        now,
        distro_check: Some(
            "/etc/cron.d/mdadm runs checkarray (AUTOCHECK=true in /etc/default/mdadm)".into(),
        ),
        foreign: vec![ForeignMember {
            path: DevPath::new("/dev/vdc"),
            array_uuid: "11111111:22222222:33333333:44444444".into(),
        }],
        ..RulesCtx::default()
    };
    let docs = vec![
        doc("clean", &RulesCtx::default()),
        doc("clean", &stale),
        doc("degraded-faulty", &foreign),
        doc("resyncing", &RulesCtx::default()),
    ];
    let md = |i: usize| &docs[i]["arrays"][0];
    assert_eq!(md(0)["backend"], "md");
    assert_eq!(md(0)["last_check"], serde_json::Value::Null);
    assert_eq!(md(1)["md"]["last_check_mismatch_sectors"], 128);
    assert_eq!(md(1)["last_check"]["kind"], "check");
    assert_eq!(md(1)["last_check"]["state"], "finished");
    let codes = |i: usize| -> Vec<String> {
        md(i)["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        codes(1).contains(&"md_check_stale".to_string()),
        "{:?}",
        codes(1)
    );
    assert!(codes(1).contains(&"md_mismatch".to_string()));
    assert_eq!(md(2)["md"]["foreign_members"][0]["path"], "/dev/vdc");
    assert!(md(2)["md"]["check_scheduled_by"]
        .as_str()
        .unwrap()
        .contains("checkarray"));
    assert!(codes(2).contains(&"md_member_uuid_mismatch".to_string()));
    assert_eq!(docs[2]["verdict"], "critical");
    schema::validate("status", &docs);
}
