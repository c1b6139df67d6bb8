//! [`Optimized`] → [`Plan`]: the physical shape of the search.
//!
//! One scan of the index table evaluates every distinct [`Lookup`] at once;
//! the boolean [`Formula`] is evaluated per record over which lookups hit and
//! over the record's own columns (`@time`, `tag`); then only the matching
//! records are fetched from the message table. When the formula can hold for
//! a record with no index hit (`NOT x`, `tag:json` alone), the index cannot
//! list the matches, so the plan reads every message in the window instead
//! ([`Scan::Window`], [`Scan::Messages`]).
//!
//! The plan also says which statements run the search, in order, and what
//! each returns ([`Shape`], [`Rows`]): [`crate::sql`] only prints them, and
//! [`crate::search`] sequences them at run time from what each returned.

use crate::ast::{Stage, StageKind};
use crate::layout::{PARTITION_COLUMN, columns as c};
use crate::optimize::Optimized;
use crate::pipeline::Output;
use crate::resolve::{Atom, Filter, Lookup, Pattern, RecordTest, ValueTest};
use crate::window::{PartitionRange, TimeWindow};

/// Default number of records returned.
pub const DEFAULT_LIMIT: u64 = 100;

/// Most distinct lookups in one query. Each is an aggregate in the index
/// scan; thousands of them make Athena plans slow or fail, and past 1,000
/// tokens Athena stops pruning row groups by the token list anyway.
pub const MAX_LOOKUPS: usize = 1_000;

/// Most keys a search fetches by key, in as many statements as their SQL
/// needs ([`crate::fetch::statements`]); a search finding more runs the
/// join instead ([`Plan::may_join`], docs/engines.md). Why 1,000: the
/// largest count at which the fetch beat the join on time as well as
/// bytes on the local engine (`glaux bench --fetch-keys`;
/// docs/performance.md, "Fetch by key against the join").
pub const MAX_KEYS: u64 = 1_000;

/// Hours the first find of a walk opens. One: a term common enough to fill
/// the limit from its newest hour should not pay for more.
pub const FIRST_BATCH: usize = 1;

/// How a search runs: which statements, in what order, what each returns
/// ([`Rows`]) and what the next needs from it. Decided here once; the
/// header, the first statement, the later ones and `--explain` all read
/// it ([`crate::sql`], [`crate::search`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Nothing can match: no statement runs.
    Nothing,
    /// One statement returns the records.
    One,
    /// A find returns the newest keys; a fetch reads their messages
    /// ([`Plan::fetches_by_keys`]). A window of one hour.
    FindThenFetch,
    /// The token-hours table can narrow the hours: a statement lists
    /// them ([`Rows::Hours`]; with the record the table names for each
    /// hour when `named`, [`Plan::hours_name_records`]), and finds walk
    /// them newest first before the fetch.
    WalkListed { named: bool },
    /// A window of several hours the token-hours table cannot narrow (a
    /// range, a CIDR block, a field's presence; or no such table): finds
    /// walk all the window's `hours` newest first, the first of them (over
    /// the `first` newest) this search's first statement, a batch at a
    /// time, and stop at the limit.
    WalkWindow { hours: u64, first: usize },
    /// The stages make a table: one statement computes it over every match
    /// of the window ([`Rows::Table`]; [`crate::sql::render`]).
    Table,
}

/// What the rows of a statement are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// One column, `dt`: hours, newest first (and the record the
    /// token-hours table names for each, [`HOUR_LAST_OBJECT`] and the
    /// others, when the walk's shape says `named`).
    Hours,
    /// [`KEY_COLUMNS`].
    Keys,
    /// The result: the message table's columns, newest first.
    Records,
    /// The stages' table: the columns of [`Plan::output`] (and hidden
    /// ones, [`crate::pipeline::NUM_SUFFIX`]), in the table's order.
    Table,
    /// Part of the result, as [`Rows::Records`]; a statement after it
    /// returns more. The runner keeps them and merges every part in the
    /// result's order (a fetch whose keys' SQL is too long for one
    /// statement, [`crate::fetch::statements`]).
    SomeRecords,
}

