//! Loading a world named on the command line: a snapshot folder or a built-in world.

use include_dir::{include_dir, Dir};
use pktpath_world::{load_world, load_world_from, MemSource, World};
use std::path::{Path, PathBuf};

/// Worlds captured on a real kernel, built into the binary (`examples/worlds`).
static BUILTIN: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../examples/worlds");

pub fn builtin_names() -> Vec<String> {
    BUILTIN
        .dirs()
        .map(|d| d.path().display().to_string())
        .collect()
}

fn add_dir(src: &mut MemSource, d: &Dir, base: &Path) {
    for f in d.files() {
        if let Some(text) = f.contents_utf8() {
            src.insert(f.path().strip_prefix(base).unwrap_or(f.path()), text);
        }
    }
    for sub in d.dirs() {
        add_dir(src, sub, base);
    }
}

pub fn builtin(name: &str) -> Result<World, String> {
    let d = BUILTIN.get_dir(name).ok_or_else(|| {
        format!(
            "no built-in world `{name}` (there are: {})",
            builtin_names().join(", ")
        )
    })?;
    let mut src = MemSource::new(format!("builtin:{name}"));
    add_dir(&mut src, d, d.path());
    load_world_from(&src, PathBuf::from(format!("builtin:{name}"))).map_err(|e| e.to_string())
}

/// Read the kernel trace of a built-in world's probe.
pub fn builtin_file(name: &str, rel: &Path) -> Option<String> {
    BUILTIN
        .get_file(Path::new(name).join(rel))
        .and_then(|f| f.contents_utf8())
        .map(str::to_string)
}

pub fn load(arg: &str) -> Result<World, String> {
    match arg.strip_prefix("builtin:") {
        Some(name) => builtin(name),
        None => load_world(Path::new(arg)).map_err(|e| e.to_string()),
    }
}
