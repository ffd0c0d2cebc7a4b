//! pktpath-world: the world model and the snapshot loader.
//!
//! [`model`] is what a world is; [`load_world`] / [`load_world_from`] read a world snapshot
//! folder (format: `shared/docs/world-snapshot.md`) into it, with file:line:col errors
//! ([`LoadError`]) for anything malformed or inconsistent; [`write_world`] writes a world
//! back as a snapshot folder.

pub mod error;
pub mod model;
pub mod source;

mod interfaces;
mod ip_rules;
mod json;
mod load;
mod manifest;
mod nft;
mod proxy;
mod routes;
mod ss;
mod sysctl;
mod text;
mod write;

pub use error::LoadError;
pub use load::{load_world, load_world_from};
pub use model::*;
pub use source::{DirSource, MemSource, SnapshotSource};
pub use write::{render_world, write_world, WriteError};
