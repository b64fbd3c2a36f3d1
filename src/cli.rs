//! The command line, declared with clap derive. Only shapes and documents arguments; checking
//! them against each other and the machine happens in `app` (ripgrep's LowArgs → HiArgs).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// `lnraid --version`'s first line: the release and the git revision it was built from (the
/// tool versions below it are probed by `main` only when asked).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("LNRAID_GIT_REV"),
    ")"
);

/// Keep a Core Lightning node's data directory on redundant storage.
#[derive(Debug, Parser)]
#[command(name = "lnraid", version = VERSION, about, long_about = None, after_help = examples::LNRAID)]
pub struct Cli {
    /// More diagnostics on stderr (-v: every command run and how it ended, -vv: also parser
    /// details).
    /// LNRAID_LOG (e.g. LNRAID_LOG=debug) overrides both.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Global options")]
    pub verbose: u8,
    /// Print only errors and the output asked for (tables, JSON): no notes or progress.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,
    /// Kill a read-only command (a probe such as lsblk, blkid, btrfs ... show) that runs
    /// longer than SECS, and fail naming it. Default: 10 s for lsblk/blkid/findmnt, 30 s for
    /// the rest; 0: no limit. Long mutating commands (scrub, balance, replace, mkfs) are
    /// never timed.
    #[arg(long, global = true, value_name = "SECS", env = "LNRAID_TIMEOUT", value_parser = crate::exec::timeout::parse_secs, help_heading = "Global options")]
    pub timeout: Option<f64>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List block devices, each with a verdict: may lnraid use it, and if not, why.
    #[command(after_help = examples::DEVICES)]
    Devices(DevicesArgs),
    /// Install, remove or show the maintenance schedule (cron or systemd timers).
    #[command(subcommand, after_help = examples::SCHEDULE)]
    Schedule(ScheduleCommand),
    /// Move $LIGHTNINGDIR onto a new btrfs RAID-1: verified copy, symlink, fstab, boot safety.
    #[command(after_help = examples::SETUP, mut_arg("fstab", |a| a.help(
        "The fstab to add the array's entry to (edited in place, atomically, with a .bak)"
    )))]
    Setup(SetupArgs),
    /// Run a maintenance job now (what the schedule runs), with its safety checks and locks.
    #[command(after_help = examples::MAINTAIN, mut_arg("unit_dir", |a| a.hide(true)))]
    Maintain(MaintainArgs),
    /// Compare status with the last run and alert on changes (for a 5-minute timer).
    #[command(after_help = examples::MONITOR, mut_arg("unit_dir", |a| a.hide(true)))]
    Monitor(MonitorArgs),
    /// Replace a failed or failing member and restore full redundancy.
    #[command(after_help = examples::REPLACE, mut_arg("unit_dir", |a| a.hide(true)))]
    Replace(ReplaceArgs),
    /// Health of lnraid's arrays (exit 0 healthy, 1 warning, 2 critical, 3 unknown).
    // --unit-dir is accepted everywhere (one set of host flags for scripts) but shown only
    // where the command writes units.
    #[command(
        after_help = examples::STATUS,
        mut_arg("unit_dir", |a| a.hide(true)),
        mut_arg("state_dir", |a| a.help(
            "Where to read lnraid's records (setup's devices, unfinished journals, the last scrub)"
        ))
    )]
    Status(StatusArgs),
    /// A member died: copy the node's files off the survivor (mounted read-only) to new media.
    #[command(after_help = examples::RECOVER)]
    Recover(RecoverArgs),
    /// Rehearse a disk failure and the recovery on throwaway loop devices (no real disk).
    ///
    /// In a private temp dir, on this machine's kernel and tools: setup of a generated node
    /// directory, a member dies, status says critical, recover copies the node out (verified),
    /// replace restores redundancy, a scrub is clean and the data reads back as written. Each
    /// step's result and duration, then a verdict. Everything is removed on exit, Ctrl-C too.
    /// Exit 0 passed, 1 a step failed, 3 cannot run here (the reason is printed).
    #[command(after_help = examples::DRILL)]
    Drill(DrillArgs),
    /// Read-only snapshots of the live node under a lock of milliseconds: create, list, prune.
    #[command(subcommand, after_help = examples::SNAPSHOT)]
    Snapshot(crate::cli_hotcopy::SnapshotCommand),
    /// A consistent, verified copy of the live node on another filesystem (not startable as is).
    #[command(after_help = examples::BACKUP)]
    Backup(crate::cli_hotcopy::BackupArgs),
    /// The last resort: put a snapshot or backup back as the node's directory (node stopped).
    #[command(after_help = examples::RESTORE)]
    Restore(crate::cli_hotcopy::RestoreArgs),
    /// Commit to an SQLite database at a fixed interval and report commit latencies (for
    /// scripts/bench-hot-copy and the snapshot tests).
    #[command(hide = true, after_help = examples::DEV_WRITER)]
    DevSqliteWriter(crate::cli_hotcopy::WriterArgs),
    /// Audit every backup strategy of the node (read-only; exit 0 ok, 1 warn, 2 high, 3 error).
    #[command(after_help = examples::DOCTOR)]
    Doctor(DoctorArgs),
    /// Generate a realistic Core Lightning data directory (for tests, benchmarks, demos).
    #[command(hide = true, after_help = examples::DEV_GEN)]
    DevGenNodeDir(GenArgs),
    /// Copy a directory with lnraid's copy engine, verify it, print per-phase timings
    /// (for scripts/bench-setup-copy).
    #[command(hide = true, after_help = examples::DEV_COPY)]
    DevCopyVerify(CopyVerifyArgs),
    /// Write the man pages (section 8) and shell completions generated from these
    /// definitions (for scripts/package).
    #[command(hide = true, after_help = examples::DEV_SHIP)]
    DevShipFiles(ShipFilesArgs),
}

