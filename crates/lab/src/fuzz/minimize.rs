//! Shrinking a disagreement: delete probes, rules and namespaces while the kernel and the
//! simulation still disagree the same way on the probe. Each step is a real-kernel run, so
//! the search is bounded (`budget` runs): the failing probe alone first, then the rules
//! (all at once; those that neither trace of the probe shows; then delta debugging by
//! halves down to single rules), then the namespaces the probe does not start in, trace or go
//! to (all at once, then one by one).
//!
//! "The same way" is the pair (kernel outcome, simulated outcome) with the probe not
//! agreeing: a reduction that makes the disagreement vanish, or turns it into another one,
//! is undone. When the probe alone does not disagree and the whole world, run again, does
//! not either, the disagreement is flaky and the world is kept as it was.

use super::build::mem_source;
use super::judge::{Judge, JudgeError, Run};
use crate::verify::ProbeVerdict;
use pktpath_rules::{Ruleset, TableName, Target};
use pktpath_world::{load_world_from, World};

/// The smallest world found, with the run that showed its disagreement.
#[derive(Debug, Clone)]
pub struct Minimized {
    pub world: World,
    pub run: Run,
    /// The probe that disagrees.
    pub probe: String,
    /// Kernel runs made while minimising.
    pub steps: usize,
    /// The disagreement did not show again on the same world.
    pub flaky: bool,
}

/// What kind of disagreement a verdict shows (`None`: it agrees): the kernel's outcome and
/// the simulated one. A client message the lab could not classify (`other: ...`) is kept
/// without its numbers (curl says `after 0 ms` one time and `after 1 ms` the next).
pub fn signature(v: &ProbeVerdict) -> Option<(String, &'static str)> {
    let kernel = if v.kernel.starts_with("other") {
        v.kernel.chars().filter(|c| !c.is_ascii_digit()).collect()
    } else {
        v.kernel.clone()
    };
    (!v.ok).then_some((kernel, v.simulated))
}

struct Search<'j> {
    judge: &'j mut dyn Judge,
    probe: String,
    sig: (String, &'static str),
    steps: usize,
    budget: usize,
    best: World,
    best_run: Run,
}

impl Search<'_> {
    /// Run `w`; when it still disagrees the same way, it becomes the best.
    fn attempt(&mut self, w: World) -> Result<bool, JudgeError> {
        if self.steps >= self.budget || !valid(&w) {
            return Ok(false);
        }
        self.steps += 1;
        let run = match self.judge.run(&w) {
            Ok(r) => r,
            Err(JudgeError::Interrupted) => return Err(JudgeError::Interrupted),
            // The reduced world cannot be built: not a reduction we can use.
            Err(JudgeError::Failed(_)) => return Ok(false),
        };
        let same = w
            .probes
            .iter()
            .position(|p| p.name == self.probe)
            .and_then(|i| run.verdicts.get(i))
            .and_then(signature)
            .is_some_and(|s| s == self.sig);
        if same {
            self.best = w;
            self.best_run = run;
        }
        Ok(same)
    }

    fn out_of_budget(&self) -> bool {
        self.steps >= self.budget
    }
}

/// The world still loads (a reduction must stay a valid snapshot).
fn valid(w: &World) -> bool {
    load_world_from(&mem_source(w), w.root.clone()).is_ok()
}