/// One record's key, as a find statement returns it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub dt: String,
    pub object: String,
    pub seq: i64,
}

/// The columns a find statement returns, in order.
pub const KEY_COLUMNS: [&str; 4] = [PARTITION_COLUMN, c::OBJECT, c::SEQ, c::TIME_MS];

/// The columns of a walk's hours statement besides `dt` and the least
/// `object` and `seq` its rows name: the greatest, and how many rows name
/// no record. The hour's match is named only when every row names the
/// same one ([`crate::search::Listed::from_rows`]).
pub const HOUR_LAST_OBJECT: &str = "last_object";
pub const HOUR_LAST_SEQ: &str = "last_seq";
pub const HOUR_UNNAMED: &str = "unnamed";

/// A search, ready to be written as SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `None` when nothing can match.
    pub window: Option<TimeWindow>,
    pub partitions: Option<PartitionRange>,
    /// Distinct lookups; a lookup's index is its id in the formula.
    pub lookups: Vec<Lookup>,
    pub formula: Formula,
    pub scan: Scan,
    /// `None`: no limit.
    pub limit: Option<u64>,
    /// Most records a search fetches by key ([`MAX_KEYS`] unless a test
    /// asks for fewer); past it, one statement joins the index to the
    /// messages ([`Plan::may_join`]).
    pub max_keys: u64,
    /// The index scan reads the token-hours table first, to open only the
    /// hours it lists: the store has the table and it can narrow this
    /// search ([`Plan::narrows_hours`]). Off when the SQL would not fit
    /// Athena's limit with it ([`Plan::without_hours`]).
    pub reads_hours: bool,
    /// The statements that run the search.
    pub shape: Shape,
    /// The stages after the search, and what each returns
    /// ([`crate::pipeline::outputs`]); none for a plain search.
    pub stages: Vec<Stage>,
    pub outputs: Vec<Output>,
    /// A timechart's buckets.
    pub timechart: Option<Timechart>,
}

/// The buckets of a `timechart`: `span_ms` wide, aligned to UTC multiples
/// of it, from the one holding the window's start to the one holding its
/// last millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timechart {
    pub span_ms: i64,
    pub first_ms: i64,
    pub last_ms: i64,
}

impl Timechart {
    /// No buckets: a timechart of a search nothing can match.
    pub fn none(span_ms: i64) -> Timechart {
        Timechart {
            span_ms,
            first_ms: 0,
            last_ms: -span_ms,
        }
    }

    /// A bucket's start as a timechart prints it: RFC 3339 in UTC, to
    /// the second (`2026-12-07T10:15:00Z`).
    pub fn time_text(start_ms: i64) -> String {
        chrono::DateTime::<chrono::Utc>::from_timestamp_millis(start_ms)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_else(|| start_ms.to_string())
    }

    /// How many buckets there are.
    pub fn count(&self) -> i64 {
        (self.last_ms - self.first_ms) / self.span_ms + 1
    }
}

/// Most buckets a `timechart` draws: a terminal shows far fewer, and each
/// is a row.
pub const MAX_BUCKETS: i64 = 10_000;

/// The bucket widths a `timechart` without `span=` chooses from, in
/// seconds: the smallest that makes at most [`DEFAULT_BUCKETS`] buckets of
/// the window (an hour in minutes, a day in hours, a month in days).
pub const DEFAULT_SPANS: [u64; 8] = [1, 10, 60, 600, 3_600, 21_600, 86_400, 604_800];
pub const DEFAULT_BUCKETS: i64 = 60;

/// The bucket width of a `timechart` over a window of `ms`.
pub fn default_span(ms: i64) -> u64 {
    DEFAULT_SPANS
        .into_iter()
        .find(|&s| {
            ms.div_euclid(s as i64 * 1_000) + i64::from(ms % (s as i64 * 1_000) != 0)
                <= DEFAULT_BUCKETS
        })
        .unwrap_or(604_800)
}

