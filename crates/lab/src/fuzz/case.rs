//! One fuzz case: a random world with its probes, reproducible from `(seed, index)`
//! (ChaCha8 seeded with `seed`, stream `index`: a case does not depend on the others).

use super::build::mem_source;
use super::{probes, shapes};
use pktpath_world::{load_world_from, World};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

/// Probes per case (each costs up to ~5 s on the kernel).
pub const MIN_PROBES: usize = 3;
pub const MAX_PROBES: usize = 5;

#[derive(Debug, Clone)]
pub struct Case {
    pub seed: u64,
    pub index: u64,
    /// The world's shape: `docker`, `kube`, `router` or `bridge`.
    pub kind: &'static str,
    /// The world with its probes, as its snapshot loads.
    pub world: World,
}

/// Generate case `index` of `seed`.
pub fn generate(seed: u64, index: u64) -> Result<Case, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let shaped = match rng.gen_range(0..100) {
        0..=34 => shapes::docker(&mut rng),
        35..=54 => shapes::kube(&mut rng),
        55..=79 => shapes::router(&mut rng),
        _ => shapes::bridge(&mut rng),
    }
    .map_err(|e| format!("case {index} of seed {seed}: {e}"))?;
    let n = rng.gen_range(MIN_PROBES..=MAX_PROBES);
    let probes = probes::pick(&shaped, &mut rng, n);
    let mut world = shaped.world;
    world.description = format!(
        "fuzz case {index} of seed {seed}: a random {} world (pktpath lab fuzz)",
        shaped.kind
    );
    world.seed = Some(format!("fuzz:{seed}:{index}"));
    world.probes = probes;
    // What the snapshot loads into (this also checks the probes).
    let world = load_world_from(
        &mem_source(&world),
        PathBuf::from(format!("fuzz-{seed}-{index}")),
    )
    .map_err(|e| format!("case {index} of seed {seed}: the generated world does not load: {e}"))?;
    Ok(Case {
        seed,
        index,
        kind: shaped.kind,
        world,
    })
}
