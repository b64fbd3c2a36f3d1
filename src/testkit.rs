//! A generator of realistic Core Lightning data directories, for tests, benchmarks and the
//! demo (`lnraid dev-gen-node-dir`). Writes only into a directory it creates; never used on a
//! real node.
//!
//! What it makes, shaped like a real `$LIGHTNINGDIR`: `lightningd.sqlite3` in rollback-journal
//! mode with CLN-like tables (channels, HTLCs with 1366-byte onions, shachains, invoices,
//! payments, blocks, transactions) filled to a target size; optionally a hot
//! `lightningd.sqlite3-journal` (a transaction caught mid-way, as after a crash); `hsm_secret`
//! (32 bytes, 0400); `emergency.recover`; `config`; `plugins/` with a relative and a dangling
//! absolute symlink; a large `gossip_store`; and a Unix socket `lightning-rpc`.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection};

/// What to generate.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Approximate size of `lightningd.sqlite3`.
    pub db_bytes: u64,
    /// Size of `gossip_store`.
    pub gossip_bytes: u64,
    /// Leave a hot `-journal` next to the database (an interrupted transaction).
    pub hot_journal: bool,
}

impl Default for NodeSpec {
    fn default() -> Self {
        NodeSpec {
            db_bytes: 24 << 20,
            gossip_bytes: 8 << 20,
            hot_journal: false,
        }
    }
}

/// Value the generator stores in `vars` under `lnraid_marker`: committed state. The hot
/// journal's interrupted transaction overwrote it with [`UNCOMMITTED_MARKER`].
pub const COMMITTED_MARKER: &str = "committed";
pub const UNCOMMITTED_MARKER: &str = "uncommitted";

const SCHEMA: &str = "
CREATE TABLE version (version INTEGER);
CREATE TABLE vars (name VARCHAR(32) PRIMARY KEY, val VARCHAR(255), intval INTEGER, blobval BLOB);
CREATE TABLE peers (id INTEGER PRIMARY KEY, node_id BLOB UNIQUE, address TEXT, feature_bits BLOB);
CREATE TABLE channels (id INTEGER PRIMARY KEY, peer_id BIGINT REFERENCES peers(id) ON DELETE CASCADE,
  short_channel_id TEXT, state INTEGER, funder INTEGER, channel_flags INTEGER, minimum_depth INTEGER,
  next_index_local BIGINT, next_index_remote BIGINT, next_htlc_id BIGINT, funding_tx_id BLOB,
  funding_tx_outnum INTEGER, funding_satoshi BIGINT, msatoshi_local BIGINT, fundingkey_remote BLOB,
  revocation_basepoint_remote BLOB, payment_basepoint_remote BLOB, htlc_basepoint_remote BLOB,
  delayed_payment_basepoint_remote BLOB, per_commit_remote BLOB, old_per_commit_remote BLOB,
  local_feerate_per_kw INTEGER, remote_feerate_per_kw INTEGER, shachain_remote_id BIGINT,
  last_tx BLOB, last_sig BLOB, first_blocknum BIGINT);
CREATE TABLE channel_htlcs (id INTEGER PRIMARY KEY, channel_id BIGINT REFERENCES channels(id),
  channel_htlc_id BIGINT, direction INTEGER, origin_htlc BIGINT, msatoshi BIGINT, cltv_expiry INTEGER,
  payment_hash BLOB, payment_key BLOB, routing_onion BLOB, failuremsg BLOB, malformed_onion INTEGER,
  hstate INTEGER, shared_secret BLOB, received_time BIGINT);
CREATE INDEX channel_htlcs_speedup_unresolved_idx ON channel_htlcs(channel_id, direction);
CREATE TABLE shachains (id INTEGER PRIMARY KEY, min_index BIGINT, num_valid BIGINT);
CREATE TABLE shachain_known (shachain_id BIGINT REFERENCES shachains(id), pos INTEGER, idx BIGINT, hash BLOB,
  PRIMARY KEY (shachain_id, pos));
CREATE TABLE invoices (id INTEGER PRIMARY KEY, state INTEGER, msatoshi BIGINT, payment_hash BLOB UNIQUE,
  payment_key BLOB, label TEXT UNIQUE, expiry_time BIGINT, pay_index BIGINT, bolt11 TEXT, description TEXT);
