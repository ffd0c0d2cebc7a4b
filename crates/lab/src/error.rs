//! What can go wrong in the lab, each with what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("`pktpath {what}` needs root (it creates network namespaces); running as uid {euid}: run it with sudo")]
    NotRoot { what: String, euid: u32 },
    #[error("missing tools: {tools}; install them (Debian packages: {packages})")]
    MissingTools { tools: String, packages: String },
    #[error("`{cmd}` failed ({status}){}", if .stderr.is_empty() { String::new() } else { format!(": {}", .stderr) })]
    Command {
        cmd: String,
        status: String,
        stderr: String,
    },
    #[error("a lab with prefix `{prefix}` is already up (state in {}): run `pktpath lab down WORLD --prefix {prefix}` first, or `pktpath lab up --force-clean` to remove it", .dir.display())]
    AlreadyUp { prefix: String, dir: PathBuf },
    #[error("network namespace `{0}` already exists and this lab did not create it: use another --prefix, or --force-clean to delete it")]
    NamespaceExists(String),
    #[error("no lab with prefix `{prefix}` is up (no state in {}): run `pktpath lab up WORLD --prefix {prefix}` first", .dir.display())]
    NotUp { prefix: String, dir: PathBuf },
    #[error("interrupted; everything the lab created was removed")]
    Interrupted,
    #[error("{0}")]
    World(String),
    #[error("the lab cannot build this world: {0}")]
    Unsupported(String),
    #[error("bad prefix `{0}`: expected at most 32 characters out of A-Z a-z 0-9 . _ -")]
    BadPrefix(String),
    #[error("{}: {err}", .path.display())]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{0}")]
    Other(String),
}

impl LabError {
    pub fn io(path: impl Into<PathBuf>, err: std::io::Error) -> LabError {
        LabError::Io {
            path: path.into(),
            err,
        }
    }
}

pub type Result<T, E = LabError> = std::result::Result<T, E>;