#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// The node's data directory ($LIGHTNINGDIR, e.g. ~/.lightning/bitcoin).
    #[arg(long, value_name = "DIR", required_unless_present_any = ["resume", "abort"])]
    pub lightning_dir: Option<PathBuf>,
    /// A device for the array; give it 2 to 4 times.
    #[arg(long = "device", value_name = "DEV")]
    pub devices: Vec<PathBuf>,
    /// Block-group profile (default: raid1 for 2 devices, raid1c3 for 3, raid1c4 for 4).
    #[arg(long, value_enum)]
    pub profile: Option<crate::plan::setup::Profile>,
    /// Where to mount the array.
    #[arg(long, value_name = "DIR", default_value = "/mnt/lnraid")]
    pub mountpoint: PathBuf,
    /// Give the copied data to this user (the one running lightningd). Default: keep owners.
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,
    /// The filesystem label.
    #[arg(long, default_value = "lnraid")]
    pub label: String,
    /// Use this filesystem UUID instead of a random one (reproducible automation).
    #[arg(long, value_name = "UUID", value_parser = parse_uuid)]
    pub fs_uuid: Option<crate::types::FsUuid>,
    /// The systemd unit of the node, which gets RequiresMountsFor= the mountpoint.
    #[arg(long, value_name = "UNIT", default_value = "lightningd.service")]
    pub unit: String,
    /// Leave `autodefrag` out of the mount options (lnraid already does on 5.16 kernels).
    #[arg(long)]
    pub no_autodefrag: bool,
    /// Erase existing signatures (filesystems, RAID superblocks, partition tables) on the
    /// devices. Never overrides a device in use.
    #[arg(long)]
    pub wipe: bool,
    /// Accept loop devices whose backing files share a disk with each other or with the
    /// node's directory: for rehearsals on throwaway loop devices only (no real redundancy).
    /// A backing file on the array itself is always refused.
    #[arg(long, env = "LNRAID_ALLOW_LOOP_ON_SHARED_DISK", hide_short_help = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_loop_on_shared_disk: bool,
    /// Print the plan (commands, file changes) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Continue an interrupted setup from its journal.
    #[arg(long, conflicts_with = "abort")]
    pub resume: bool,
    /// Undo an interrupted setup: put the directory back exactly as it was, release the devices.
    #[arg(long)]
    pub abort: bool,
    /// The RAID-1 implementation: btrfs (default: checksums every block and repairs a bad
    /// copy from the good one) or mdadm (md RAID-1 with ext4 on top; no checksums).
    #[arg(long, value_enum, default_value = "btrfs")]
    pub backend: crate::backend::Backend,
    /// mdadm: wait for the initial resync before finishing (otherwise status says
    /// "resyncing — not yet redundant" until it is done).
    #[arg(long)]
    pub wait: bool,
    /// mdadm: the mdadm.conf that gets the new array's ARRAY line.
    #[arg(long, value_name = "FILE", env = "LNRAID_MDADM_CONF", default_value = crate::backend::md::DEFAULT_CONF)]
    pub mdadm_conf: PathBuf,
    /// Also install the maintenance schedule (the files of `lnraid schedule install`, with
    /// its default times) for the new array.
    #[arg(long, value_enum, default_value = "none", value_name = "SCHEDULER")]
    pub schedule: crate::schedule::SetupScheduler,
    #[command(flatten)]
    pub cron: CronDir,
    /// With --schedule: the config whose options (and alert file) the jobs use.
    #[command(flatten)]
    pub config: ConfigPath,
    #[command(flatten)]
    pub host: crate::host::HostPaths,
}

