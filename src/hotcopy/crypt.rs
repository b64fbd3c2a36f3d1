//! Optional age encryption of file backups, for a DEST the operator does not control
//! (`backup --encrypt-to`, `--recipients-file`; `restore --identity`). The cipher is the
//! `age` crate's (x25519 recipients, STREAM payload): nothing home-made here.
//!
//! Invariants: no plaintext of a node file is ever written to DEST (each file is encrypted
//! while it is read from the point-in-time source); the MANIFEST holds the BLAKE3 of the
//! plaintext and of each `.age` file (read back before the backup is published); an identity
//! file readable by group or others is refused; decrypted files are created with their final
//! mode from the first byte (hsm_secret 0400) and checked against the plaintext hashes.
//! Symbolic links are recorded in the MANIFEST (path and target) and recreated on restore.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};

use super::dest::{renames, sync_dir, write_file, BackupManifest, FileHash, Layout, MANIFEST_NAME};
use super::source::Source;
use crate::copy::EntryKind;

pub type Recipient = age::x25519::Recipient;

/// `--encrypt-to` values plus the non-comment lines of `--recipients-file`.
pub fn parse_recipients(given: &[String], file: Option<&Path>) -> Result<Vec<Recipient>> {
    let mut lines: Vec<String> = given.to_vec();
    if let Some(f) = file {
        let text = fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    lines
        .iter()
        .map(|l| {
            Recipient::from_str(l)
                .map_err(|e| anyhow::anyhow!("{l:?} is not an age x25519 recipient (age1...): {e}"))
        })
        .collect()
}

/// The identities of an age identity file that only its owner can read.
pub fn load_identities(path: &Path) -> Result<Vec<Box<dyn age::Identity>>> {
    let meta = fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        bail!(
            "{} has mode {mode:04o}: an identity file must be readable by its owner only \
             (chmod 600 {})",
            path.display(),
            path.display()
        );
    }
    let f = age::IdentityFile::from_file(path.display().to_string())
        .with_context(|| format!("reading the age identity file {}", path.display()))?;
    f.into_identities()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Reads `r` to its end into `w`, returning the BLAKE3 of what was read.
fn copy_hashing(mut r: impl Read, w: &mut impl Write) -> io::Result<String> {
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().to_hex().to_string());
        }
        h.update(&buf[..n]);
        w.write_all(&buf[..n])?;
    }
}

fn hash_file(p: &Path) -> Result<String> {
    let f = File::open(p).with_context(|| format!("reading back {}", p.display()))?;
    Ok(copy_hashing(f, &mut io::sink())?)
}

fn backup_name(rel: &str) -> String {
    renames()
        .into_iter()
        .find(|(_, node)| node == rel)
        .map(|(b, _)| b)
        .unwrap_or_else(|| rel.to_string())
}

fn encrypt_file(src: &Path, dst: &Path, mode: u32, to: &[Recipient]) -> Result<String> {
    let out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(dst)
        .with_context(|| format!("creating {}", dst.display()))?;
    let enc = age::Encryptor::with_recipients(to.iter().map(|r| r as &dyn age::Recipient))
        .context("age: no recipient")?;
    let mut w = enc.wrap_output(out)?;
    let input = File::open(src).with_context(|| format!("reading {}", src.display()))?;
    let hash = copy_hashing(input, &mut w)?;
    w.finish()?.sync_all()?;
    Ok(hash)
}

