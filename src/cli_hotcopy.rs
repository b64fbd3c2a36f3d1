//! The command line of `lnraid snapshot`, `backup`, `restore` and the hidden SQLite writer
//! used by their benchmark and tests. Declarative only (clap derive), like `cli`.

use std::path::PathBuf;

use clap::Subcommand;

/// The node directory and the lock's bounds, shared by snapshot and backup.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeLock {
    /// The node's data directory ($LIGHTNINGDIR; setup's symlink is followed).
    #[arg(long, value_name = "DIR", env = "LNRAID_LIGHTNING_DIR")]
    pub lightning_dir: PathBuf,
    /// Never hold SQLite's lock longer than this; a snapshot that would is deleted and the
    /// run fails (lightningd waits 60 s for a lock, then exits).
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub lock_cap_ms: u64,
    /// How long to keep retrying while the node is committing.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub lock_wait_ms: u64,
}

/// `--keep-hourly/--keep-daily/--keep-weekly`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeepArgs {
    /// Keep the N newest verified copies whatever their times.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub keep_last: usize,
    /// Keep the newest verified copy of each of the last N hours that have one.
    #[arg(long, value_name = "N", default_value_t = 48)]
    pub keep_hourly: usize,
    /// ... of each of the last N days (UTC).
    #[arg(long, value_name = "N", default_value_t = 14)]
    pub keep_daily: usize,
    /// ... of each of the last N ISO weeks.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub keep_weekly: usize,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a read-only snapshot of the node's subvolume under SQLite's lock (milliseconds),
    /// then verify it on a scratch copy.
    #[command(after_help = crate::cli::examples::SNAPSHOT_CREATE)]
    Create(SnapshotCreateArgs),
    /// The node's snapshots: age, lock time, verification.
    #[command(after_help = crate::cli::examples::SNAPSHOT_LIST)]
    List(SnapshotListArgs),
    /// Delete snapshots the retention policy does not keep (never the newest verified one).
    #[command(after_help = crate::cli::examples::SNAPSHOT_PRUNE)]
    Prune(SnapshotPruneArgs),
    /// Move a node directory that is not a subvolume (arrays set up before) into a new
    /// subvolume: node stopped, verified copy, the old directory kept beside it.
    #[command(after_help = crate::cli::examples::SNAPSHOT_MIGRATE)]
    Migrate(MigrateArgs),
}

#[derive(Debug, clap::Args)]
pub struct SnapshotCreateArgs {
    #[command(flatten)]
    pub node: NodeLock,
    /// Print the snapshot's record as JSON.
    #[arg(long)]
    pub json: bool,
    /// After a verified snapshot, delete those the retention (--keep-*) does not keep.
    #[arg(long)]
    pub prune: bool,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub keep: KeepArgs,
    #[command(flatten)]
    pub record: JobRecordArgs,
}

