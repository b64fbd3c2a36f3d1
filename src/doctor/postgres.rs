//! PostgreSQL (`--wallet=postgres://...`): lightningd assumes a committed transaction is "saved
//! in all permanent storage", so only synchronous replication is a backup. Three facts, read
//! as the node's own role in its own database (so per-role/per-database settings count):
//! `current_setting('synchronous_commit')` is `on` or `remote_apply`,
//! `synchronous_standby_names` is non-empty, and `pg_stat_replication` has a `streaming` row
//! whose `sync_state` is `sync` or `quorum`. Anything else is high, with the setting to change.
//!
//! Client: `psql` through the runner, not a Rust driver: the same libpq that lightningd links
//! parses the DSN (URI forms, `?sslmode=`, host lists), the command shows up copy-pasteable in
//! evidence and logs, it runs under the exec layer's time limit like every other tool, and it adds no async
//! runtime to the build. The password never appears on a command line or in output: it goes
//! into a 0600 PGPASSFILE in a private temp dir, and the DSN is shown redacted.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use super::sources::GUIDE_POSTGRES;
use super::{Finding, Severity, Strategy};
use crate::exec::{Cmd, Runner};

pub const PSQL_TIMEOUT_SECS: u32 = 15;

fn f(check: &'static str, sev: Severity, ev: String, fix: String) -> Finding {
    Finding::new(Strategy::Postgresql, check, sev, ev, fix, GUIDE_POSTGRES)
}

/// A DSN split for safe use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitDsn {
    /// The DSN without its password.
    pub dsn: String,
    pub password: Option<String>,
    pub user: Option<String>,
    pub database: Option<String>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits the password out of a `postgres://user:pass@host:port/db?opts` URI (pure).
pub fn split_dsn(dsn: &str) -> SplitDsn {
    let (scheme, rest) = dsn.split_once("://").unwrap_or(("postgres", dsn));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let database = path
        .trim_start_matches('/')
        .split('?')
        .next()
        .filter(|d| !d.is_empty())
        .map(percent_decode);
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let (user, password) =
        match userinfo.map(|u| u.split_once(':').map_or((u, None), |(a, b)| (a, Some(b)))) {
            Some((u, p)) => (
                Some(percent_decode(u)).filter(|u| !u.is_empty()),
                p.map(percent_decode),
            ),
            None => (None, None),
        };
    let user_part = userinfo
        .map(|u| format!("{}@", u.split(':').next().unwrap_or("")))
        .unwrap_or_default();
    SplitDsn {
        dsn: format!("{scheme}://{user_part}{hosts}{path}"),
        password,
        user,
        database,
    }
}

/// The DSN as shown to the operator: the password replaced by `***`.
pub fn redact(dsn: &str) -> String {
    let s = split_dsn(dsn);
    match s.password {
        Some(_) => s.dsn.replacen('@', ":***@", 1),
        None => s.dsn,
    }
}

/// What the server said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgFacts {
    pub synchronous_commit: String,
    pub standby_names: String,
    pub in_recovery: bool,
    /// (application_name, state, sync_state); `?` where the role may not see the value.
    pub replication: Vec<(String, String, String)>,
}

const SQL_SETTINGS: &str = "SELECT current_setting('synchronous_commit'), current_setting('synchronous_standby_names'), pg_is_in_recovery()";
const SQL_REPLICATION: &str = "SELECT coalesce(application_name, ''), coalesce(state, '?'), coalesce(sync_state, '?') FROM pg_stat_replication";

fn psql(dsn: &SplitDsn, passfile: Option<&std::path::Path>, sql: &str) -> Cmd {
    let args = [
        "-X",
        "-A",
        "-t",
        "-q",
        "-w",
        "-v",
        "ON_ERROR_STOP=1",
        "-F",
        "|",
        "-d",
    ];
    let mut c = Cmd::read_only("psql", args)
        .arg(dsn.dsn.clone())
        .arg("-c")
        .arg(sql)
        .env("PGCONNECT_TIMEOUT", "5")
        .timeout(std::time::Duration::from_secs(PSQL_TIMEOUT_SECS.into()));
    if let Some(p) = passfile {
        c = c.env("PGPASSFILE", p.display().to_string());
    }
    c
}