/// `lnraid doctor`: flags override what discovery finds.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print the versioned JSON document (schemas/doctor.schema.json) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The node's data directory ($LIGHTNINGDIR, e.g. ~/.lightning/bitcoin; a base directory
    /// holding the network directory is accepted too). Default: $HOME/.lightning/<network>.
    #[arg(long, value_name = "DIR")]
    pub lightning_dir: Option<PathBuf>,
    /// The network (bitcoin, testnet, signet, regtest); default: from the directory name or
    /// the config, else bitcoin.
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// The node's RPC socket (default: $LIGHTNINGDIR/lightning-rpc).
    #[arg(long, value_name = "PATH")]
    pub rpc_file: Option<PathBuf>,
    /// lightningd's config file, read instead of the default ones (like lightningd --conf).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Litestream's config file.
    #[arg(
        long,
        env = "LITESTREAM_CONFIG",
        default_value = "/etc/litestream.yml",
        value_name = "PATH"
    )]
    pub litestream_config: PathBuf,
    #[command(flatten)]
    pub cron: CronDir,
    #[command(flatten)]
    pub host: crate::host::HostPaths,
}

#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// Where to put the copies: new media, never the array. Created (0700) if missing; must
    /// not already hold any of the files.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// The surviving member to mount (default: found among the present devices by label, or
    /// by --uuid).
    #[arg(long, value_name = "DEV")]
    pub device: Option<PathBuf>,
    /// The node directory at the top of the array (default: the one directory holding
    /// lightningd.sqlite3 or hsm_secret; setup names it after $LIGHTNINGDIR, e.g. bitcoin).
    #[arg(long, value_name = "NAME")]
    pub lightning_dir_name: Option<String>,
    /// Copy the whole node directory, not only the database, its journal, hsm_secret,
    /// emergency.recover and config.
    #[arg(long)]
    pub all: bool,
    /// The array's filesystem UUID (when several arrays are present or the label differs).
    #[arg(long, value_name = "UUID", value_parser = parse_uuid)]
    pub uuid: Option<crate::types::FsUuid>,
    /// The filesystem label that marks an lnraid array (setup's --label).
    #[arg(long, default_value = "lnraid")]
    pub label: String,
    /// Answer the one question recover may ask (md without device-mapper: copy the survivor's
    /// image to the destination media first and replay its journal there) with yes.
    #[arg(long)]
    pub yes: bool,
    /// Show what would be mounted and copied; mount and copy nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where lock files live.
    #[arg(
        long,
        env = "LNRAID_LOCK_DIR",
        default_value = "/run/lock",
        value_name = "DIR"
    )]
    pub lock_dir: PathBuf,
    /// Where lnraid keeps its records: the members and generations `status`, `monitor` and
    /// `replace` last saw, which recover checks to refuse a stale disk.
    #[arg(
        long,
        env = "LNRAID_STATE_DIR",
        default_value = "/var/lib/lnraid",
        value_name = "DIR"
    )]
    pub state_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// The directory to create.
    pub dir: PathBuf,
    /// Approximate database size (e.g. 24M, 1G).
    #[arg(long, default_value = "24M", value_parser = crate::types::size_arg)]
    pub db_size: String,
    /// gossip_store size.
    #[arg(long, default_value = "8M", value_parser = crate::types::size_arg)]
    pub gossip_size: String,
    /// Leave a hot rollback journal (an interrupted transaction) next to the database.
    #[arg(long)]
    pub hot_journal: bool,
}

