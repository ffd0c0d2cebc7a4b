//! Shared helpers for the integration tests: where `shared/` is.

#![allow(dead_code)]

use std::path::PathBuf;

/// `<repo root>/../shared` (CI clones the repo next to `shared/`).
pub fn shared_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

/// The text minus `#` comment lines, as iptables-save's output is without its
/// `# Generated`/`# Completed` lines.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if !line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