CREATE TABLE payments (id INTEGER PRIMARY KEY, timestamp INTEGER, status INTEGER, payment_hash BLOB,
  destination BLOB, msatoshi BIGINT, payment_preimage BLOB, path_secrets BLOB, route_nodes BLOB, bolt11 TEXT);
CREATE TABLE blocks (height INT PRIMARY KEY, hash BLOB, prev_hash BLOB);
CREATE TABLE transactions (id BLOB PRIMARY KEY, blockheight INTEGER REFERENCES blocks(height), txindex INTEGER,
  rawtx BLOB);
CREATE TABLE outputs (prev_out_tx BLOB, prev_out_index INTEGER, value BIGINT, type INTEGER, status INTEGER,
  keyindex INTEGER, PRIMARY KEY (prev_out_tx, prev_out_index));
";

/// A fast deterministic byte stream (xorshift64*) for bulk content; secrets use the kernel RNG.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// Creates `dir` (which must not exist) and fills it as a node's data directory.
pub fn generate_node_dir(dir: &Path, spec: &NodeSpec) -> Result<()> {
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::set_permissions(dir, Permissions::from_mode(0o700))?;
    let mut rng = Prng(0x9e37_79b9_7f4a_7c15);
    write_db(&dir.join("lightningd.sqlite3"), spec, &mut rng)?;
    let mut secret = [0u8; 32];
    fs::File::open("/dev/urandom")?.read_exact(&mut secret)?;
    write_new(&dir.join("hsm_secret"), &secret, 0o400)?;
    write_new(&dir.join("emergency.recover"), &rng.bytes(1234), 0o600)?;
    write_new(
        &dir.join("config"),
        b"network=bitcoin\nlog-level=info\nalias=lnraid-test-node\n",
        0o644,
    )?;
    write_big(&dir.join("gossip_store"), spec.gossip_bytes, &mut rng)?;
    fs::create_dir(dir.join("plugins"))?;
    write_new(
        &dir.join("plugins/summary.py"),
        b"#!/usr/bin/env python3\nprint('summary')\n",
        0o755,
    )?;
    std::os::unix::fs::symlink("summary.py", dir.join("plugins/summary"))?;
    std::os::unix::fs::symlink("/usr/local/libexec/clboss", dir.join("plugins/clboss"))?;
    // A socket file like lightningd's RPC socket: binding creates it; it stays after close.
    drop(
        std::os::unix::net::UnixListener::bind(dir.join("lightning-rpc"))
            .context("creating lightning-rpc socket")?,
    );
    Ok(())
}

fn write_new(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    // Created with its final mode: hsm_secret is never readable by others, not even briefly.
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(content)?;
    f.set_permissions(Permissions::from_mode(mode))?;
    Ok(())
}

fn write_big(path: &Path, size: u64, rng: &mut Prng) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(&[0x0c])?; // gossip_store version byte
    let mut left = size.saturating_sub(1);
    while left > 0 {
        let n = left.min(1 << 20) as usize;
        f.write_all(&rng.bytes(n))?;
        left -= n as u64;
    }
    Ok(())
}

