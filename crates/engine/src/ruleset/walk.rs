//! Chain traversal as `nft_do_chain()` does it: rules in order, a jump stack for `-j`,
//! `-g` replacing the current frame, RETURN popping it, the base chain's policy at the
//! end, and a trace event for every rule that matched (non-matching rules and implicit
//! returns at the end of a user chain are not traced).

use super::matcher::{rule_matches, MatchCtx, MatchState};
use super::{CRuleset, CTarget};
use crate::event::{Event, Verdict};
use crate::packet::Packet;
use crate::topology::NsId;
use pktpath_rules::{ConnmarkAction, MarkAction, Policy, RejectWith, Target};

/// How a base chain ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainResult {
    Accept,
    Drop,
    /// A REJECT rule matched: the caller sends the error, then records the rule with
    /// verdict DROP (nf_tables traces it after the packets it sent).
    Reject {
        with: RejectWith,
        chain: u32,
        rule: u32,
    },
    /// A nat target matched (its trace line, ACCEPT, is already recorded).
    Nat {
        target: Target,
    },
}

/// Changes a walk makes to the connection (applied by the caller).
#[derive(Debug, Default, Clone, Copy)]
pub struct CtChanges {
    pub mark: Option<u32>,
}

pub struct Walk<'a> {
    pub ns: NsId,
    pub rs: &'a CRuleset,
    pub table: usize,
    pub events: Option<&'a mut Vec<Event>>,
}

const MAX_DEPTH: usize = 64;

impl Walk<'_> {
    fn emit(&mut self, e: Event) {
        if let Some(ev) = self.events.as_deref_mut() {
            ev.push(e);
        }
    }

    /// Run base chain `base` on `pkt`.
    pub fn run(
        &mut self,
        base: u32,
        pkt: &mut Packet,
        ctx: &mut MatchCtx,
        st: &mut MatchState,
        ctc: &mut CtChanges,
    ) -> ChainResult {
        let t = &self.rs.tables[self.table];
        let tname = t.name;
        let mut stack: Vec<(u32, usize)> = Vec::new();
        let mut chain = base;
        let mut pos = 0usize;
        loop {
            let c = &t.chains[chain as usize];
            let mut jumped = false;
            while pos < c.rules.len() {
                let r = &c.rules[pos];
                let ri = pos as u32;
                pos += 1;
                if !rule_matches(&r.rule, pkt, ctx, st, r.id) {
                    continue;
                }
                let (verdict, result) = match &r.target {
                    CTarget::None => (Verdict::Continue, None),
                    CTarget::Jump(to) => (Verdict::Jump(*to), None),
                    CTarget::Goto(to) => (Verdict::Goto(*to), None),
                    CTarget::Other(tg) => apply(tg, pkt, ctc, chain, ri),
                };
                if let Some(ChainResult::Reject { .. }) = result {
                    // traced by the caller after the error is sent
                    return result.expect("checked");
                }
                let traced = pkt.nftrace;
                self.emit(Event::Rule {
                    ns: self.ns,
                    table: tname,
                    chain,
                    rule: ri,
                    verdict,
                    traced,
                });
                match verdict {
                    Verdict::Continue => {}
                    Verdict::Accept => return result.unwrap_or(ChainResult::Accept),
                    Verdict::Drop => return ChainResult::Drop,
                    Verdict::Jump(to) => {
                        if stack.len() >= MAX_DEPTH {
                            return ChainResult::Drop;
                        }
                        stack.push((chain, pos));
                        chain = to;
                        pos = 0;
                        jumped = true;
                        break;
                    }
                    Verdict::Goto(to) => {
                        chain = to;
                        pos = 0;
                        jumped = true;
                        break;
                    }
                    Verdict::Return => {
                        pos = usize::MAX;
                        break;
                    }
                }
            }
            if jumped {
                continue;
            }
            // End of chain (or RETURN): back to the caller, or the policy of the base chain.
            match stack.pop() {
                Some((c, p)) => {
                    chain = c;
                    pos = p;
                }
                None => {
                    let policy = t.chains[base as usize].policy.unwrap_or(Policy::Accept);
                    let verdict = match policy {
                        Policy::Accept => Verdict::Accept,
                        Policy::Drop => Verdict::Drop,
                    };
                    let traced = pkt.nftrace;
                    self.emit(Event::Policy {
                        ns: self.ns,
                        table: tname,
                        chain: base,
                        verdict,
                        traced,
                    });
                    return match policy {
                        Policy::Accept => ChainResult::Accept,
                        Policy::Drop => ChainResult::Drop,
                    };
                }
            }
        }
    }
}

/// Run a non-jump target: its effect on the packet, and the verdict nf_tables reports.
fn apply(
    tg: &Target,
    pkt: &mut Packet,
    ctc: &mut CtChanges,
    chain: u32,
    rule: u32,
) -> (Verdict, Option<ChainResult>) {
    match tg {
        Target::Accept => (Verdict::Accept, None),
        Target::Drop => (Verdict::Drop, None),
        Target::Return => (Verdict::Return, None),
        Target::Reject(with) => (
            Verdict::Drop,
            Some(ChainResult::Reject {
                with: *with,
                chain,
                rule,
            }),
        ),
        Target::Dnat { .. }
        | Target::Snat { .. }
        | Target::Masquerade { .. }
        | Target::Redirect { .. } => (
            Verdict::Accept,
            Some(ChainResult::Nat { target: tg.clone() }),
        ),
        Target::Mark(a) => {
            pkt.mark = mark_apply(*a, pkt.mark);
            (Verdict::Continue, None)
        }
        Target::Connmark(a) => {
            match *a {
                ConnmarkAction::SetXmark { value, mask } => {
                    let cur = ctc.mark.unwrap_or(0);
                    ctc.mark = Some((cur & !mask) ^ value);
                }
                ConnmarkAction::Save { nfmask, ctmask } => {
                    let cur = ctc.mark.unwrap_or(0);
                    ctc.mark = Some((cur & !ctmask) ^ (pkt.mark & nfmask));
                }
                ConnmarkAction::Restore { nfmask, ctmask } => {
                    let cur = ctc.mark.unwrap_or(0);
                    pkt.mark = (pkt.mark & !nfmask) ^ (cur & ctmask);
                }
            }
            (Verdict::Continue, None)
        }
        Target::Notrack { .. } => {
            pkt.notrack = true;
            (Verdict::Continue, None)
        }
        Target::Trace => {
            pkt.nftrace = true;
            (Verdict::Continue, None)
        }
        Target::Jump(_) | Target::Goto(_) => unreachable!("resolved at compile time"),
        Target::Log(_)
        | Target::Nflog(_)
        // `-j CT --helper/--zone`: no effect the engine models.
        | Target::Ct(_)
        | Target::ChecksumFill
        | Target::TcpMss(_)
        | Target::Unknown { .. } => (Verdict::Continue, None),
    }
}

/// xt_MARK: `--set-xmark value/mask` is `(mark & ~mask) ^ value`.
pub fn mark_apply(a: MarkAction, mark: u32) -> u32 {
    match a {
        MarkAction::SetXmark { value, mask } => (mark & !mask) ^ value,
        MarkAction::And(v) => mark & v,
        MarkAction::Or(v) => mark | v,
        MarkAction::Xor(v) => mark ^ v,
    }
}