/// The distinct tokens of `lookups`' terms and phrases, in first-use order.
fn distinct_tokens<'a>(lookups: impl IntoIterator<Item = &'a Lookup>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for l in lookups {
        if let Pattern::Tokens(ts) = &l.pattern {
            for t in ts {
                if !out.contains(&t.as_str()) {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// The boolean formula over lookup ids and record tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Formula {
    Lookup(usize),
    Record(RecordTest),
    And(Vec<Formula>),
    Or(Vec<Formula>),
    Not(Box<Formula>),
    Const(bool),
}

/// Three-valued truth, for reasoning about records the index knows nothing of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    False,
    Unknown,
    True,
}

impl Formula {
    /// Kleene evaluation: `hit` says whether a lookup hit; record tests are
    /// `Unknown`.
    pub fn eval3(&self, hit: &dyn Fn(usize) -> bool) -> Truth {
        match self {
            Formula::Lookup(i) => {
                if hit(*i) {
                    Truth::True
                } else {
                    Truth::False
                }
            }
            Formula::Record(_) => Truth::Unknown,
            Formula::Const(b) => {
                if *b {
                    Truth::True
                } else {
                    Truth::False
                }
            }
            Formula::Not(f) => match f.eval3(hit) {
                Truth::True => Truth::False,
                Truth::False => Truth::True,
                Truth::Unknown => Truth::Unknown,
            },
            Formula::And(fs) => fs
                .iter()
                .fold(Truth::True, |acc, f| match (acc, f.eval3(hit)) {
                    (Truth::False, _) | (_, Truth::False) => Truth::False,
                    (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
                    _ => Truth::True,
                }),
            Formula::Or(fs) => fs
                .iter()
                .fold(Truth::False, |acc, f| match (acc, f.eval3(hit)) {
                    (Truth::True, _) | (_, Truth::True) => Truth::True,
                    (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
                    _ => Truth::False,
                }),
        }
    }

    /// True if the formula tests the record's own columns somewhere.
    pub fn has_record_tests(&self) -> bool {
        match self {
            Formula::Record(_) => true,
            Formula::And(fs) | Formula::Or(fs) => fs.iter().any(Formula::has_record_tests),
            Formula::Not(f) => f.has_record_tests(),
            Formula::Lookup(_) | Formula::Const(_) => false,
        }
    }

    /// A formula over lookups only that every match satisfies: record tests
    /// (and their negations: the formula is in negation normal form) become
    /// `TRUE`. Used to drop records early in the index scan.
    pub fn relaxed(&self) -> Formula {
        match self {
            Formula::Record(_) => Formula::Const(true),
            Formula::Not(f) if matches!(**f, Formula::Record(_)) => Formula::Const(true),
            Formula::Not(f) => Formula::Not(Box::new(f.relaxed())),
            Formula::And(fs) => {
                let kept: Vec<Formula> = fs
                    .iter()
                    .map(Formula::relaxed)
                    .filter(|f| *f != Formula::Const(true))
                    .collect();
                match kept.len() {
                    0 => Formula::Const(true),
                    1 => kept.into_iter().next().expect("one"),
                    _ => Formula::And(kept),
                }
            }
            Formula::Or(fs) => {
                let all: Vec<Formula> = fs.iter().map(Formula::relaxed).collect();
                if all.contains(&Formula::Const(true)) {
                    Formula::Const(true)
                } else {
                    Formula::Or(all)
                }
            }
            f => f.clone(),
        }
    }
}

/// Where the matching records come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Nothing can match: no query runs.
    Nothing,
    /// No index lookups: the window's messages, filtered on their own columns.
    Messages,
    /// Only records the index scan found (inner join): the normal case.
    Hits,
    /// Every record in the window, left-joined to what the index found.
    Window,
}

impl Plan {
    /// The distinct tests of whole values in the formula, in first-use
    /// order: a value test's index here is its column (`v0`, `v1`, …) in
    /// the statement's `vals` ([`crate::sql`]).
    pub fn value_tests(&self) -> Vec<&ValueTest> {
        fn go<'a>(f: &'a Formula, out: &mut Vec<&'a ValueTest>) {
            match f {
                Formula::Record(RecordTest::Value(v)) => {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                Formula::And(fs) | Formula::Or(fs) => fs.iter().for_each(|f| go(f, out)),
                Formula::Not(f) => go(f, out),
                Formula::Record(_) | Formula::Lookup(_) | Formula::Const(_) => {}
            }
        }
        let mut out = Vec::new();
        go(&self.formula, &mut out);
        out
    }

    /// The longest phrase, in tokens (1 when there are none).
    pub fn max_phrase(&self) -> usize {
        self.lookups
            .iter()
            .map(|l| match &l.pattern {
                Pattern::Tokens(t) => t.len(),
                _ => 1,
            })
            .max()
            .unwrap_or(1)
    }

    /// Distinct exact tokens looked up (terms and phrase words), in first-use order.
    pub fn exact_tokens(&self) -> Vec<&str> {
        distinct_tokens(&self.lookups)
    }

    /// The tokens every match holds (so its hour holds them): those of
    /// the lookups the whole formula requires (itself a lookup, or an
    /// `AND` with lookups among its parts), terms and phrase words alike.
    /// The token-hours table then lists only the hours holding all of
    /// them; fields and word order aside, a match needs each.
    pub fn required_tokens(&self) -> Vec<&str> {
        let required: Vec<usize> = match &self.formula {
            Formula::Lookup(i) => vec![*i],
            Formula::And(parts) => parts
                .iter()
                .filter_map(|f| match f {
                    Formula::Lookup(i) => Some(*i),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        distinct_tokens(required.into_iter().filter_map(|i| self.lookups.get(i)))
    }

    /// The limit to apply in the index scan itself, when the index alone
    /// decides which records match (no test on the record's own columns
    /// left for the join). The index scan then answers only the newest
    /// `limit` records, and the message table is read for those alone
    /// (docs/engines.md, docs/performance.md).
    pub fn index_limit(&self) -> Option<u64> {
        if self.fetches_by_keys() {
            self.limit
        } else {
            None
        }
    }

    /// True if the index alone decides which records match (every match
    /// has an index hit, nothing is left to test on the record's own
    /// columns), so the search starts by finding keys in the index and
    /// reads the messages of exactly those ([`crate::fetch`]), limit or
    /// not. An export (no limit) finds up to [`Plan::keys_wanted`] keys;
    /// past [`Plan::max_keys`] of them it joins instead
    /// ([`Plan::may_join`]).
    pub fn fetches_by_keys(&self) -> bool {
        self.scan == Scan::Hits && !self.formula.has_record_tests()
    }

    /// How many keys the finds of a search that fetches by keys look for:
    /// the limit when the fetch can name that many, else one more than it
    /// can ([`Plan::max_keys`]): finding that many says the search needs
    /// the join.
    pub fn keys_wanted(&self) -> u64 {
        match self.limit {
            Some(limit) if limit <= self.max_keys => limit,
            _ => self.max_keys.saturating_add(1),
        }
    }

    /// True if a search that fetches by keys may end with the join
    /// instead of the fetch ([`crate::sql::render_join`]): when it has no
    /// limit, or one past [`Plan::max_keys`], and finds more keys than
    /// that. The join reads every message of the window on the local
    /// engine, so only searches with too many matches to name pay for it.
    pub fn may_join(&self) -> bool {
        self.fetches_by_keys()
            && self.keys_wanted() > self.max_keys
            && !self.makes_table()
            && !self.dedups()
    }

    /// True if the token-hours table can narrow the hours this search
    /// opens: every match has an index hit (the normal hits shape), every
    /// lookup is one the token-hours table can answer from its tokens alone
    /// (terms, phrase words, wildcards with a literal prefix), and the
    /// window spans more than one hour. The table lists a superset of the
    /// hours holding a token (it ignores fields and word order), so the
    /// index still decides; it only spares the hours that cannot match
    /// their footer, page index and pages.
    pub fn narrows_hours(&self) -> bool {
        self.scan == Scan::Hits
            && self.partitions.as_ref().is_some_and(|p| p.first != p.last)
            && self.lookups.iter().all(|l| match &l.pattern {
                Pattern::Tokens(_) => true,
                Pattern::Wildcard(w) => !w.leading_wild(),
                _ => false,
            })
    }

    /// True if the token-hours table's rows can answer an hour of this
    /// search without its index: the search is a term, or an `OR` of
    /// terms, or a wildcard with a literal prefix, each in any field and
    /// nothing else to test. A record holding one of those tokens
    /// anywhere is a match, so when the table names the records of an
    /// hour holding them, those are the hour's matches (docs/storage.md,
    /// "Token-hours table").
    pub fn hours_name_records(&self) -> bool {
        let any_field_token = |l: &Lookup| {
            l.field.is_none()
                && match &l.pattern {
                    Pattern::Tokens(tokens) => tokens.len() == 1,
                    Pattern::Wildcard(w) => !w.leading_wild(),
                    _ => false,
                }
        };
        let union = match &self.formula {
            Formula::Lookup(_) => true,
            Formula::Or(parts) => parts.iter().all(|f| matches!(f, Formula::Lookup(_))),
            _ => false,
        };
        self.scan == Scan::Hits && union && self.lookups.iter().all(any_field_token)
    }

    /// The same search without the token-hours table: for SQL that fits
    /// Athena's limit only without it (the hours subquery repeats the
    /// index scan's token list).
    pub fn without_hours(&self) -> Plan {
        let mut plan = Plan {
            reads_hours: false,
            ..self.clone()
        };
        plan.shape = plan.decide_shape();
        plan
    }

    /// True if the stages end in a table ([`Shape::Table`]).
    pub fn makes_table(&self) -> bool {
        matches!(self.outputs.last(), Some(Output::Table(_)))
    }

    /// The stage that makes the table: the first after the records
    /// stages (`head`, `dedup`) that may come before it; `None` when the
    /// stages keep records.
    pub fn table_stage(&self) -> Option<&StageKind> {
        if !self.makes_table() {
            return None;
        }
        self.stages
            .iter()
            .map(|s| &s.kind)
            .find(|k| !matches!(k, StageKind::Head(_) | StageKind::Dedup(_)))
    }

    /// True if a stage is a `dedup` (on records: a table's stages are
    /// [`Plan::makes_table`]).
    pub fn dedups(&self) -> bool {
        self.stages
            .iter()
            .any(|s| matches!(s.kind, StageKind::Dedup(_)))
    }

    /// What the stage `i` reads: the search's records, or the table of the
    /// one before.
    pub fn input_of(&self, i: usize) -> &Output {
        match i {
            0 => &Output::Records,
            _ => &self.outputs[i - 1],
        }
    }

    /// The [`Shape`] of this search.
    fn decide_shape(&self) -> Shape {
        if self.makes_table() {
            // Even when nothing can match: the table still has its rows
            // (a count of 0, every bucket of a timechart).
            return Shape::Table;
        }
        if self.scan == Scan::Nothing {
            return Shape::Nothing;
        }
        if self.dedups() {
            // One statement: the dedup over every match, then the
            // messages of those it keeps ([`crate::sql::stages::records`]).
            return Shape::One;
        }
        let hours = self.partitions.as_ref().map_or(0, |p| p.count);
        match (self.fetches_by_keys(), self.reads_hours) {
            (false, _) => Shape::One,
            (true, true) => Shape::WalkListed {
                named: self.hours_name_records(),
            },
            (true, false) if hours <= 1 => Shape::FindThenFetch,
            (true, false) => Shape::WalkWindow {
                hours,
                first: FIRST_BATCH.min(usize::try_from(hours).unwrap_or(usize::MAX)),
            },
        }
    }

    /// True if some lookup must read every index row of the window (a
    /// leading wildcard or a regex): worth a warning.
    pub fn scans_all_tokens(&self) -> bool {
        self.lookups.iter().any(|l| match &l.pattern {
            Pattern::Wildcard(w) => w.leading_wild(),
            Pattern::Regex(_) => true,
            _ => false,
        })
    }
}

/// What the planner needs besides the optimized query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// `None`: no limit.
    pub limit: Option<u64>,
    /// [`Plan::max_keys`].
    pub max_keys: u64,
    /// The store keeps the token-hours table.
    pub hours_table: bool,
}

/// Builds the plan of a search and its `stages` (already checked, with
/// what each returns: `outputs`).
pub fn plan(
    optimized: &Optimized,
    options: PlanOptions,
    stages: &[Stage],
    outputs: Vec<Output>,
) -> Plan {
    let PlanOptions {
        limit,
        max_keys,
        hours_table,
    } = options;
    let mut lookups = Vec::new();
    let formula = to_formula(&optimized.filter, &mut lookups);
    let scan = if optimized.window.is_none() || formula == Formula::Const(false) {
        Scan::Nothing
    } else if lookups.is_empty() {
        Scan::Messages
    } else if formula.eval3(&|_| false) == Truth::False {
        Scan::Hits
    } else {
        Scan::Window
    };
    let mut plan = Plan {
        partitions: optimized.window.as_ref().map(TimeWindow::partitions),
        window: optimized.window.clone(),
        lookups,
        formula,
        scan,
        limit,
        max_keys,
        reads_hours: false,
        shape: Shape::Nothing,
        stages: stages.to_vec(),
        outputs,
        timechart: None,
    };
    // `fields` is the table stage wherever it is (after records stages:
    // only `head` may follow it).
    let fields = stages
        .iter()
        .any(|s| matches!(s.kind, StageKind::Fields(_)));
    if plan.makes_table() && !fields {
        // A table reads every match of the window: no limit. (`fields`
        // shows records, the newest `limit` of them.)
        plan.limit = None;
        plan.timechart = stages.iter().find_map(|s| match &s.kind {
            StageKind::Timechart { span, .. } => Some(match plan.window.as_ref() {
                Some(w) => {
                    let span = span
                        .map_or_else(|| default_span(w.end_ms() - w.start_ms()), |d| d.seconds)
                        as i64
                        * 1_000;
                    Timechart {
                        span_ms: span,
                        first_ms: w.start_ms().div_euclid(span) * span,
                        last_ms: (w.end_ms() - 1).div_euclid(span) * span,
                    }
                }
                // Nothing can match, so there is no window to cut into
                // buckets: none (the statement returns no rows).
                None => Timechart::none(span.map_or(60, |d| d.seconds) as i64 * 1_000),
            }),
            _ => None,
        });
    } else {
        // `head` on records is the limit.
        for s in stages {
            if let StageKind::Head(n) = s.kind {
                plan.limit = Some(plan.limit.map_or(n, |l| l.min(n)));
            }
        }
    }
    plan.reads_hours = hours_table && plan.narrows_hours();
    plan.shape = plan.decide_shape();
    plan
}

fn to_formula(filter: &Filter, lookups: &mut Vec<Lookup>) -> Formula {
    match filter {
        Filter::Atom(Atom::Index(lookup)) => {
            let id = match lookups.iter().position(|l| l == lookup) {
                Some(id) => id,
                None => {
                    lookups.push(lookup.clone());
                    lookups.len() - 1
                }
            };
            Formula::Lookup(id)
        }
        Filter::Atom(Atom::Record(test)) => Formula::Record(test.clone()),
        Filter::And(fs) => Formula::And(fs.iter().map(|f| to_formula(f, lookups)).collect()),
        Filter::Or(fs) => Formula::Or(fs.iter().map(|f| to_formula(f, lookups)).collect()),
        Filter::Not(f) => Formula::Not(Box::new(to_formula(f, lookups))),
        Filter::Const(b) => Formula::Const(*b),
    }
}
