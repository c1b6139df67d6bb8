//! [`Resolved`] → [`Plan`]: the physical shape of the search.
//!
//! One scan of the index table looks up every distinct [`Lookup`] at once;
//! the boolean [`Formula`] is evaluated per record over which lookups hit;
//! then only the matching records are fetched from the message table. When
//! the formula holds for a record with none of the tokens (`NOT x` alone),
//! the index cannot list the matches, so the plan reads every message in the
//! window instead ([`MessageScan::Window`]).

use crate::resolve::{Atom, Filter, Pattern, Resolved};
use crate::window::{PartitionRange, TimeWindow};

/// Default number of records returned.
pub const DEFAULT_LIMIT: u64 = 100;

/// A search, ready to be written as SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub window: TimeWindow,
    pub partitions: PartitionRange,
    /// Distinct lookups; a lookup's index is its id in the formula.
    pub lookups: Vec<Atom>,
    pub formula: Formula,
    pub message_scan: MessageScan,
    /// `None`: no limit.
    pub limit: Option<u64>,
}

/// The boolean formula over lookup ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formula {
    Lookup(usize),
    And(Vec<Formula>),
    Or(Vec<Formula>),
    Not(Box<Formula>),
}

impl Formula {
    /// Evaluates the formula given which lookups hit.
    pub fn eval(&self, hit: &dyn Fn(usize) -> bool) -> bool {
        match self {
            Formula::Lookup(i) => hit(*i),
            Formula::And(fs) => fs.iter().all(|f| f.eval(hit)),
            Formula::Or(fs) => fs.iter().any(|f| f.eval(hit)),
            Formula::Not(f) => !f.eval(hit),
        }
    }
}

/// Which message rows the final join starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageScan {
    /// Only records the index scan found (inner join): the normal case.
    Hits,
    /// Every record in the window, left-joined to what the index found.
    Window,
}

impl Plan {
    /// True if some lookup is a phrase, which needs token positions.
    pub fn needs_positions(&self) -> bool {
        self.lookups
            .iter()
            .any(|a| matches!(&a.pattern, Pattern::Tokens(t) if t.len() > 1))
    }

    /// True if some lookup is a prefix.
    pub fn has_prefixes(&self) -> bool {
        self.lookups
            .iter()
            .any(|a| matches!(a.pattern, Pattern::Prefix(_)))
    }

    /// Distinct exact tokens looked up, in first-use order.
    pub fn exact_tokens(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in &self.lookups {
            if let Pattern::Tokens(ts) = &a.pattern {
                for t in ts {
                    if !out.contains(&t.as_str()) {
                        out.push(t);
                    }
                }
            }
        }
        out
    }

    /// Distinct prefixes looked up, in first-use order.
    pub fn prefixes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in &self.lookups {
            if let Pattern::Prefix(p) = &a.pattern
                && !out.contains(&p.as_str())
            {
                out.push(p);
            }
        }
        out
    }
}

/// Builds the plan. `limit: None` means no limit.
pub fn plan(resolved: &Resolved, limit: Option<u64>) -> Plan {
    let mut lookups = Vec::new();
    let formula = to_formula(&resolved.filter, &mut lookups);
    let message_scan = if formula.eval(&|_| false) {
        MessageScan::Window
    } else {
        MessageScan::Hits
    };
    Plan {
        window: resolved.window.clone(),
        partitions: resolved.window.partitions(),
        lookups,
        formula,
        message_scan,
        limit,
    }
}

fn to_formula(filter: &Filter, lookups: &mut Vec<Atom>) -> Formula {
    match filter {
        Filter::Atom(atom) => {
            let id = match lookups.iter().position(|a| a == atom) {
                Some(id) => id,
                None => {
                    lookups.push(atom.clone());
                    lookups.len() - 1
                }
            };
            Formula::Lookup(id)
        }
        Filter::And(fs) => Formula::And(fs.iter().map(|f| to_formula(f, lookups)).collect()),
        Filter::Or(fs) => Formula::Or(fs.iter().map(|f| to_formula(f, lookups)).collect()),
        Filter::Not(f) => Formula::Not(Box::new(to_formula(f, lookups))),
    }
}