/// Minimise the disagreement of probe `idx` of `world`, whose run was `first`.
pub fn minimize(
    judge: &mut dyn Judge,
    world: &World,
    first: &Run,
    idx: usize,
    budget: usize,
) -> Result<Minimized, JudgeError> {
    let probe = world.probes[idx].name.clone();
    let sig = signature(&first.verdicts[idx]).expect("minimize a probe that disagrees");
    let mut s = Search {
        judge,
        probe: probe.clone(),
        sig,
        steps: 0,
        budget,
        best: world.clone(),
        best_run: first.clone(),
    };
    // The probe alone.
    let mut alone = world.clone();
    alone.probes.retain(|p| p.name == probe);
    if world.probes.len() > 1 && !s.attempt(alone)? {
        // Earlier probes matter, or it was chance: run the world as it was once more.
        if !s.attempt(world.clone())? {
            return Ok(Minimized {
                world: world.clone(),
                run: first.clone(),
                probe,
                steps: s.steps,
                flaky: true,
            });
        }
        // Keep the probes up to the failing one.
        let mut upto = s.best.clone();
        let pos = upto
            .probes
            .iter()
            .position(|p| p.name == probe)
            .unwrap_or(0);
        upto.probes.truncate(pos + 1);
        if upto.probes.len() < s.best.probes.len() {
            s.attempt(upto)?;
        }
    }
    shrink_rules(&mut s)?;
    shrink_namespaces(&mut s)?;
    let mut best = s.best.clone();
    for n in &mut best.namespaces {
        drop_unused_chains(&mut n.ruleset);
    }
    let best = if valid(&best) { best } else { s.best.clone() };
    Ok(Minimized {
        world: best,
        run: s.best_run,
        probe,
        steps: s.steps,
        flaky: false,
    })
}

/// (table, chain, index) of every rule of a ruleset.
fn rule_refs(rs: &Ruleset) -> Vec<(TableName, String, usize)> {
    rs.tables
        .iter()
        .flat_map(|t| {
            t.chains
                .iter()
                .flat_map(move |c| (0..c.rules.len()).map(move |i| (t.name, c.name.clone(), i)))
        })
        .collect()
}

/// `rs` without the rules in `drop`.
fn without_rules(rs: &Ruleset, drop: &[(TableName, String, usize)]) -> Ruleset {
    let mut out = rs.clone();
    for t in &mut out.tables {
        for c in &mut t.chains {
            let mut i = 0;
            c.rules.retain(|_| {
                let keep = !drop
                    .iter()
                    .any(|(dt, dc, di)| *dt == t.name && *dc == c.name && *di == i);
                i += 1;
                keep
            });
        }
    }
    out
}

/// The rules of `rs` that neither the kernel's nor the simulation's trace of the probe
/// shows (both say they did not match it).
fn untraced_rules(rs: &Ruleset, v: &ProbeVerdict) -> Vec<(TableName, String, usize)> {
    let traced = |t: TableName, chain: &str, r: &pktpath_rules::Rule| {
        let line = format!("-t {} {}", t.as_str(), pktpath_rules::print_rule(chain, r));
        v.kernel_trace.contains(&line) || v.simulated_trace.contains(&line)
    };
    rule_refs(rs)
        .into_iter()
        .filter(|(t, c, i)| {
            let r = &rs
                .table(*t)
                .and_then(|tb| tb.chain(c))
                .expect("a rule of rs")
                .rules[*i];
            !traced(*t, c, r)
        })
        .collect()
}

fn shrink_rules(s: &mut Search) -> Result<(), JudgeError> {
    let nss: Vec<usize> = (0..s.best.namespaces.len())
        .filter(|&i| !s.best.namespaces[i].ruleset.tables.is_empty())
        .collect();
    for ni in nss {
        let all = rule_refs(&s.best.namespaces[ni].ruleset);
        if all.is_empty() {
            continue;
        }
        // Everything at once.
        let mut w = s.best.clone();
        w.namespaces[ni].ruleset = without_rules(&w.namespaces[ni].ruleset, &all);
        if s.attempt(w)? {
            continue;
        }
        // The rules no trace of the probe shows.
        let verdict = s
            .best
            .probes
            .iter()
            .position(|p| p.name == s.probe)
            .and_then(|i| s.best_run.verdicts.get(i))
            .cloned();
        if let Some(v) = verdict {
            let quiet = untraced_rules(&s.best.namespaces[ni].ruleset, &v);
            if !quiet.is_empty() && quiet.len() < all.len() {
                let mut w = s.best.clone();
                w.namespaces[ni].ruleset = without_rules(&w.namespaces[ni].ruleset, &quiet);
                s.attempt(w)?;
            }
        }
        // Delta debugging: drop chunks, halving their size when none can go.
        let mut parts = 2usize;
        loop {
            if s.out_of_budget() {
                return Ok(());
            }
            let refs = rule_refs(&s.best.namespaces[ni].ruleset);
            if refs.is_empty() {
                break;
            }
            let parts_now = parts.min(refs.len());
            let chunk = refs.len().div_ceil(parts_now);
            let mut removed = false;
            for part in refs.chunks(chunk) {
                let mut w = s.best.clone();
                w.namespaces[ni].ruleset = without_rules(&w.namespaces[ni].ruleset, part);
                if s.attempt(w)? {
                    removed = true;
                    break;
                }
                if s.out_of_budget() {
                    return Ok(());
                }
            }
            if removed {
                parts = (parts_now - 1).max(2);
            } else if chunk == 1 {
                break;
            } else {
                parts = (parts_now * 2).min(refs.len());
            }
        }
    }
    Ok(())
}

