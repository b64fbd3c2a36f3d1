//! Where each check comes from: a section of Core Lightning's backup guide
//! (doc/getting-started/advanced-setup/advanced-db-backup.md, "Advanced DB Backup") or an
//! upstream issue or file. Every [`super::Finding`] carries one of these, so an operator can
//! read why doctor asks for something.

pub const GUIDE_INTRO: &str =
    "Core Lightning backup guide (advanced-db-backup.md), introduction: \"To recover in-channel funds, you need to use one or more of the backup strategies below\"";
pub const GUIDE_WALLET: &str =
    "Core Lightning backup guide, section \"SQLITE3 `--wallet=${main}:${backup}` And Remote NFS Mount\"";
pub const GUIDE_BACKUP_PLUGIN: &str =
    "Core Lightning backup guide, section \"`backup` Plugin And Remote NFS Mount\"; lightningd/plugins backup/README.md";
pub const GUIDE_FS_REDUNDANCY: &str =
    "Core Lightning backup guide, section \"Filesystem Redundancy\" / \"Example: BTRFS on Linux\"";
pub const GUIDE_POSTGRES: &str =
    "Core Lightning backup guide, section \"PostgreSQL Cluster\" (\"you should use synchronous replication, since lightningd assumes that once a transaction is committed, it is saved in all permanent storage\")";
pub const GUIDE_LITESTREAM: &str =
    "Core Lightning backup guide, section \"SQLite Litestream Replication\" (no longer recommended); ElementsProject/lightning#4857";
pub const GUIDE_FILE_BACKUPS: &str =
    "Core Lightning backup guide, section \"Database File Backups\" (\"Recover by this method ONLY as a last resort\")";
pub const GUIDE_HSM: &str =
    "lightningd/plugins backup/README.md \"IMPORTANT note about hsm_secret\" (chmod 0400); lightning doc lightning-hsmtool(8)";
pub const HSM_MATCH: &str =
    "lightning-hsmtool(8) getnodeid; a database restored beside a different hsm_secret cannot spend its channels (2026 Umbrel loss report)";
pub const EMERGENCY_RECOVER: &str =
    "lightning doc lightningd-config(5) / recover(7): emergency.recover holds the static channel backup (lightningd >= 0.12)";
pub const LIGHTNING_5380: &str =
    "ElementsProject/lightning#5380: opening the --wallet replica with sqlite3 while lightningd ran crashed it";
pub const LNRAID_STATUS: &str = "lnraid status (README \"lnraid status\")";
pub const LNRAID_NOCOW: &str =
    "btrfs(5) nodatacow: `chattr +C` disables checksums, so RAID-1 cannot tell the good copy (lnraid DESIGN §4)";
pub const LNRAID_SCHEDULE: &str =
    "Core Lightning backup guide, \"Example: BTRFS on Linux\" (crontab balance and scrub); lnraid schedule";
pub const LIGHTNINGD_CONFIG: &str =
    "lightningd-config(5): config files `<lightning-dir>/config`, `<lightning-dir>/<network>/config`, `include`";