/// An encrypted file backup of `src` into `dest/<name>`: every file as `<backup name>.age`.
pub fn encrypted_backup(src: &Source, dest: &Path, to: &[Recipient]) -> Result<BackupManifest> {
    let partial = dest.join(format!(".lnraid-partial-{}", src.name));
    let fin = dest.join(&src.name);
    if fs::symlink_metadata(&fin).is_ok() {
        bail!("{} already exists", fin.display());
    }
    let manifest = super::tree::manifest_of(&src.path)?;
    let mut doc = BackupManifest::new(src, Layout::Files, &manifest);
    doc.files.clear();
    doc.encrypted = true;
    let mut written = 0;
    for e in &manifest.entries {
        let rel = e.rel.display().to_string();
        let at = partial.join(&e.rel);
        match e.kind {
            EntryKind::Dir => {
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&at)
                    .with_context(|| format!("creating {}", at.display()))?;
                doc.dirs.push((rel, format!("{:04o}", e.mode)));
            }
            EntryKind::File => {
                let name = backup_name(&rel);
                if name != rel {
                    doc.renamed.push((name.clone(), rel.clone()));
                }
                let dst = partial.join(format!("{name}.age"));
                let plain = encrypt_file(&src.path.join(&e.rel), &dst, 0o600, to)?;
                if Some(&plain) != e.hash.as_ref() {
                    bail!("{} changed while it was encrypted", rel);
                }
                let cipher = hash_file(&dst)?;
                written += fs::metadata(&dst)?.len();
                doc.files.push(FileHash {
                    path: name,
                    size: e.size,
                    mode: format!("{:04o}", e.mode),
                    blake3: plain,
                    ciphertext_blake3: Some(cipher),
                });
            }
            EntryKind::Symlink => {
                let t = fs::read_link(src.path.join(&e.rel))?;
                doc.links.push((rel, t.display().to_string()));
            }
        }
    }
    doc.transferred = written;
    write_file(
        &partial.join(MANIFEST_NAME),
        &(serde_json::to_string_pretty(&doc)? + "\n"),
        0o600,
    )?;
    write_file(&partial.join("README"), &super::dest::readme(), 0o644)?;
    sync_dir(&partial)?;
    fs::rename(&partial, &fin).with_context(|| format!("publishing {}", fin.display()))?;
    File::open(dest)?.sync_all()?;
    Ok(doc)
}

/// Decrypts the encrypted backup `backup` (MANIFEST `m`) into the new directory `out`
/// (0700, on the node's filesystem), each file with its recorded mode from the first byte,
/// checked against its plaintext hash. Names stay the backup's (restore undoes the renames).
pub fn decrypt_backup(
    backup: &Path,
    m: &BackupManifest,
    out: &Path,
    ids: &[Box<dyn age::Identity>],
) -> Result<()> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(out)
        .with_context(|| format!("creating {}", out.display()))?;
    for (d, _) in m.dirs.iter().filter(|(d, _)| !d.is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(out.join(d))?;
    }
    for f in &m.files {
        let src = backup.join(format!("{}.age", f.path));
        if hash_file(&src)? != f.ciphertext_blake3.clone().unwrap_or_default() {
            bail!("{} does not match its MANIFEST hash", src.display());
        }
        let dst: PathBuf = out.join(&f.path);
        if let Some(p) = dst.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(p)?;
        }
        let mode = u32::from_str_radix(&f.mode, 8).unwrap_or(0o600) & 0o7777;
        let mut w = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o700)
            .open(&dst)
            .with_context(|| format!("creating {}", dst.display()))?;
        let dec = age::Decryptor::new(File::open(&src)?)
            .with_context(|| format!("{} is not an age file", src.display()))?;
        let r = dec
            .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .with_context(|| format!("decrypting {} (wrong identity?)", src.display()))?;
        let got = copy_hashing(r, &mut w)?;
        w.sync_all()?;
        fs::set_permissions(&dst, fs::Permissions::from_mode(mode))?;
        if got != f.blake3 {
            bail!(
                "{} decrypted to content that does not match its MANIFEST",
                f.path
            );
        }
    }
    for (p, target) in &m.links {
        std::os::unix::fs::symlink(target, out.join(p))
            .with_context(|| format!("recreating the link {p}"))?;
    }
    for (d, mode) in m.dirs.iter().rev() {
        let mode = u32::from_str_radix(mode, 8).unwrap_or(0o700) & 0o7777;
        fs::set_permissions(out.join(d), fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}