#[derive(Debug, clap::Args)]
pub struct CopyVerifyArgs {
    /// The directory to copy.
    pub src: PathBuf,
    /// Where to create the copy (must not exist).
    pub dst: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Write the schedule for every lnraid array in the fstab: balance, scrub, and optionally
    /// the monitor. Idempotent; --dry-run shows the diff.
    #[command(after_help = examples::SCHEDULE_INSTALL)]
    Install(Box<ScheduleInstallArgs>),
    /// Remove every file `schedule install` wrote (and disable its timers). Idempotent.
    #[command(after_help = examples::SCHEDULE_REMOVE)]
    Remove(ScheduleTarget),
    /// What is installed, and when each job last ran and how it ended.
    #[command(after_help = examples::SCHEDULE_SHOW)]
    Show(ScheduleShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct ScheduleShowArgs {
    /// Only this scheduler (default: both).
    #[arg(long, value_enum)]
    pub scheduler: Option<crate::schedule::Scheduler>,
    #[command(flatten)]
    pub cron: CronDir,
    #[command(flatten)]
    pub config: ConfigPath,
    #[command(flatten)]
    pub host: crate::host::HostPaths,
}

/// Where cron reads system crontabs.
#[derive(Debug, Clone, clap::Args)]
pub struct CronDir {
    /// The cron.d directory (for the cron scheduler).
    #[arg(
        long,
        env = "LNRAID_CRON_DIR",
        default_value = "/etc/cron.d",
        value_name = "DIR"
    )]
    pub cron_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ScheduleTarget {
    /// Only this scheduler (default: for install, systemd when it runs this machine, else
    /// cron; for remove, both).
    #[arg(long, value_enum)]
    pub scheduler: Option<crate::schedule::Scheduler>,
    /// Show what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub cron: CronDir,
    #[command(flatten)]
    pub config: ConfigPath,
    #[command(flatten)]
    pub host: crate::host::HostPaths,
}

#[derive(Debug, clap::Args)]
pub struct ScheduleInstallArgs {
    /// When to balance, as a cron time (5 fields or @daily...; translated for systemd).
    /// Default: the configured time, else the guide's daily at midnight.
    #[arg(long, value_name = "CRON")]
    pub balance_at: Option<crate::schedule::CronExpr>,
    /// When to scrub, as a cron time. Default: the configured time, else the guide's Sundays
    /// at midnight.
    #[arg(long, value_name = "CRON")]
    pub scrub_at: Option<crate::schedule::CronExpr>,
    /// Also run `lnraid monitor` every 5 minutes (kept by later installs until --no-monitor).
    #[arg(long, conflicts_with = "no_monitor")]
    pub monitor: bool,
    /// Stop running the monitor (and drop its --textfile).
    #[arg(long)]
    pub no_monitor: bool,
    /// The jobs' alert command (monitor and maintain): a shell command run with a JSON event
    /// on stdin. Stored in a root-only 0600 file beside the config file (it may carry tokens),
    /// never in the cron or unit files; kept by later installs until --no-alert-command.
    #[arg(long, value_name = "CMD", conflicts_with = "no_alert_command")]
    pub alert_command: Option<String>,
    /// Remove the alert command.
    #[arg(long)]
    pub no_alert_command: bool,
    /// Passed to `lnraid monitor --textfile` (Prometheus textfile collector).
    #[arg(long, value_name = "PATH", conflicts_with = "no_textfile")]
    pub textfile: Option<PathBuf>,
    /// Stop writing the textfile.
    #[arg(long)]
    pub no_textfile: bool,
    /// Passed to the scrubs as `maintain scrub --limit` (bytes per second per device, e.g.
    /// 50M): the bandwidth cap that replaces the guide's ionice flags.
    #[arg(long, value_name = "BYTES", value_parser = crate::types::size_arg, conflicts_with = "no_scrub_limit")]
    pub scrub_limit: Option<String>,
    /// Remove the scrub limit.
    #[arg(long)]
    pub no_scrub_limit: bool,
    /// Passed to the balances as `maintain balance --recipe` (cln-guide: the guide's exact
    /// filters, metadata included). Default: the configured one, else `default`.
    #[arg(long, value_enum)]
    pub balance_recipe: Option<BalanceRecipe>,
    /// hotcopy: the snapshot and backup jobs.
    #[command(flatten)]
    pub hot: crate::cli_hotcopy::ScheduleHotArgs,
    #[command(flatten)]
    pub target: ScheduleTarget,
}

/// lnraid's configuration file (the schedule's options).
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigPath {
    /// The config file `schedule install` reads and writes; the alert command's 0600 file
    /// lives beside it (`alert-command`).
    #[arg(
        long = "config",
        env = "LNRAID_CONFIG",
        default_value = crate::schedule::config::CONFIG_PATH,
        value_name = "PATH"
    )]
    pub path: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Print a JSON document (shape documented in README.md) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The node's data directory; devices that hold it are refused.
    #[arg(long, value_name = "DIR")]
    pub lightning_dir: Option<PathBuf>,
    /// Refuse devices smaller than this (e.g. 512M, 2G). LNRAID_MIN_SIZE sets it for every
    /// command (setup, replace and their re-checks too).
    #[arg(
        long,
        value_name = "SIZE",
        env = "LNRAID_MIN_SIZE",
        default_value = "1G",
        value_parser = crate::types::size_arg
    )]
    pub min_size: String,
    /// Only show these devices (and check them together: a device named twice is refused).
    #[arg(value_name = "DEVICE")]
    pub devices: Vec<PathBuf>,
}