/// `w` without namespace `name`: its links, the peer ends of those links (with routes and
/// sysctls that name them) and the probes it sends go too.
pub fn without_namespace(w: &World, name: &str) -> World {
    let mut out = w.clone();
    let peers: Vec<(String, String)> = out
        .links
        .iter()
        .filter_map(|l| {
            if l.a.namespace == name && l.b.namespace != name {
                Some((l.b.namespace.clone(), l.b.interface.clone()))
            } else if l.b.namespace == name && l.a.namespace != name {
                Some((l.a.namespace.clone(), l.a.interface.clone()))
            } else {
                None
            }
        })
        .collect();
    out.links
        .retain(|l| l.a.namespace != name && l.b.namespace != name);
    out.namespaces.retain(|n| n.name != name);
    out.probes.retain(|p| p.from != name);
    for (ns, iface) in peers {
        let Some(n) = out.namespaces.iter_mut().find(|n| n.name == ns) else {
            continue;
        };
        n.interfaces.retain(|i| i.name != iface);
        n.routes
            .retain(|r| r.dev.as_deref() != Some(iface.as_str()));
        let prefix = format!("net.ipv4.conf.{iface}.");
        n.sysctls.raw.retain(|k, _| !k.starts_with(&prefix));
    }
    out
}

fn shrink_namespaces(s: &mut Search) -> Result<(), JudgeError> {
    let Some(p) = s.best.probes.iter().find(|p| p.name == s.probe).cloned() else {
        return Ok(());
    };
    // The client, the traced namespace and the one that has the destination address stay.
    let owns_dst = |n: &pktpath_world::Namespace| {
        n.interfaces
            .iter()
            .any(|i| i.addrs.iter().any(|a| a.addr == p.dst))
    };
    let keep = [Some(p.from.clone()), p.trace_namespace.clone()];
    let names: Vec<String> = s
        .best
        .namespaces
        .iter()
        .filter(|n| !keep.contains(&Some(n.name.clone())) && (p.dst.is_loopback() || !owns_dst(n)))
        .map(|n| n.name.clone())
        .collect();
    // All of them at once, then one by one.
    if names.len() > 1 {
        let mut w = s.best.clone();
        for n in &names {
            w = without_namespace(&w, n);
        }
        if s.attempt(w)? {
            return Ok(());
        }
    }
    for name in names {
        if s.out_of_budget() {
            break;
        }
        let w = without_namespace(&s.best, &name);
        s.attempt(w)?;
    }
    Ok(())
}

/// Remove user chains that have no rules and that no rule jumps to (repeatedly): they
/// cannot change a packet's path.
pub fn drop_unused_chains(rs: &mut Ruleset) {
    loop {
        let mut changed = false;
        for ti in 0..rs.tables.len() {
            let t = &rs.tables[ti];
            let referenced = |name: &str| {
                t.chains.iter().any(|c| {
                    c.rules.iter().any(|r| {
                        matches!(&r.target, Some(Target::Jump(n) | Target::Goto(n)) if n == name)
                    })
                })
            };
            let unused: Vec<String> = t
                .chains
                .iter()
                .filter(|c| c.policy.is_none() && c.rules.is_empty() && !referenced(&c.name))
                .map(|c| c.name.clone())
                .collect();
            if !unused.is_empty() {
                rs.tables[ti].chains.retain(|c| !unused.contains(&c.name));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}
