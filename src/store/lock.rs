//! One process owns a data directory: an exclusive lock on `DIR/LOCK`, whose
//! contents name the holder so a second process can say who it is.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// Who holds a data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    pub host: String,
    pub command: String,
    pub since: DateTime<Utc>,
}

/// Held for as long as the store is open; the OS releases the lock if the process dies.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".into())
}

/// Whether the lock file names this process as its holder.
fn holder_is_this_process(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Owner>(&t).ok())
        .is_some_and(|o| o.pid == std::process::id())
}

/// Takes the lock or says who has it.
pub fn acquire(dir: &Path, command: &str, now: DateTime<Utc>) -> Result<DirLock, StoreError> {
    let path = dir.join("LOCK");
    let io = |source| StoreError::Io {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    let mut locked = fs4::fs_std::FileExt::try_lock_exclusive(&file).map_err(io)?;
    // A lock this very process held a moment ago can still be held by a child it is
    // spawning: between fork and exec the child shares the locked file. Give that a moment.
    let mut waits = 0;
    while !locked && waits < 40 && holder_is_this_process(&path) {
        std::thread::sleep(std::time::Duration::from_millis(25));
        locked = fs4::fs_std::FileExt::try_lock_exclusive(&file).map_err(io)?;
        waits += 1;
    }
    if !locked {
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        let holder = serde_json::from_str::<Owner>(&text).ok();
        return Err(StoreError::InUse {
            dir: dir.to_path_buf(),
            holder,
        });
    }
    let owner = Owner {
        pid: std::process::id(),
        host: host_name(),
        command: command.to_string(),
        since: now,
    };
    let text = serde_json::to_string(&owner).unwrap_or_default();
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(DirLock { _file: file, path })
}