fn parse_uuid(s: &str) -> Result<crate::types::FsUuid, String> {
    crate::types::FsUuid::parse(s)
        .ok_or_else(|| format!("{s:?} is not a UUID (8-4-4-4-12 hex digits)"))
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Check the btrfs mounted here (default: every array in the fstab marked by lnraid).
    #[arg(value_name = "MOUNTPOINT")]
    pub mountpoint: Option<PathBuf>,
    /// Print the versioned JSON document (see README.md) instead of text.
    #[arg(long)]
    pub json: bool,
    /// The node's data directory, to check that it resolves into the array (default: the one
    /// setup recorded).
    #[arg(long, value_name = "DIR")]
    pub lightning_dir: Option<PathBuf>,
    #[command(flatten)]
    pub host: crate::host::HostPaths,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MaintainJob {
    /// The integrity check: btrfs scrub (reads every copy, repairs bad ones from the good
    /// mirror); md check (compares the mirrors, repairs nothing). `check` is the same job.
    #[value(alias = "check")]
    Scrub,
    /// Compact half-empty chunks so btrfs keeps unallocated space.
    Balance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BalanceRecipe {
    /// Data only, `-dusage=50 -dlimit=2` (btrfs developers advise against routine metadata balance).
    Default,
    /// Core Lightning guide's exact `-dusage=50 -dlimit=2 -musage=50 -mlimit=4`.
    ClnGuide,
}

#[derive(Debug, clap::Args)]
pub struct MaintainArgs {
    #[arg(value_enum)]
    pub job: MaintainJob,
    /// The array's mountpoint (default: every lnraid array in the fstab).
    #[arg(value_name = "MOUNTPOINT")]
    pub mountpoint: Option<PathBuf>,
    /// Scrub bandwidth limit per device, e.g. 50M (per second; needs kernel 5.14+).
    #[arg(long, value_name = "BYTES", value_parser = crate::types::size_arg)]
    pub limit: Option<String>,
    /// Which balance filters to use.
    #[arg(long, value_enum, default_value = "default")]
    pub recipe: BalanceRecipe,
    /// Run this shell command on errors or a skipped run: JSON event on stdin, summary in $LNRAID_SUMMARY.
    #[arg(long, value_name = "CMD", env = "LNRAID_ALERT_COMMAND")]
    pub alert_command: Option<String>,
    /// Read the alert command from this root-only file (what the schedule passes: the command
    /// may carry tokens and must not appear in world-readable cron or unit files).
    #[arg(
        long,
        value_name = "PATH",
        env = "LNRAID_ALERT_COMMAND_FILE",
        conflicts_with = "alert_command"
    )]
    pub alert_command_file: Option<PathBuf>,
    /// Run the safety checks and print the command; take no lock, run nothing, record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// md: check an array younger than 14 days too (checkarray skips those).
    #[arg(long)]
    pub force: bool,
    /// Seconds to wait for another maintenance job's lock before skipping.
    #[arg(long, value_name = "SECS", default_value_t = 7200)]
    pub wait: u64,
    /// Where btrfsmaintenance keeps its per-filesystem lock files.
    #[arg(
        long,
        value_name = "DIR",
        env = "LNRAID_BTRFSMAINTENANCE_LOCK_DIR",
        default_value = "/run"
    )]
    pub btrfsmaintenance_lock_dir: PathBuf,
    #[command(flatten)]
    pub host: crate::host::HostPaths,
}

