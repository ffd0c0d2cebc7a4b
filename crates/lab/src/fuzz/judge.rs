//! Who runs a world's probes on a kernel and in simulation: [`LabJudge`] (the lab: real
//! namespaces, [`crate::verify`]) or, in tests, anything else that says per probe whether
//! the two agree.

use super::build::mem_source;
use crate::lab::LabOptions;
use crate::snapshot::Snapshot;
use crate::verify::ProbeVerdict;
use pktpath_engine::SimOptions;
use pktpath_world::World;

/// The verdicts of one run of a world's probes (in the world's probe order).
#[derive(Debug, Clone)]
pub struct Run {
    pub verdicts: Vec<ProbeVerdict>,
    /// What the lab noticed while building (the kernel's state differs somewhere...).
    pub warnings: Vec<String>,
}

/// Why a run did not happen.
#[derive(Debug, Clone)]
pub enum JudgeError {
    /// Ctrl-C: stop fuzzing.
    Interrupted,
    /// The world could not be built or probed (a generator or lab problem).
    Failed(String),
}

impl std::fmt::Display for JudgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JudgeError::Interrupted => f.write_str("interrupted"),
            JudgeError::Failed(m) => f.write_str(m),
        }
    }
}

pub trait Judge {
    /// Run every probe of `world` on the kernel and in simulation.
    fn run(&mut self, world: &World) -> Result<Run, JudgeError>;
}

/// The lab: bring the world up in namespaces, probe, bring it down, compare.
pub struct LabJudge {
    pub lab: LabOptions,
    pub sim: SimOptions,
}

impl Judge for LabJudge {
    fn run(&mut self, world: &World) -> Result<Run, JudgeError> {
        let snap = Snapshot::from_source(Box::new(mem_source(world)), world.root.clone())
            .map_err(|e| JudgeError::Failed(e.to_string()))?;
        match crate::verify(&snap, self.lab.clone(), self.sim) {
            Ok(rep) => Ok(Run {
                verdicts: rep.probes,
                warnings: rep.warnings,
            }),
            Err(crate::LabError::Interrupted) => Err(JudgeError::Interrupted),
            Err(_) if crate::sys::interrupted() => Err(JudgeError::Interrupted),
            Err(e) => Err(JudgeError::Failed(e.to_string())),
        }
    }
}
