//! A world snapshot as the lab needs it: the loaded [`World`] plus the snapshot's own
//! files (the lab restores `iptables-save.txt` as written, and takes route protocols,
//! scopes and bridge options from the raw `ip -j` output, which the model leaves out).

use crate::error::{LabError, Result};
use pktpath_world::{load_world_from, DirSource, SnapshotSource, World};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct Snapshot {
    pub world: World,
    src: Box<dyn SnapshotSource>,
    /// Each namespace's folder, relative to the world root (`[[namespace]] dir`).
    dirs: BTreeMap<String, PathBuf>,
}

impl Snapshot {
    /// Load the world snapshot in folder `dir`.
    pub fn load(dir: &Path) -> Result<Snapshot> {
        Snapshot::from_source(Box::new(DirSource(dir.to_path_buf())), dir.to_path_buf())
    }

    /// Load from any source (e.g. a world built into the binary); `root` as in
    /// [`load_world_from`].
    pub fn from_source(src: Box<dyn SnapshotSource>, root: PathBuf) -> Result<Snapshot> {
        let world =
            load_world_from(src.as_ref(), root).map_err(|e| LabError::World(e.to_string()))?;
        let manifest = src.read(Path::new("world.toml")).unwrap_or_default();
        let dirs = namespace_dirs(&manifest, &world);
        Ok(Snapshot { world, src, dirs })
    }

    /// A namespace's file (`iptables-save.txt`, `ip-route.json`...) and its label for
    /// messages; `None` when the snapshot does not have it.
    pub fn ns_file(&self, ns: &str, file: &str) -> Option<(String, String)> {
        let rel = self.dirs.get(ns)?.join(file);
        let text = self.src.read(&rel)?;
        Some((self.src.label(&rel), text))
    }

    /// A file of the world, relative to its root.
    pub fn file(&self, rel: &Path) -> Option<String> {
        self.src.read(rel)
    }
}

/// `[[namespace]] name/dir` from world.toml (already validated by the world loader);
/// a namespace without `dir` lives in `ns/<name>`.
fn namespace_dirs(manifest: &str, world: &World) -> BTreeMap<String, PathBuf> {
    let mut dirs: BTreeMap<String, PathBuf> = world
        .namespaces
        .iter()
        .map(|n| (n.name.clone(), PathBuf::from("ns").join(&n.name)))
        .collect();
    if let Ok(v) = manifest.parse::<toml::Table>() {
        if let Some(toml::Value::Array(nss)) = v.get("namespace") {
            for ns in nss {
                if let (Some(name), Some(dir)) = (
                    ns.get("name").and_then(|v| v.as_str()),
                    ns.get("dir").and_then(|v| v.as_str()),
                ) {
                    dirs.insert(name.to_string(), PathBuf::from(dir));
                }
            }
        }
    }
    dirs
}