#[derive(Debug, clap::Args)]
pub struct SnapshotListArgs {
    /// The node's data directory.
    #[arg(long, value_name = "DIR", env = "LNRAID_LIGHTNING_DIR")]
    pub lightning_dir: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SnapshotPruneArgs {
    /// The node's data directory.
    #[arg(long, value_name = "DIR", env = "LNRAID_LIGHTNING_DIR")]
    pub lightning_dir: PathBuf,
    #[command(flatten)]
    pub keep: KeepArgs,
    /// Show what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The node's data directory (lightningd stopped).
    #[arg(long, value_name = "DIR")]
    pub lightning_dir: PathBuf,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub node: NodeLock,
    /// Where to put the backup: a directory on another filesystem (USB disk, NFSv4 mount).
    /// A btrfs DEST receives incremental `btrfs send` streams; any other gets a verified copy.
    #[arg(long, value_name = "DEST")]
    pub to: PathBuf,
    /// Refuse the copy-under-lock fallback (no snapshot, no reflink) above this database
    /// size: that copy holds SQLite's lock for its whole duration.
    #[arg(long, value_name = "SIZE", default_value = "8M", value_parser = crate::types::size_arg)]
    pub max_locked_copy: String,
    /// Encrypt every file to this age x25519 recipient (`age1...`; repeatable), for a DEST
    /// you do not control. Files are stored as `*.age`; no plaintext is written to DEST.
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Vec<String>,
    /// Read age recipients from this file (one per line, `#` comments), like `age -R`.
    #[arg(long, value_name = "FILE")]
    pub recipients_file: Option<PathBuf>,
    #[command(flatten)]
    pub keep: KeepArgs,
    /// Show what would be done; copy nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub record: JobRecordArgs,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A snapshot (`lnraid snapshot list`) or a backup directory in a backup DEST.
    #[arg(long, value_name = "SNAPSHOT|BACKUP")]
    pub from: PathBuf,
    /// The node's data directory to restore into (lightningd stopped); its current content
    /// is moved aside, never deleted.
    #[arg(long, value_name = "DIR")]
    pub lightning_dir: PathBuf,
    /// The age identity file that decrypts an encrypted backup (mode 0600, else refused).
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, clap::Args)]
pub struct WriterArgs {
    /// The database to write to (rollback-journal mode, like lightningd's).
    pub db: PathBuf,
    /// Commit every this many milliseconds.
    #[arg(long, default_value_t = 5)]
    pub interval_ms: u64,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Append each committed counter value to this file (after the commit returned).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

/// `schedule install`'s hot-copy jobs (flattened into `ScheduleInstallArgs`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScheduleHotArgs {
    /// The node's data directory the snapshot and backup jobs copy (absolute).
    #[arg(long, value_name = "DIR")]
    pub lightning_dir: Option<PathBuf>,
    /// Also take a snapshot every DURATION (15m, 30m, 1h, 6h, 1d; then pruned by the
    /// default retention). Kept by later installs until --no-snapshot.
    #[arg(long, value_name = "DURATION", value_parser = every_arg, requires = "lightning_dir", conflicts_with = "no_snapshot")]
    pub snapshot_every: Option<String>,
    /// Stop the snapshot job.
    #[arg(long)]
    pub no_snapshot: bool,
    /// Also back the node up to DEST (absolute; another filesystem), every --backup-every.
    #[arg(
        long,
        value_name = "DEST",
        requires = "lightning_dir",
        conflicts_with = "no_backup"
    )]
    pub backup_to: Option<PathBuf>,
    /// How often the backup job runs (1h, 6h, 1d...).
    #[arg(long, value_name = "DURATION", value_parser = every_arg, default_value = "1d", requires = "backup_to")]
    pub backup_every: String,
    /// Encrypt the scheduled backups to this age recipient (repeatable).
    #[arg(long, value_name = "RECIPIENT", requires = "backup_to")]
    pub backup_encrypt_to: Vec<String>,
    /// Read the scheduled backups' age recipients from this file.
    #[arg(long, value_name = "FILE", requires = "backup_to")]
    pub backup_recipients_file: Option<PathBuf>,
    /// Stop the backup job.
    #[arg(long)]
    pub no_backup: bool,
}

fn every_arg(s: &str) -> Result<String, String> {
    crate::schedule::hotcopy::Every::parse(s).map(|_| s.to_string())
}

/// Where `snapshot create` / `backup` record how a scheduled run ended, for `status` and
/// `monitor` (`<DIR>/jobs/snapshot.json`, `backup.json`).
#[derive(Debug, Clone, clap::Args)]
pub struct JobRecordArgs {
    /// Record this run's outcome in the state dir (the scheduled jobs pass it).
    #[arg(long)]
    pub record_job: bool,
    /// lnraid's state directory.
    #[arg(
        long,
        env = "LNRAID_STATE_DIR",
        default_value = "/var/lib/lnraid",
        value_name = "DIR"
    )]
    pub state_dir: PathBuf,
}
