//! What a lab created, on disk (`/run/pktpath-lab/<prefix>/state.json`), so that
//! `lab down` — in another process, after a crash — removes exactly that: the namespaces
//! it added and the processes it started (PID and start time). The folder also holds the
//! stand-ins' logs. Creating the folder is the lock: a second `lab up` with the same
//! prefix finds it and refuses.

use crate::error::{LabError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where lab state folders live by default.
pub const DEFAULT_STATE_ROOT: &str = "/run/pktpath-lab";

/// The first local port `lab probe` uses when none is given (as `tools/capture/probe.py`).
pub const FIRST_PORT: u16 = 41000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProcRecord {
    pub pid: u32,
    /// `/proc/PID/stat` start time: a recycled PID is never signalled.
    pub starttime: u64,
    /// The namespace it runs in (full name, with the prefix).
    pub ns: String,
    /// What it stands in for.
    pub what: String,
    pub argv: Vec<String>,
    pub log: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub version: u32,
    pub prefix: String,
    /// The world folder (for messages).
    pub world: String,
    /// Namespaces this lab added (full names), in creation order.
    pub namespaces: Vec<String>,
    pub processes: Vec<ProcRecord>,
    /// The world is fully built.
    pub complete: bool,
    /// The next local port `lab probe` takes when none is given.
    pub next_port: u16,
}

impl State {
    pub fn new(prefix: &str, world: &str) -> State {
        State {
            version: 1,
            prefix: prefix.into(),
            world: world.into(),
            namespaces: Vec::new(),
            processes: Vec::new(),
            complete: false,
            next_port: FIRST_PORT,
        }
    }
}

/// A prefix is part of namespace names and of a folder name.
pub fn check_prefix(prefix: &str) -> Result<()> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 32
        && !prefix.starts_with('.')
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(LabError::BadPrefix(prefix.into()))
    }
}

/// A lab's state folder.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

impl StateDir {
    pub fn path(root: &Path, prefix: &str) -> PathBuf {
        root.join(prefix)
    }

    /// Take the folder for a new lab: `Err(AlreadyUp)` when it exists.
    pub fn create(root: &Path, prefix: &str) -> Result<StateDir> {
        std::fs::create_dir_all(root).map_err(|e| LabError::io(root, e))?;
        let dir = StateDir::path(root, prefix);
        match std::fs::create_dir(&dir) {
            Ok(()) => Ok(StateDir { dir }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(LabError::AlreadyUp {
                prefix: prefix.into(),
                dir,
            }),
            Err(e) => Err(LabError::io(&dir, e)),
        }
    }

    /// The folder of a lab that is up: `Err(NotUp)` when there is none.
    pub fn open(root: &Path, prefix: &str) -> Result<StateDir> {
        let dir = StateDir::path(root, prefix);
        if dir.join("state.json").is_file() {
            Ok(StateDir { dir })
        } else {
            Err(LabError::NotUp {
                prefix: prefix.into(),
                dir,
            })
        }
    }

    pub fn load(&self) -> Result<State> {
        let p = self.dir.join("state.json");
        let text = std::fs::read_to_string(&p).map_err(|e| LabError::io(&p, e))?;
        serde_json::from_str(&text).map_err(|e| LabError::Other(format!("{}: {e}", p.display())))
    }

    /// Write atomically (a crash leaves the old or the new state, never half).
    pub fn save(&self, s: &State) -> Result<()> {
        let tmp = self.dir.join("state.json.tmp");
        let text = serde_json::to_string_pretty(s).expect("state serialises");
        std::fs::write(&tmp, text).map_err(|e| LabError::io(&tmp, e))?;
        let p = self.dir.join("state.json");
        std::fs::rename(&tmp, &p).map_err(|e| LabError::io(&p, e))
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(LabError::io(&self.dir, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        for ok in ["pp-", "t1.", "lab_x"] {
            assert!(check_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "..", ".x", "sp ace", &"x".repeat(33)] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn create_is_a_lock_and_state_round_trips() {
        let root = std::env::temp_dir().join(format!("pktpath-lab-state-{}", std::process::id()));
        let d = StateDir::create(&root, "t-").unwrap();
        assert!(matches!(
            StateDir::create(&root, "t-"),
            Err(LabError::AlreadyUp { .. })
        ));
        assert!(matches!(
            StateDir::open(&root, "t-"),
            Err(LabError::NotUp { .. })
        ));
        let mut s = State::new("t-", "/w");
        s.namespaces.push("t-a".into());
        d.save(&s).unwrap();
        let d2 = StateDir::open(&root, "t-").unwrap();
        assert_eq!(d2.load().unwrap(), s);
        d.remove().unwrap();
        std::fs::remove_dir_all(&root).unwrap();
    }
}