/// Parses psql's unaligned output of the two queries (pure).
pub fn parse_facts(settings: &str, replication: &str) -> Result<PgFacts, String> {
    let line = settings
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or("no settings row")?;
    let cols: Vec<&str> = line.split('|').collect();
    if cols.len() != 3 {
        return Err(format!("unexpected settings row {line:?}"));
    }
    let replication = replication
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('|').collect();
            (
                c.first().unwrap_or(&"").to_string(),
                c.get(1).unwrap_or(&"?").to_string(),
                c.get(2).unwrap_or(&"?").to_string(),
            )
        })
        .collect();
    Ok(PgFacts {
        synchronous_commit: cols[0].to_string(),
        standby_names: cols[1].to_string(),
        in_recovery: cols[2] == "t" || cols[2] == "true",
        replication,
    })
}

/// Asks the server (read-only queries, under a timeout).
pub fn probe(runner: &dyn Runner, dsn: &str) -> Result<PgFacts, String> {
    let split = split_dsn(dsn);
    let tmp = tempfile::Builder::new()
        .prefix("lnraid-doctor-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let passfile = match &split.password {
        Some(p) => {
            let path = tmp.path().join("pgpass");
            let esc = p.replace('\\', "\\\\").replace(':', "\\:");
            let mut fh = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| e.to_string())?;
            writeln!(fh, "*:*:*:*:{esc}").map_err(|e| e.to_string())?;
            Some(path)
        }
        None => None,
    };
    let run = |sql| {
        let cmd = psql(&split, passfile.as_deref(), sql);
        let out = runner.output(&cmd).map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "`{cmd}` failed ({}): {}",
                out.status,
                crate::exec::stderr_tail(&out.stderr)
            ))
        }
    };
    let s = run(SQL_SETTINGS)?;
    let r = run(SQL_REPLICATION)?;
    parse_facts(&s, &r)
}

/// Judges the facts (pure).
pub fn judge(dsn: &str, facts: &PgFacts) -> Vec<Finding> {
    let split = split_dsn(dsn);
    let role = split.user.clone().unwrap_or_else(|| "<role>".into());
    let db = split
        .database
        .clone()
        .unwrap_or_else(|| "<database>".into());
    let mut out = Vec::new();
    if facts.in_recovery {
        out.push(f(
            "primary",
            Severity::Warn,
            "the DSN reaches a server in recovery (a standby), not the primary".into(),
            "point --wallet at the primary".into(),
        ));
    }
    if facts.standby_names.trim().is_empty() {
        out.push(f(
            "synchronous_standby_names",
            Severity::High,
            "synchronous_standby_names is empty: every standby is asynchronous, a commit can be lost with the primary".into(),
            "on the primary: ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (<standby application_name>)'; SELECT pg_reload_conf();".into(),
        ));
    } else {
        out.push(f(
            "synchronous_standby_names",
            Severity::Ok,
            format!("synchronous_standby_names = '{}'", facts.standby_names),
            String::new(),
        ));
    }
    if matches!(facts.synchronous_commit.as_str(), "on" | "remote_apply") {
        out.push(f(
            "synchronous_commit",
            Severity::Ok,
            format!(
                "synchronous_commit = {} for role {role} in database {db}",
                facts.synchronous_commit
            ),
            String::new(),
        ));
    } else {
        out.push(f(
            "synchronous_commit",
            Severity::High,
            format!("synchronous_commit = {} for role {role} in database {db}: commits return before the standby has them", facts.synchronous_commit),
            format!("ALTER ROLE \"{role}\" IN DATABASE \"{db}\" SET synchronous_commit = on; (or remote_apply), and check ALTER SYSTEM / postgresql.conf"),
        ));
    }
    let rows: Vec<String> = facts
        .replication
        .iter()
        .map(|(a, s, y)| format!("{a}: {s}/{y}"))
        .collect();
    let good = facts
        .replication
        .iter()
        .any(|(_, s, y)| s == "streaming" && (y == "sync" || y == "quorum"));
    if good {
        out.push(f(
            "pg_stat_replication",
            Severity::Ok,
            format!("a synchronous standby is streaming ({})", rows.join(", ")),
            String::new(),
        ));
    } else if facts.replication.iter().any(|(_, s, _)| s == "?") {
        out.push(f(
            "pg_stat_replication",
            Severity::Error,
            format!(
                "role {role} may not see pg_stat_replication's state ({})",
                rows.join(", ")
            ),
            format!("GRANT pg_read_all_stats TO \"{role}\"; (or run doctor with a superuser DSN)"),
        ));
    } else {
        let ev = if rows.is_empty() {
            "no standby is connected (pg_stat_replication is empty)".to_string()
        } else {
            format!("no standby is streaming synchronously: {}", rows.join(", "))
        };
        out.push(f(
            "pg_stat_replication",
            Severity::High,
            ev,
            "start the standby (primary_conninfo with application_name listed in synchronous_standby_names) and check its log".into(),
        ));
    }
    out
}

