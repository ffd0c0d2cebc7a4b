//! Chain traversal as `nft_do_chain()` does it: rules in order, a jump stack for `-j`,
//! `-g` replacing the current frame, RETURN popping it, the base chain's policy at the
//! end, and a trace event for every rule that matched (non-matching rules and implicit
//! returns at the end of a user chain are not traced).

use super::index::Candidates;
use super::matcher::{rest_matches, rule_matches, MatchCtx, MatchState};
use super::{CRuleset, CTarget};
use crate::event::{Event, Verdict};
use crate::packet::Packet;
use crate::topology::NsId;
use pktpath_rules::{ConnmarkAction, MarkAction, Policy, RejectWith, TableName, Target};

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

/// Jump stack depth; deeper nesting drops the packet.
const MAX_DEPTH: usize = 64;

impl Walk<'_> {
    fn emit(&mut self, e: Event) {
        if let Some(ev) = self.events.as_deref_mut() {
            ev.push(e);
        }
    }

    #[inline]
    fn emit_rule(
        &mut self,
        table: TableName,
        chain: u32,
        rule: u32,
        verdict: Verdict,
        traced: bool,
        len: u16,
    ) {
        if let Some(ev) = self.events.as_deref_mut() {
            ev.push(Event::Rule {
                ns: self.ns,
                table,
                chain,
                rule,
                verdict,
                traced,
                len,
            });
        }
    }

    /// Run base chain `base` on `pkt`. Visits only the rules the chain's prefilter
    /// ([`super::index`]) lists for the packet, and allocates nothing (the jump stack is
    /// a fixed array).
    pub fn run(
        &mut self,
        base: u32,
        pkt: &mut Packet,
        ctx: &mut MatchCtx,
        st: &mut MatchState,
        ctc: &mut CtChanges,
    ) -> ChainResult {
        self.run_impl::<true>(base, pkt, ctx, st, ctc)
    }

    /// The same walk, every rule of every chain in order, matched straight from the
    /// parsed rule ([`super::matcher::rule_matches`]): the reference `run` must equal.
    pub fn run_linear(
        &mut self,
        base: u32,
        pkt: &mut Packet,
        ctx: &mut MatchCtx,
        st: &mut MatchState,
        ctc: &mut CtChanges,
    ) -> ChainResult {
        self.run_impl::<false>(base, pkt, ctx, st, ctc)
    }

    fn run_impl<const COMPILED: bool>(
        &mut self,
        base: u32,
        pkt: &mut Packet,
        ctx: &mut MatchCtx,
        st: &mut MatchState,
        ctc: &mut CtChanges,
    ) -> ChainResult {
        let t = &self.rs.tables[self.table];
        let tname = t.name;
        // (chain, position to resume at) of each caller, as nft_do_chain()'s jumpstack.
        let mut stack = [(0u32, 0u32); MAX_DEPTH];
        let mut depth = 0usize;
        let mut chain = base;
        let mut pos = 0usize;
        'chain: loop {
            let c = &t.chains[chain as usize];
            // No target that continues the walk rewrites the addresses or ports the
            // candidates are keyed on (NAT targets end it), so the list stays valid.
            let candidates = if COMPILED {
                c.filter.candidates(pkt, pos)
            } else {
                Candidates::Linear {
                    pos,
                    len: c.rules.len(),
                }
            };
            for p in candidates {
                let r = &c.rules[p];
                let matched = if COMPILED {
                    c.filter.headers[p].matches(pkt) && rest_matches(&r.rule, pkt, ctx, st, r.id)
                } else {
                    rule_matches(&r.rule, pkt, ctx, st, r.id)
                };
                if !matched {
                    continue;
                }
                let ri = p as u32;
                let verdict = match &r.target {
                    CTarget::None => Verdict::Continue,
                    CTarget::Jump(to) => Verdict::Jump(*to),
                    CTarget::Goto(to) => Verdict::Goto(*to),
                    CTarget::Other(tg) => match apply(tg, pkt, ctc, chain, ri) {
                        (v, None) => v,
                        // traced by the caller after the error is sent
                        (_, Some(reject @ ChainResult::Reject { .. })) => return reject,
                        // a nat target: traced with its verdict (ACCEPT), ends the walk
                        (v, Some(result)) => {
                            self.emit_rule(tname, chain, ri, v, pkt.nftrace, pkt.len);
                            return result;
                        }
                    },
                };
                self.emit_rule(tname, chain, ri, verdict, pkt.nftrace, pkt.len);
                match verdict {
                    Verdict::Continue => {}
                    Verdict::Accept => return ChainResult::Accept,
                    Verdict::Drop => return ChainResult::Drop,
                    Verdict::Jump(to) => {
                        if depth >= MAX_DEPTH {
                            return ChainResult::Drop;
                        }
                        stack[depth] = (chain, ri + 1);
                        depth += 1;
                        chain = to;
                        pos = 0;
                        continue 'chain;
                    }
                    Verdict::Goto(to) => {
                        chain = to;
                        pos = 0;
                        continue 'chain;
                    }
                    // RETURN: back to the caller, like the end of the chain.
                    Verdict::Return => break,
                }
            }
            // End of chain (or RETURN): back to the caller, or the policy of the base chain.
            if depth > 0 {
                depth -= 1;
                let (c, p) = stack[depth];
                chain = c;
                pos = p as usize;
                continue;
            }
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
                len: pkt.len,
            });
            return match policy {
                Policy::Accept => ChainResult::Accept,
                Policy::Drop => ChainResult::Drop,
            };
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
            // xt_ct_target(): "Previously seen (loopback)? Ignore." A looped-back packet
            // keeps the connection it got in OUTPUT.
            if pkt.ct.is_none() {
                pkt.notrack = true;
            }
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
