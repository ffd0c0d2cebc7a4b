//! Comparing two traces step by step (typically the kernel's first-packet trace against a
//! simulated one) and showing where they first diverge.
//!
//! Steps carry no rule handles and no trace ids, so neither is compared: a step matches when
//! table, chain, rule text and verdict are equal.

use std::fmt;

use crate::first_packet::TraceStep;

/// How many matching steps before the divergence the report shows.
const CONTEXT: usize = 2;

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceDiff {
    /// Number of expected steps.
    pub expected_len: usize,
    /// Number of steps we got.
    pub got_len: usize,
    /// The first differing step, `None` if the traces match.
    pub divergence: Option<Divergence>,
    /// Up to two matching steps right before the divergence, for context.
    pub context: Vec<TraceStep>,
}

/// The first step where two traces differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// 0-based index of the step.
    pub index: usize,
    /// The expected step, `None` if the expected trace ended here.
    pub expected: Option<TraceStep>,
    /// The step we got, `None` if our trace ended here.
    pub got: Option<TraceStep>,
}

impl TraceDiff {
    /// Whether the traces are equal (ignoring handles and trace ids).
    pub fn is_match(&self) -> bool {
        self.divergence.is_none()
    }
}

/// Compare `got` against `expected`, step by step.
pub fn compare(expected: &[TraceStep], got: &[TraceStep]) -> TraceDiff {
    let index = expected
        .iter()
        .zip(got)
        .position(|(e, g)| e != g)
        .or_else(|| (expected.len() != got.len()).then(|| expected.len().min(got.len())));
    let divergence = index.map(|index| Divergence {
        index,
        expected: expected.get(index).cloned(),
        got: got.get(index).cloned(),
    });
    let context = match index {
        Some(i) => expected[i.saturating_sub(CONTEXT)..i].to_vec(),
        None => Vec::new(),
    };
    TraceDiff {
        expected_len: expected.len(),
        got_len: got.len(),
        divergence,
        context,
    }
}

impl fmt::Display for TraceDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(d) = &self.divergence else {
            return write!(f, "traces match ({} steps)", self.expected_len);
        };
        writeln!(
            f,
            "traces diverge at step {} (expected {} steps, got {})",
            d.index + 1,
            self.expected_len,
            self.got_len
        )?;
        let first_context = d.index - self.context.len();
        for (i, step) in self.context.iter().enumerate() {
            writeln!(f, "  step {:>3}  (same) {step}", first_context + i + 1)?;
        }
        let show = |s: &Option<TraceStep>| match s {
            Some(s) => s.to_string(),
            None => "(trace ended)".to_string(),
        };
        writeln!(
            f,
            "  step {:>3}  expected: {}",
            d.index + 1,
            show(&d.expected)
        )?;
        write!(f, "  step {:>3}  got:      {}", d.index + 1, show(&d.got))
    }
}
