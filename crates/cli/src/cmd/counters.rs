//! `--counters NS`: the rules of one namespace with the counters simulated packets added
//! (see `pktpath_report::counters`).

use crate::{CounterArgs, CountersAs};
use pktpath_engine::topology::NsId;
use pktpath_engine::Sim;
use pktpath_report::counters::{print_counted, CounterFormat, RuleCounters};
use pktpath_rules::Ruleset;
use pktpath_world::World;

/// The namespace `--counters` names (engine id, index in the world), if given.
pub fn namespace(
    world: &World,
    sim: &Sim,
    a: &CounterArgs,
) -> Result<Option<(NsId, usize)>, String> {
    let Some(name) = &a.counters else {
        return Ok(None);
    };
    let idx = world
        .namespaces
        .iter()
        .position(|n| &n.name == name)
        .ok_or_else(|| format!("--counters {name}: no such namespace"))?;
    let ns = sim
        .ns_by_name(name)
        .ok_or_else(|| format!("--counters {name}: no such namespace"))?;
    Ok(Some((ns, idx)))
}

pub fn print(c: &RuleCounters, rules: &Ruleset, a: &CounterArgs) {
    let format = match a.counters_format {
        CountersAs::Save => CounterFormat::Save,
        CountersAs::S => CounterFormat::ListRules,
        CountersAs::L => CounterFormat::Listing,
    };
    println!();
    print!("{}", print_counted(&c.apply(rules), format));
}