/// The PostgreSQL findings for `dsn`.
pub fn check(runner: &dyn Runner, dsn: &str) -> Vec<Finding> {
    let shown = redact(dsn);
    match probe(runner, dsn) {
        Ok(facts) => {
            let mut out = vec![f("connected", Severity::Ok, format!("connected to {shown}"), String::new())];
            out.extend(judge(dsn, &facts));
            out
        }
        Err(e) => vec![f(
            "connect",
            Severity::Error,
            format!("could not query {shown}: {}", e.replace(&split_dsn(dsn).password.unwrap_or_else(|| "\u{0}".into()), "***")),
            "check that psql is installed (Debian: postgresql-client) and the server accepts this role".into(),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_redacts() {
        let s = split_dsn("postgres://ln:s%3Acret@127.0.0.1:5432/lightning?sslmode=disable");
        assert_eq!(
            s.dsn,
            "postgres://ln@127.0.0.1:5432/lightning?sslmode=disable"
        );
        assert_eq!(s.password.as_deref(), Some("s:cret"));
        assert_eq!(s.user.as_deref(), Some("ln"));
        assert_eq!(s.database.as_deref(), Some("lightning"));
        assert_eq!(redact("postgres://ln:pw@h/db"), "postgres://ln:***@h/db");
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
    }

    #[test]
    fn judges_async_sync_and_blind() {
        let async_ = parse_facts("on||f\n", "walreceiver|streaming|async\n").unwrap();
        let j = judge("postgres://ln@h/db", &async_);
        assert!(j
            .iter()
            .any(|f| f.check == "synchronous_standby_names" && f.severity == Severity::High));
        assert!(j
            .iter()
            .any(|f| f.check == "pg_stat_replication" && f.severity == Severity::High));
        let sync = parse_facts("remote_apply|FIRST 1 (s1)|f\n", "s1|streaming|sync\n").unwrap();
        assert!(judge("postgres://ln@h/db", &sync)
            .iter()
            .all(|f| f.severity == Severity::Ok));
        let blind = parse_facts("on|s1|f\n", "s1|?|?\n").unwrap();
        assert!(judge("postgres://ln@h/db", &blind)
            .iter()
            .any(|f| f.severity == Severity::Error));
        let off = parse_facts("local|s1|f\n", "s1|streaming|sync\n").unwrap();
        assert!(judge("postgres://ln@h/db", &off)
            .iter()
            .any(|f| f.check == "synchronous_commit" && f.severity == Severity::High));
        assert!(parse_facts("", "").is_err());
    }
}