#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// Only this array (default: every lnraid array in the fstab).
    #[arg(value_name = "MOUNTPOINT")]
    pub mountpoint: Option<PathBuf>,
    /// Run this shell command on a change: JSON event on stdin, summary in $LNRAID_SUMMARY.
    #[arg(long, value_name = "CMD", env = "LNRAID_ALERT_COMMAND")]
    pub alert_command: Option<String>,
    /// Read the alert command from this root-only file (what the schedule passes: the command
    /// may carry tokens and must not appear in world-readable cron or unit files).
    #[arg(
        long,
        value_name = "PATH",
        env = "LNRAID_ALERT_COMMAND_FILE",
        conflicts_with = "alert_command"
    )]
    pub alert_command_file: Option<PathBuf>,
    /// Write Prometheus metrics here (node_exporter textfile collector, e.g.
    /// /var/lib/prometheus/node-exporter/lnraid.prom), atomically.
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,
    #[command(flatten)]
    pub host: crate::host::HostPaths,
}

#[derive(Debug, clap::Args)]
pub struct ReplaceArgs {
    /// The member to replace: its devid (see `lnraid status`), or its device path (a missing
    /// member's path is mapped through the devices setup recorded).
    #[arg(long, value_name = "DEV|DEVID")]
    pub old: String,
    /// The new device (at least as large as the old member).
    #[arg(long, value_name = "DEV")]
    pub new: PathBuf,
    /// The array's mountpoint (default: the one lnraid array in the fstab).
    #[arg(value_name = "MOUNTPOINT")]
    pub mountpoint: Option<PathBuf>,
    /// Erase existing signatures on the new device. Never overrides a device in use.
    #[arg(long)]
    pub wipe: bool,
    /// As for setup: accept a loop device on a disk shared with the node's directory or
    /// another member (rehearsals on throwaway loop devices only). Never a file on the array.
    #[arg(long, env = "LNRAID_ALLOW_LOOP_ON_SHARED_DISK", hide_short_help = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_loop_on_shared_disk: bool,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub host: crate::host::HostPaths,
}

