//! Where snapshot files come from: a folder on disk ([`DirSource`]) or a map built into the
//! binary ([`MemSource`], e.g. with `include_str!`). Paths are relative to the world root.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// A world snapshot's files, by path relative to the world root.
pub trait SnapshotSource {
    /// The file's contents; `None` when it does not exist (a missing file means the kernel
    /// default, see the format spec).
    fn read(&self, rel: &Path) -> Option<String>;
    /// How to name the file in error messages.
    fn label(&self, rel: &Path) -> String;
}

/// Files in a folder on disk.
#[derive(Debug, Clone)]
pub struct DirSource(pub PathBuf);

impl SnapshotSource for DirSource {
    fn read(&self, rel: &Path) -> Option<String> {
        // Bytes that are not UTF-8 are replaced (U+FFFD) rather than treated as a missing
        // file, so that they surface as a parse error at their position.
        let bytes = std::fs::read(self.0.join(rel)).ok()?;
        Some(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn label(&self, rel: &Path) -> String {
        self.0.join(rel).display().to_string()
    }
}

/// Files held in memory: a map from relative path to contents.
#[derive(Debug, Clone, Default)]
pub struct MemSource {
    name: String,
    files: BTreeMap<PathBuf, String>,
}

impl MemSource {
    /// An empty source; `name` prefixes the file labels in error messages (`name/rel`).
    pub fn new(name: impl Into<String>) -> Self {
        MemSource {
            name: name.into(),
            files: BTreeMap::new(),
        }
    }

    /// Add (or replace) a file.
    pub fn insert(&mut self, rel: impl AsRef<Path>, contents: impl Into<String>) {
        self.files.insert(normalize(rel.as_ref()), contents.into());
    }

    /// Builder form of [`MemSource::insert`].
    pub fn with(mut self, rel: impl AsRef<Path>, contents: impl Into<String>) -> Self {
        self.insert(rel, contents);
        self
    }

    /// Remove a file, returning its contents.
    pub fn remove(&mut self, rel: impl AsRef<Path>) -> Option<String> {
        self.files.remove(&normalize(rel.as_ref()))
    }

    /// The relative paths held.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.keys().map(PathBuf::as_path)
    }
}

impl SnapshotSource for MemSource {
    fn read(&self, rel: &Path) -> Option<String> {
        self.files.get(&normalize(rel)).cloned()
    }

    fn label(&self, rel: &Path) -> String {
        let rel = normalize(rel);
        let parts: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
        if self.name.is_empty() {
            parts.join("/")
        } else {
            format!("{}/{}", self.name, parts.join("/"))
        }
    }
}

/// `a/./b/../c` -> `a/c`, lexically (a `..` that would climb above the root is kept).
fn normalize(p: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_source_normalizes_paths() {
        let m = MemSource::new("builtin").with("ns/dh/ss.txt", "x");
        assert_eq!(m.read(Path::new("./ns/dh/ss.txt")).as_deref(), Some("x"));
        assert_eq!(
            m.read(&Path::new("ns/dh").join("ss.txt")).as_deref(),
            Some("x")
        );
        assert_eq!(m.read(Path::new("ns/x/../dh/ss.txt")).as_deref(), Some("x"));
        assert_eq!(m.read(Path::new("ns/dh/sysctl.txt")), None);
        assert_eq!(m.label(Path::new("ns/./dh/ss.txt")), "builtin/ns/dh/ss.txt");
    }
}
