//! pktpath-world: the world model and the snapshot loader.

pub mod model;

pub use model::*;
