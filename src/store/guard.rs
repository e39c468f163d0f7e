//! Opening sled without letting it destroy evidence: sled 0.34 rewrites its files while
//! recovering and panics on some damaged ones, so a failed open could otherwise change
//! or lose what it failed to read.
//!
//! - A clean close leaves `DIR/store.clean` (every file of `store/` and the history
//!   journal with its length and SHA-256, and where the journal ended). When it is
//!   missing or does not match, the
//!   store was not closed cleanly (a crash, or someone changed the files): `store/` is
//!   copied to `DIR/store.pre-open/` before sled sees it, and if the store turns out
//!   damaged the original bytes are put back, so "its files were left as they were" is
//!   true.
//! - sled's open and first reads run under `catch_unwind`; a panic becomes a damaged
//!   store error, never a crash (the panic message is not printed).

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::journal::{Position, sync_dir};

pub(super) const CLEAN_MARKER: &str = "store.clean";
pub(super) const PRE_OPEN: &str = "store.pre-open";

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}
static HOOK: Once = Once::new();

/// Runs `f`, turning a panic into its message (printed by nobody).
pub(super) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.map_err(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        format!("sled failed while reading it (internal error: {text})")
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileSig {
    path: String,
    len: u64,
    sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Marker {
    files: Vec<FileSig>,
    journal: Position,
    /// The journal file itself: a changed byte anywhere in it means a full check.
    journal_file: Option<FileSig>,
}

fn file_sig(path: &Path, name: String) -> std::io::Result<FileSig> {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?;
    let len = std::io::copy(&mut file, &mut hasher)?;
    Ok(FileSig {
        path: name,
        len,
        sha256: hex::encode(hasher.finalize()),
    })
}

fn journal_sig(data_dir: &Path) -> Option<FileSig> {
    file_sig(&super::journal::journal_path(data_dir), "journal".into()).ok()
}

/// Every file under `store/` (sorted), with length and hash.
fn signature(store: &Path) -> std::io::Result<Vec<FileSig>> {
    let mut out = Vec::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path
                .strip_prefix(store)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            out.push(file_sig(&path, name)?);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Where the journal ended at the last clean close, if `store/` and the journal are
/// byte for byte what that close left. Removes the marker either way: from now on the
/// store is open.
pub(super) fn take_clean_close(data_dir: &Path) -> Option<Position> {
    let path = data_dir.join(CLEAN_MARKER);
    let text = std::fs::read(&path).ok()?;
    let _ = std::fs::remove_file(&path);
    sync_dir(data_dir);
    let marker: Marker = serde_json::from_slice(&text).ok()?;
    let store = data_dir.join("store");
    if !store.is_dir() {
        return None;
    }
    (signature(&store).ok()? == marker.files && journal_sig(data_dir) == marker.journal_file)
        .then_some(marker.journal)
}

/// Records a clean close (called once sled's files are closed).
pub(super) fn write_clean_close(data_dir: &Path, journal: Position) {
    let Ok(files) = signature(&data_dir.join("store")) else {
        return;
    };
    let marker = Marker {
        files,
        journal,
        journal_file: journal_sig(data_dir),
    };
    let path = data_dir.join(CLEAN_MARKER);
    let tmp = data_dir.join("store.clean.tmp");
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        use std::io::Write;
        f.write_all(&serde_json::to_vec(&marker).unwrap_or_default())?;
        f.sync_all()
    });
    if written.is_ok() && std::fs::rename(&tmp, &path).is_ok() {
        sync_dir(data_dir);
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(from, to)?;
        std::fs::File::open(to)?.sync_all()?;
    }
    Ok(())
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Copies `store/` to `store.pre-open/` (replacing an older copy).
pub(super) fn keep_copy(data_dir: &Path) -> std::io::Result<PathBuf> {
    let copy = data_dir.join(PRE_OPEN);
    remove_any(&copy)?;
    copy_tree(&data_dir.join("store"), &copy)?;
    sync_dir(data_dir);
    Ok(copy)
}

/// Puts the copied original bytes back in place of whatever sled made of them.
pub(super) fn put_back(data_dir: &Path, copy: &Path) -> std::io::Result<()> {
    let store = data_dir.join("store");
    remove_any(&store)?;
    std::fs::rename(copy, &store)?;
    sync_dir(data_dir);
    Ok(())
}

/// Drops the copy once the store is known to be healthy.
pub(super) fn drop_copy(data_dir: &Path) {
    let _ = remove_any(&data_dir.join(PRE_OPEN));
}

/// What happens to the files when the store closes.
#[derive(Debug, Default)]
pub(super) enum OnClose {
    /// Leave no marker (the next open checks everything).
    #[default]
    Nothing,
    /// Record a clean close at this journal position.
    Clean(Position),
    /// The store was damaged: put the original bytes back from this copy.
    PutBack(PathBuf),
}

/// Dropped after sled's handles (field order in [`super::Store`]), so the marker
/// describes the closed files.
#[derive(Debug)]
pub(super) struct Closer {
    pub data_dir: PathBuf,
    pub on_close: Arc<Mutex<OnClose>>,
}

impl Drop for Closer {
    fn drop(&mut self) {
        let action = std::mem::take(
            &mut *self
                .on_close
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        match action {
            OnClose::Nothing => {}
            OnClose::Clean(pos) => write_clean_close(&self.data_dir, pos),
            OnClose::PutBack(copy) => {
                if let Err(e) = put_back(&self.data_dir, &copy) {
                    tracing::error!(
                        error = %e,
                        copy = %copy.display(),
                        "could not put the damaged store's original bytes back; they are in the copy"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_message() {
        let r: Result<(), String> = catch(|| panic!("tried to serialize Uninitialized"));
        assert!(r.unwrap_err().contains("tried to serialize Uninitialized"));
        assert_eq!(catch(|| 7).unwrap(), 7);
    }

    #[test]
    fn the_marker_notices_any_changed_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        std::fs::create_dir_all(store.join("blobs")).unwrap();
        std::fs::write(store.join("db"), b"abcdef").unwrap();
        let pos = Position {
            seq: 3,
            hash: "h".into(),
        };
        write_clean_close(dir.path(), pos.clone());
        assert_eq!(take_clean_close(dir.path()), Some(pos.clone()));
        assert_eq!(take_clean_close(dir.path()), None, "taken once");
        write_clean_close(dir.path(), pos);
        std::fs::write(store.join("db"), b"abcdeF").unwrap();
        assert_eq!(take_clean_close(dir.path()), None);
    }
}
