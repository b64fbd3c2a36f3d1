//! `lnraid dev-sqlite-writer DB`: a stand-in for lightningd's database traffic — one small
//! transaction every few milliseconds in rollback-journal mode with lightningd's 60 s busy
//! timeout — reporting commit latencies. Used by scripts/bench-hot-copy and the snapshot
//! tests; never pointed at a real node (it writes).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rusqlite::{params, Connection};

use crate::cli_hotcopy::WriterArgs;

/// lightningd's `sqlite3_busy_timeout` (wallet/db_sqlite3.c): a lock held longer kills it.
const LIGHTNINGD_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(args: &WriterArgs) -> Result<i32> {
    let conn =
        Connection::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    conn.busy_timeout(LIGHTNINGD_BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "DELETE")?;
    conn.execute(
        "INSERT OR IGNORE INTO vars (name, intval) VALUES ('lnraid_counter', 0)",
        [],
    )
    .context("the database needs lightningd's `vars` table (lnraid dev-gen-node-dir)")?;
    let mut counter: i64 = conn.query_row(
        "SELECT intval FROM vars WHERE name='lnraid_counter'",
        [],
        |r| r.get(0),
    )?;
    let mut report = match &args.report {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)?,
        ),
        None => None,
    };
    let interval = Duration::from_millis(args.interval_ms);
    let end = Instant::now() + Duration::from_secs_f64(args.seconds);
    let mut lat = Vec::new();
    let mut next = Instant::now();
    while Instant::now() < end {
        let t0 = Instant::now();
        counter += 1;
        commit(&conn, counter)?;
        lat.push(t0.elapsed());
        if let Some(f) = report.as_mut() {
            writeln!(f, "{counter}")?;
        }
        next += interval;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        } else {
            next = Instant::now();
        }
    }
    lat.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let doc = serde_json::json!({
        "commits": lat.len(),
        "median_ms": ms(lat[lat.len() / 2]),
        "p99_ms": ms(lat[lat.len() * 99 / 100]),
        "worst_ms": ms(*lat.last().unwrap()),
        "last_committed": counter,
    });
    println!("{doc}");
    Ok(super::exit::OK)
}

/// One transaction shaped like a lightningd state update: a counter and a payment row.
fn commit(conn: &Connection, counter: i64) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "UPDATE vars SET intval = ?1 WHERE name = 'lnraid_counter'",
        params![counter],
    )?;
    tx.execute(
        "INSERT INTO payments (timestamp, status, payment_hash, msatoshi, bolt11) VALUES (?1, 0, ?2, ?3, 'lnbc1lnraidwriter')",
        params![counter, counter.to_le_bytes().repeat(4), counter * 1000],
    )?;
    tx.commit().context("committing")?;
    Ok(())
}