#[derive(Debug, clap::Args)]
pub struct DrillArgs {
    /// The RAID backend to rehearse.
    #[arg(long, value_enum, default_value = "btrfs")]
    pub backend: DrillBackend,
    /// Leave the temp dir (loop devices detached, nothing mounted) for inspection.
    #[arg(long)]
    pub keep: bool,
    /// Size of each throwaway sparse-file device (they use little real space).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = crate::types::size_arg)]
    pub device_size: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DrillBackend {
    /// btrfs RAID-1 (checksums, self-healing scrub).
    Btrfs,
    /// mdadm RAID-1; needs the kernel's md driver, skipped with the reason where it is missing.
    Mdadm,
}

#[derive(Debug, clap::Args)]
pub struct ShipFilesArgs {
    /// Where to write man/ (lnraid.8, lnraid-<command>.8, ...) and completions/.
    pub dir: PathBuf,
}

/// The examples at the end of each command's --help (2 to 4 real invocations each).
pub(crate) mod examples {
    pub const SNAPSHOT: &str = "\
Examples:
  lnraid snapshot create --lightning-dir /mnt/lnraid/bitcoin
  lnraid snapshot list --lightning-dir /mnt/lnraid/bitcoin
  lnraid snapshot prune --lightning-dir /mnt/lnraid/bitcoin --dry-run";
    pub const SNAPSHOT_CREATE: &str = "\
Examples:
  lnraid snapshot create --lightning-dir /mnt/lnraid/bitcoin
  lnraid snapshot create --lightning-dir /mnt/lnraid/bitcoin --json
  lnraid snapshot create --lightning-dir /mnt/lnraid/bitcoin --prune --keep-hourly 24 --record-job";
    pub const SNAPSHOT_LIST: &str = "\
Examples:
  lnraid snapshot list --lightning-dir /mnt/lnraid/bitcoin
  lnraid snapshot list --lightning-dir /mnt/lnraid/bitcoin --json";
    pub const SNAPSHOT_PRUNE: &str = "\
Examples:
  lnraid snapshot prune --lightning-dir /mnt/lnraid/bitcoin --dry-run
  lnraid snapshot prune --lightning-dir /mnt/lnraid/bitcoin --keep-last 5 --keep-daily 30";
    pub const SNAPSHOT_MIGRATE: &str = "\
Examples:
  lnraid snapshot migrate --lightning-dir /mnt/lnraid/bitcoin --dry-run
  lnraid snapshot migrate --lightning-dir /mnt/lnraid/bitcoin";
    pub const BACKUP: &str = "\
Examples:
  lnraid backup --lightning-dir /mnt/lnraid/bitcoin --to /media/usb/lnraid-backups --dry-run
  lnraid backup --lightning-dir /mnt/lnraid/bitcoin --to /media/usb/lnraid-backups";
    pub const RESTORE: &str = "\
Examples:
  lnraid restore --from /mnt/lnraid/.lnraid-snapshots/bitcoin/2026-12-01T17:20:51Z \\
      --lightning-dir /mnt/lnraid/bitcoin --dry-run
  lnraid restore --from /media/usb/lnraid-backups/bitcoin-2026-12-01T17:20:51Z \\
      --lightning-dir /mnt/lnraid/bitcoin";
    pub const DEV_WRITER: &str = "\
Examples:
  lnraid dev-sqlite-writer /tmp/node/lightningd.sqlite3 --seconds 10
  lnraid dev-sqlite-writer /tmp/node/lightningd.sqlite3 --interval-ms 2 --report /tmp/lat.json";
    pub const LNRAID: &str = "\
Examples:
  lnraid devices                      # which disks could hold the node, and why not the others
  lnraid setup --lightning-dir ~/.lightning/bitcoin --device /dev/sdb --device /dev/sdc \\
      --dry-run                       # the plan: literal commands and file edits
  lnraid status                       # exit 0 healthy, 1 warning, 2 critical
  lnraid drill                        # rehearse a disk failure on throwaway loop devices";
    pub const DEVICES: &str = "\
Examples:
  lnraid devices
  lnraid devices /dev/sdb /dev/sdc --lightning-dir ~/.lightning/bitcoin
  lnraid devices --json --min-size 64G";
    pub const SETUP: &str = "\
Examples:
  lnraid setup --lightning-dir /home/cln/.lightning/bitcoin \\
      --device /dev/sdb --device /dev/sdc --dry-run
  lnraid setup --lightning-dir /home/cln/.lightning/bitcoin \\
      --device /dev/sdb --device /dev/sdc --owner cln --schedule systemd
  lnraid setup --resume
  lnraid setup --abort --dry-run";
    pub const MAINTAIN: &str = "\
Examples:
  lnraid maintain scrub
  lnraid maintain scrub /mnt/lnraid --limit 50M
  lnraid maintain balance --dry-run";
    pub const MONITOR: &str = "\
Examples:
  lnraid monitor
  lnraid monitor --alert-command 'mail -s lnraid root' \\
      --textfile /var/lib/prometheus/node-exporter/lnraid.prom";
    pub const REPLACE: &str = "\
Examples:
  lnraid replace --old 2 --new /dev/sdd --dry-run
  lnraid replace --old /dev/sdc --new /dev/sdd
  lnraid replace --old 2 --new /dev/sdd --wipe /mnt/lnraid";
    pub const STATUS: &str = "\
Examples:
  lnraid status
  lnraid status --json /mnt/lnraid
  lnraid -q status || echo \"lnraid: attention needed (exit $?)\"";
    pub const RECOVER: &str = "\
Examples:
  lnraid recover --to /media/usb/rescue --dry-run
  lnraid recover --to /media/usb/rescue --device /dev/sdb
  lnraid recover --to /media/usb/rescue --all";
    pub const DOCTOR: &str = "\
Examples:
  lnraid doctor
  lnraid doctor --lightning-dir /home/cln/.lightning/bitcoin
  lnraid doctor --json | jq '.findings[] | select(.severity != \"ok\")'";
    pub const DRILL: &str = "\
Examples:
  lnraid drill
  lnraid drill --keep               # keep the temp dir and its log for a look afterwards
  lnraid drill --device-size 2G";
    pub const SCHEDULE: &str = "\
Examples:
  lnraid schedule install --dry-run
  lnraid schedule install --scheduler systemd --monitor --scrub-limit 50M
  lnraid schedule show
  lnraid schedule remove";
    pub const SCHEDULE_INSTALL: &str = "\
Examples:
  lnraid schedule install --dry-run
  lnraid schedule install --scheduler cron --scrub-at '0 3 * * 0'
  lnraid schedule install --monitor --alert-command 'mail -s lnraid root' \\
      --textfile /var/lib/prometheus/node-exporter/lnraid.prom
  lnraid schedule install --lightning-dir /mnt/lnraid/bitcoin --snapshot-every 1h \\
      --backup-to /media/usb/lnraid-backups --backup-every 1d";
    pub const SCHEDULE_REMOVE: &str = "\
Examples:
  lnraid schedule remove --dry-run
  lnraid schedule remove --scheduler cron";
    pub const SCHEDULE_SHOW: &str = "\
Examples:
  lnraid schedule show
  lnraid schedule show --scheduler systemd";
    pub const DEV_GEN: &str = "\
Examples:
  lnraid dev-gen-node-dir /tmp/node --db-size 64M
  lnraid dev-gen-node-dir /tmp/node --hot-journal";
    pub const DEV_COPY: &str = "\
Examples:
  lnraid dev-copy-verify /tmp/node /mnt/test/node
  lnraid -v dev-copy-verify /tmp/node /mnt/test/node";
    pub const DEV_SHIP: &str = "\
Examples:
  lnraid dev-ship-files target/ship
  man -l target/ship/man/lnraid-setup.8";
}