fn write_db(path: &Path, spec: &NodeSpec, rng: &mut Prng) -> Result<()> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "DELETE")?; // CLN's default: rollback journal
    conn.execute_batch(SCHEMA)?;
    let tx = conn.transaction()?;
    tx.execute("INSERT INTO version VALUES (250)", [])?;
    tx.execute(
        "INSERT INTO vars (name, val) VALUES ('lnraid_marker', ?1)",
        [COMMITTED_MARKER],
    )?;
    for p in 0..64i64 {
        tx.execute(
            "INSERT INTO peers VALUES (?1, ?2, ?3, ?4)",
            params![p, rng.bytes(33), format!("10.0.0.{p}:9735"), rng.bytes(8)],
        )?;
        tx.execute(
            "INSERT INTO channels (id, peer_id, short_channel_id, state, funding_tx_id, funding_satoshi, msatoshi_local,
             fundingkey_remote, last_tx, last_sig, shachain_remote_id) VALUES (?1, ?1, ?2, 2, ?3, 1000000, 500000000, ?4, ?5, ?6, ?1)",
            params![p, format!("800000x{p}x0"), rng.bytes(32), rng.bytes(33), rng.bytes(300), rng.bytes(64)],
        )?;
        tx.execute("INSERT INTO shachains VALUES (?1, 0, 0)", [p])?;
    }
    {
        let mut htlc = tx.prepare(
            "INSERT INTO channel_htlcs (channel_id, channel_htlc_id, direction, msatoshi, cltv_expiry, payment_hash,
             payment_key, routing_onion, hstate, shared_secret, received_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 9, ?9, ?10)",
        )?;
        let mut sha =
            tx.prepare("INSERT OR REPLACE INTO shachain_known VALUES (?1, ?2, ?3, ?4)")?;
        let mut txs = tx.prepare("INSERT INTO transactions VALUES (?1, ?2, ?3, ?4)")?;
        let mut block = tx.prepare("INSERT INTO blocks VALUES (?1, ?2, ?3)")?;
        // ~1.6 KB per HTLC row (the 1366-byte onion dominates, as on real nodes).
        let rows = (spec.db_bytes / 1800).max(64);
        for i in 0..rows as i64 {
            let ch = i % 64;
            htlc.execute(params![
                ch,
                i,
                i % 2,
                1000 + i,
                800_000 + i % 2016,
                rng.bytes(32),
                rng.bytes(32),
                rng.bytes(1366),
                rng.bytes(32),
                1_700_000_000 + i
            ])?;
            if i % 8 == 0 {
                sha.execute(params![ch, i % 49, i, rng.bytes(32)])?;
            }
            if i % 16 == 0 {
                let h = 800_000 + i / 16;
                block.execute(params![h, rng.bytes(32), rng.bytes(32)])?;
                txs.execute(params![
                    rng.bytes(32),
                    h,
                    1,
                    rng.bytes(250 + (i % 300) as usize)
                ])?;
            }
        }
    }
    tx.commit()?;
    if spec.hot_journal {
        leave_hot_journal(path, rng)?;
    }
    Ok(())
}

/// Leaves a hot rollback journal next to `path`, as a crash mid-transaction does: a second
/// connection changes rows with a tiny page cache (so changed pages spill into the database
/// file before commit), then the database and journal files are snapshotted to the node dir
/// while the transaction is still open. Opening the snapshot rolls the journal back.
fn leave_hot_journal(path: &Path, rng: &mut Prng) -> Result<()> {
    let staging = path.with_extension("staging");
    fs::rename(path, &staging)?;
    let mut conn = Connection::open(&staging)?;
    conn.pragma_update(None, "cache_size", 1)?;
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE vars SET val = ?1 WHERE name = 'lnraid_marker'",
        [UNCOMMITTED_MARKER],
    )?;
    tx.execute(
        "UPDATE channel_htlcs SET routing_onion = ?1 WHERE id % 3 = 0",
        [rng.bytes(1366)],
    )?;
    let journal = staging.with_extension("staging-journal");
    if !journal.exists() {
        bail!("SQLite did not create a journal for the open transaction");
    }
    fs::copy(&staging, path)?;
    fs::copy(&journal, path.with_file_name("lightningd.sqlite3-journal"))?;
    tx.rollback()?;
    drop(conn);
    fs::remove_file(&staging)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_node_dir() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("bitcoin");
        generate_node_dir(
            &d,
            &NodeSpec {
                db_bytes: 2 << 20,
                gossip_bytes: 1 << 20,
                hot_journal: true,
            },
        )
        .unwrap();
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        assert_eq!(
            fs::metadata(d.join("hsm_secret")).unwrap().mode() & 0o777,
            0o400
        );
        assert_eq!(fs::metadata(d.join("hsm_secret")).unwrap().len(), 32);
        assert!(fs::symlink_metadata(d.join("lightning-rpc"))
            .unwrap()
            .file_type()
            .is_socket());
        assert!(fs::symlink_metadata(d.join("plugins/summary"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::metadata(d.join("lightningd.sqlite3")).unwrap().len() > 1 << 20);
        assert_eq!(fs::metadata(d.join("gossip_store")).unwrap().len(), 1 << 20);
        let journal = d.join("lightningd.sqlite3-journal");
        assert!(journal.exists(), "hot journal");
        // Opening the database rolls the hot journal back: the committed marker is visible.
        let conn = Connection::open(d.join("lightningd.sqlite3")).unwrap();
        let v: String = conn
            .query_row("SELECT val FROM vars WHERE name='lnraid_marker'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(v, COMMITTED_MARKER);
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        drop(conn);
        assert!(!journal.exists(), "rolled back on open");
    }
}
