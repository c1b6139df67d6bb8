//! A compiled search as the statements that run it, one after another.
//!
//! A search with tests on the record's own columns, or one reading every
//! message of its window, is one statement. A search whose index alone
//! decides the matches, limit or not, runs as several (docs/engines.md,
//! "Find, then fetch"):
//!
//! - **hours** (only when the token-hours table can narrow the window,
//!   [`crate::plan::Shape::WalkListed`]): the hours that hold the lookups'
//!   tokens;
//! - **find**, once or more: the newest keys in the index. The finds walk
//!   hours newest first, a batch at a time ([`next_batch`]), and stop once
//!   the limit is reached: those the hours statement listed (the newest
//!   hundred records of a term in 500 hours need about a hundred of them),
//!   or else every hour of the window ([`crate::plan::Shape::WalkWindow`]:
//!   a CIDR block in a thousand records an hour needs the newest hour);
//! - **fetch**: the messages of exactly the keys found ([`crate::fetch`]);
//!   or, when the finds return more keys than a fetch names (an export, or
//!   a limit past [`crate::plan::Plan::max_keys`]), the **join** instead:
//!   the search as one statement ([`crate::Compiled::join`]).
//!
//! This module decides what runs next from what the last statement
//! returned; it runs nothing (no I/O in the compiler). The engine's side is
//! a loop: run the statement [`Search::next`] gives, read its rows as the
//! [`Rows`] say, hand them back as an [`Answer`], until [`Next::Done`] or
//! a statement whose rows are the records.

use crate::Compiled;
use crate::fetch;
use crate::plan::{FIRST_BATCH, Key, Rows, Shape};
use crate::sql::{Hours, render_find};
use crate::window::{TimeWindow, partition_of};

/// Most hours one find of listed hours names: a list this long is 17 kB
/// of SQL, and Trino turns longer `IN` lists into a min..max range for
/// pruning (`hive.domain-compaction-threshold`), which would open every
/// hour between. A batch of the window's hours is a range, of any length.
pub const MAX_BATCH: usize = 1_000;

/// Room a find's list of [`MAX_BATCH`] hours takes in its SQL: each hour is
/// `'YYYY-MM-DD-HH', `, 17 bytes; 19 leaves a margin.
pub const MAX_BATCH_LIST_BYTES: usize = MAX_BATCH * 19;

/// One statement to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub rows: Rows,
}

/// A row of an hours statement: an hour, and the record the token-hours
/// table names for it when it names one (`(object, seq)`; only in a
/// search it can answer, [`crate::plan::Plan::hours_name_records`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub dt: String,
    pub record: Option<(String, i64)>,
}

impl Listed {
    /// An hour's row of an hours statement that asks for records
    /// ([`crate::plan::HOUR_LAST_OBJECT`] and the others): `first` and
    /// `last` are the least and greatest `(object, seq)` the hour's
    /// token-hours rows name, `unnamed` how many name none. The hour's
    /// match is named only when every row names the same record: two
    /// tokens of an OR in one record name it twice, while a row naming
    /// none (several records of an object hold the token) or two records
    /// leave the hour to the index.
    pub fn from_rows(
        dt: String,
        first: Option<(&str, i64)>,
        last: Option<(&str, i64)>,
        unnamed: i64,
    ) -> Listed {
        let record = match (first, last) {
            (Some(a), Some(b)) if a == b && unnamed == 0 => Some((a.0.to_string(), a.1)),
            _ => None,
        };
        Listed { dt, record }
    }
}

/// What the last statement returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Nothing ran yet.
    Start,
    Hours(Vec<Listed>),
    Keys(Vec<Key>),
    /// A fetch statement ([`Rows::SomeRecords`]) ran; its records stay
    /// with the runner, which merges them.
    Fetched,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Run(Statement),
    /// Nothing more to run, and nothing matched.
    Done,
}

/// The statements of one search, decided one at a time.
#[derive(Debug)]
pub struct Search<'a> {
    compiled: &'a Compiled,
    state: State,
}

#[derive(Debug)]
enum State {
    Start,
    /// The first statement finds keys; the fetch follows.
    Finding,
    /// The first statement lists the hours a walk goes through.
    Listing,
    /// Walking `hours` (newest first); `read` of them searched so far,
    /// and a find running over the next `batch`.
    Walking {
        hours: Walked,
        read: usize,
        batch: usize,
        keys: Vec<Key>,
    },
    /// Fetching: the statements left, in order.
    Fetching(Vec<String>),
    Over,
}

impl<'a> Search<'a> {
    pub fn new(compiled: &'a Compiled) -> Self {
        Search {
            compiled,
            state: State::Start,
        }
    }

    /// The statement to run after `answer`, the rows of the last one.
    ///
    /// # Panics
    /// When `answer` is not what the last statement's [`Rows`] said it
    /// would be: the caller's bug.
    pub fn next(&mut self, answer: Answer) -> Next {
        let c = self.compiled;
        match (std::mem::replace(&mut self.state, State::Over), answer) {
            (State::Start, Answer::Start) => {
                let (state, rows) = match c.plan.shape {
                    Shape::Nothing => return Next::Done,
                    Shape::WalkListed { .. } => (State::Listing, Rows::Hours),
                    Shape::WalkWindow { hours, first } => {
                        // The first statement is the find of the first
                        // batch (`sql::render`).
                        let state = State::Walking {
                            hours: Walked::Window { count: hours },
                            read: 0,
                            batch: first,
                            keys: Vec::new(),
                        };
                        (state, Rows::Keys)
                    }
                    Shape::FindThenFetch => (State::Finding, Rows::Keys),
                    Shape::One => (State::Over, Rows::Records),
                    Shape::Table => (State::Over, Rows::Table),
                };
                self.state = state;
                Next::Run(Statement {
                    sql: c.sql.clone(),
                    rows,
                })
            }
            (State::Finding, Answer::Keys(keys)) => self.fetch_or_join(&keys),
            (State::Listing, Answer::Hours(rows)) => {
                let hours = Walked::Listed(hours(c, rows));
                self.walk(hours, 0, Vec::new())
            }
            (
                State::Walking {
                    hours,
                    read,
                    batch,
                    mut keys,
                },
                Answer::Keys(found),
            ) => {
                // The find read every hour of the batch: its keys are
                // the batch's newest, at most the number missing.
                keys.extend(found);
                self.walk(hours, read + batch, keys)
            }
            (State::Fetching(left), Answer::Fetched) => self.fetch_next(left),
            (state, answer) => panic!("search step {state:?} cannot take {answer:?}"),
        }
    }

    /// The next find of a walk, after the `read` newest `hours`; or the
    /// fetch (or the join), once the keys wanted are found or the hours
    /// run out.
    ///
    /// An hour the token-hours table answers (its one record named) needs
    /// no find: those at the head of what is left are taken as they are,
    /// one record each, so the keys never pass the limit. A find reads
    /// every hour of its batch, answered or not, and returns its newest
    /// keys, at most the number missing.
    fn walk(&mut self, hours: Walked, mut read: usize, mut keys: Vec<Key>) -> Next {
        let limit = self.compiled.plan.keys_wanted();
        while (keys.len() as u64) < limit {
            match hours.record(read) {
                Some(record) => keys.push(record.clone()),
                None => break,
            }
            read += 1;
        }
        let found = keys.len() as u64;
        if found >= limit || read >= hours.len() {
            return self.fetch_or_join(&keys);
        }
        let missing = limit - found;
        let most = match hours {
            Walked::Listed(_) => MAX_BATCH,
            Walked::Window { .. } => usize::MAX,
        };
        let batch = next_batch(hours.len() - read, read, found, limit, most);
        let records = format!(
            "the newest {missing} record{}",
            if missing == 1 { "" } else { "s" }
        );
        let (plan, tables) = (&self.compiled.plan, &self.compiled.tables);
        let sql = match &hours {
            Walked::Listed(all) => {
                let listed: Vec<String> = all[read..read + batch]
                    .iter()
                    .map(|h| h.dt.clone())
                    .collect();
                let comment = format!(
                    "find: {records} in {batch} of the {} hours listed ({} .. {})",
                    all.len(),
                    listed[0],
                    listed[batch - 1],
                );
                render_find(plan, tables, Hours::Listed(&listed), missing, &comment)
            }
            Walked::Window { count } => {
                let Some(w) = &plan.window else {
                    unreachable!("a plan that runs has a window");
                };
                let (newest, oldest) = w.batch_back(read as u64, batch as u64);
                let comment = format!(
                    "find: {records} in {batch} of the window's {count} hours ({newest} .. {oldest})"
                );
                let between = Hours::Between {
                    oldest: &oldest,
                    newest: &newest,
                };
                render_find(plan, tables, between, missing, &comment)
            }
        };
        self.state = State::Walking {
            hours,
            read,
            batch,
            keys,
        };
        Next::Run(Statement {
            sql,
            rows: Rows::Keys,
        })
    }

    /// The fetch of `keys`; or, when they are more than a fetch names
    /// ([`crate::plan::Plan::max_keys`]: the finds looked for one more),
    /// the join ([`Compiled::join`]).
    fn fetch_or_join(&mut self, keys: &[Key]) -> Next {
        if keys.len() as u64 > self.compiled.plan.max_keys {
            let sql = self
                .compiled
                .join
                .clone()
                .expect("a search finding more keys than it fetches has its join");
            self.state = State::Over;
            return Next::Run(Statement {
                sql,
                rows: Rows::Records,
            });
        }
        let mut statements = fetch::statements(&self.compiled.tables, keys);
        statements.reverse();
        self.fetch_next(statements)
    }

    /// The next fetch statement of `left` (in reverse order).
    fn fetch_next(&mut self, mut left: Vec<String>) -> Next {
        let Some(sql) = left.pop() else {
            self.state = State::Over;
            return Next::Done;
        };
        let rows = if left.is_empty() {
            self.state = State::Over;
            Rows::Records
        } else {
            self.state = State::Fetching(left);
            Rows::SomeRecords
        };
        Next::Run(Statement { sql, rows })
    }
}

/// The hours a walk goes through, newest first.
#[derive(Debug)]
enum Walked {
    /// Those an hours statement listed.
    Listed(Vec<Hour>),
    /// Every hour of the window, `count` of them back from its last
    /// ([`TimeWindow::hour_back`]), none answered: a month is 720 hours,
    /// but a window from 1970 would be half a million, so they are
    /// counted, not listed.
    Window { count: u64 },
}

impl Walked {
    fn len(&self) -> usize {
        match self {
            Walked::Listed(hours) => hours.len(),
            Walked::Window { count } => usize::try_from(*count).unwrap_or(usize::MAX),
        }
    }

    /// The record the token-hours table names for the `i`th hour.
    fn record(&self, i: usize) -> Option<&Key> {
        match self {
            Walked::Listed(hours) => hours.get(i).and_then(|h| h.record.as_ref()),
            Walked::Window { .. } => None,
        }
    }
}

/// An hour of a walk, and the one record matching in it when the
/// token-hours table answers it.
#[derive(Debug)]
struct Hour {
    dt: String,
    record: Option<Key>,
}

/// The hours an hours statement listed, newest first and each once,
/// whatever order the engine returned (the walk's exactness rests on it).
///
/// An hour's record is known when the search can take it from the table
/// ([`crate::plan::Plan::hours_name_records`]), the hour's one row names
/// it (the statement counts the hour's rows: several tokens, or several
/// objects' files before compaction, name none), and the window holds
/// the whole hour (the table has no times to cut one).
fn hours(compiled: &Compiled, mut rows: Vec<Listed>) -> Vec<Hour> {
    rows.sort_unstable_by(|a, b| b.dt.cmp(&a.dt));
    let answers = matches!(compiled.plan.shape, Shape::WalkListed { named: true });
    let mut hours: Vec<Hour> = Vec::new();
    for row in rows {
        match hours.last_mut() {
            // Listed twice: whatever each row says, not one record.
            Some(hour) if hour.dt == row.dt => hour.record = None,
            _ => {
                let whole = answers
                    && compiled
                        .plan
                        .window
                        .as_ref()
                        .is_some_and(|w| holds_hour(w, &row.dt));
                let record = row.record.filter(|_| whole).map(|(object, seq)| Key {
                    dt: row.dt.clone(),
                    object,
                    seq,
                });
                hours.push(Hour { dt: row.dt, record });
            }
        }
    }
    hours
}

/// True if `window` holds all of hour `dt`: after the hour the window
/// starts in (or that very hour, when it starts on the hour), and before
/// the hour it ends in (its end is exclusive). `dt` values compare as
/// times (fixed width).
fn holds_hour(window: &TimeWindow, dt: &str) -> bool {
    let first = partition_of(window.start);
    let on_the_hour = window.start_ms().rem_euclid(3_600_000) == 0;
    (dt > first.as_str() || (on_the_hour && dt == first)) && dt < partition_of(window.end).as_str()
}

/// The statements after the first, with placeholders where what earlier
/// statements return goes: `--explain` runs nothing, so has none of it.
pub fn templates(compiled: &Compiled) -> Vec<String> {
    if !compiled.runs() {
        return Vec::new();
    }
    let (plan, tables) = (&compiled.plan, &compiled.tables);
    let (hours, batches) = match plan.shape {
        Shape::WalkListed { .. } => (Hours::Placeholder, "batch of hours, newest first"),
        Shape::WalkWindow { .. } => (Hours::BetweenPlaceholder, "batch of older hours"),
        Shape::FindThenFetch => return vec![crate::sql::fetch_template(tables)],
        Shape::One | Shape::Nothing | Shape::Table => return Vec::new(),
    };
    let until = if plan.may_join() {
        "until every match is found or one more than a fetch names"
    } else {
        "until the limit is reached"
    };
    let comment = format!("find, once per {batches}, {until}");
    vec![
        render_find(plan, tables, hours, plan.keys_wanted(), &comment),
        crate::sql::fetch_template(tables),
    ]
}

/// How many of the `left` remaining hours the next find opens, after
/// `read` hours yielded `found` of the `limit` records; `most` at most.
///
/// The first find opens [`FIRST_BATCH`]. Then the rate found so far
/// predicts how many more hours hold the rest, with a quarter more for
/// luck: a term in one record an hour needs ~1.25 × the missing count
/// more. Nothing found yet (an `AND` whose tokens share hours but not
/// records) grows the batch fourfold. Never fewer hours than were read
/// (so a walk that keeps finding too little still doubles each step: a
/// few statements, not one per hour), never more than `most`
/// ([`MAX_BATCH`] for listed hours).
pub fn next_batch(left: usize, read: usize, found: u64, limit: u64, most: usize) -> usize {
    let want = if read == 0 {
        FIRST_BATCH
    } else if found == 0 {
        read.saturating_mul(4)
    } else {
        let missing = limit.saturating_sub(found) as f64;
        let per_hour = found as f64 / read as f64;
        ((missing / per_hour * 1.25).ceil() as usize).max(read)
    };
    want.clamp(1, most.max(1)).min(left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompileOptions, WindowSpec, compile};
    use chrono::{DateTime, Utc};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// 30 days ending 2024-05-01T00:00Z, with `limit` and the token-hours
    /// table as given.
    fn compiled(query: &str, limit: Option<u64>, hours_table: bool) -> Compiled {
        compiled_keys(query, limit, hours_table, crate::plan::MAX_KEYS)
    }

    fn run(next: Next, rows: Rows) -> String {
        match next {
            Next::Run(s) => {
                assert_eq!(s.rows, rows, "{}", s.sql);
                s.sql
            }
            Next::Done => panic!("done, expected a {rows:?} statement"),
        }
    }

    fn key(dt: &str, seq: i64) -> Key {
        Key {
            dt: dt.into(),
            object: "o".into(),
            seq,
        }
    }

    /// The newest-first hours of April 2024: 30 days of 24.
    fn april() -> Vec<String> {
        (0..720)
            .map(|i| format!("2024-04-{:02}-{:02}", 30 - i / 24, 23 - i % 24))
            .collect()
    }

    /// Hours listed with no record named.
    fn unknown(hours: &[String]) -> Vec<Listed> {
        hours
            .iter()
            .map(|dt| Listed {
                dt: dt.clone(),
                record: None,
            })
            .collect()
    }

    /// An hour listed with the record `(o, seq)`.
    fn named(dt: &str, seq: i64) -> Listed {
        Listed {
            dt: dt.into(),
            record: Some(("o".into(), seq)),
        }
    }

    /// [`compiled`], with at most `max_keys` keys fetched.
    fn compiled_keys(
        query: &str,
        limit: Option<u64>,
        hours_table: bool,
        max_keys: u64,
    ) -> Compiled {
        let options = CompileOptions {
            window: WindowSpec::Range {
                from: t("2024-04-01T00:00:00Z"),
                to: Some(t("2024-05-01T00:00:00Z")),
            },
            limit,
            hours_table,
            max_keys,
            ..CompileOptions::at(t("2024-05-01T00:00:00Z"))
        };
        compile(query, &options).unwrap()
    }

    /// An export walks like a limited search, looking for one key more
    /// than a fetch names: finding them all, it fetches them; finding one
    /// more, it runs the join instead.
    #[test]
    fn an_export_fetches_what_it_finds_or_joins_past_max_keys() {
        let c = compiled_keys("alice", None, true, 3);
        assert!(c.plan.may_join());
        let join = c.join.clone().unwrap();
        assert!(
            join.starts_with("-- the finds returned more than 3 keys"),
            "{join}"
        );
        assert!(join.contains("JOIN \"hits\" AS h"), "{join}");
        assert!(!join.contains("LIMIT"), "{join}");
        assert!(
            c.sql
                .contains("until every match is found or more than 3 are"),
            "{}",
            c.sql
        );
        assert_eq!(templates(&c).len(), 2);
        // Four found: the join.
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Hours);
        let hours = april();
        let first = run(s.next(Answer::Hours(unknown(&hours))), Rows::Keys);
        assert!(first.contains("LIMIT 4\n"), "{first}");
        let second = run(
            s.next(Answer::Keys(vec![key(&hours[0], 1), key(&hours[0], 2)])),
            Rows::Keys,
        );
        assert!(second.contains("LIMIT 2\n"), "{second}");
        let found = vec![key(&hours[1], 1), key(&hours[2], 1)];
        assert_eq!(run(s.next(Answer::Keys(found)), Rows::Records), join);
        // Three found when the hours run out: their fetch.
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Hours);
        run(s.next(Answer::Hours(unknown(&hours[..2]))), Rows::Keys);
        run(
            s.next(Answer::Keys(vec![key(&hours[0], 1), key(&hours[0], 2)])),
            Rows::Keys,
        );
        let fetch = run(s.next(Answer::Keys(vec![key(&hours[1], 5)])), Rows::Records);
        assert!(fetch.contains("m.\"seq\" IN (1, 2)"), "{fetch}");
        assert!(fetch.contains("m.\"seq\" = 5"), "{fetch}");
        // Hours the table answers count too: four of them are the join.
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Hours);
        let named: Vec<Listed> = hours.iter().map(|h| named(h, 1)).collect();
        assert_eq!(run(s.next(Answer::Hours(named)), Rows::Records), join);
        // Without the token-hours table the finds walk the window's hours,
        // looking for 4 keys: four in the newest hour are the join.
        let c = compiled_keys("alice", None, false, 3);
        let mut s = c.search();
        assert!(c.sql.contains("LIMIT 4\n"), "{}", c.sql);
        assert!(
            c.sql
                .contains("in older hours, a batch at a time, until every match is found or more than 3 are; 3."),
            "{}",
            c.sql
        );
        assert_eq!(run(s.next(Answer::Start), Rows::Keys), c.sql);
        let four: Vec<Key> = (0..4).map(|i| key(&hours[0], i)).collect();
        assert_eq!(
            run(s.next(Answer::Keys(four.clone())), Rows::Records),
            c.join.clone().unwrap()
        );
        // Three: the walk looks for one more in older hours until they run
        // out, then fetches the three.
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Keys);
        let second = run(s.next(Answer::Keys(four[..3].to_vec())), Rows::Keys);
        assert!(second.contains("LIMIT 1\n"), "{second}");
        let fetch = loop {
            match s.next(Answer::Keys(Vec::new())) {
                Next::Run(st) if st.rows == Rows::Keys => {}
                next => break run(next, Rows::Records),
            }
        };
        assert!(fetch.contains("m.\"seq\" IN (0, 1, 2)"), "{fetch}");
    }

    /// A limit past `max_keys` finds one key more than a fetch names too;
    /// its join keeps the limit in the index scan. A limit within it
    /// never joins; nor does a search the index does not decide alone,
    /// which is one statement.
    #[test]
    fn a_search_joins_only_when_its_keys_may_pass_max_keys() {
        let c = compiled_keys("alice", Some(10), true, 3);
        assert!(c.plan.may_join());
        assert_eq!(c.plan.keys_wanted(), 4);
        let join = c.join.clone().unwrap();
        assert!(join.contains("    LIMIT 10\n"), "{join}");
        assert!(join.ends_with("LIMIT 10"), "{join}");
        let c = compiled_keys("alice", Some(3), true, 3);
        assert!(!c.plan.may_join());
        assert_eq!(c.join, None);
        assert!(c.sql.contains("until the limit is reached"), "{}", c.sql);
        for query in ["alice AND tag:json", "NOT alice", "tag:json"] {
            let c = compiled_keys(query, None, true, 3);
            assert!(!c.plan.fetches_by_keys(), "{query}");
            assert_eq!(c.join, None, "{query}");
            let mut s = c.search();
            assert_eq!(run(s.next(Answer::Start), Rows::Records), c.sql);
            assert!(templates(&c).is_empty(), "{query}");
        }
    }

    /// A window of one hour has nothing to walk: one find, then the fetch.
    #[test]
    fn one_hour_is_a_find_then_a_fetch() {
        let options = CompileOptions {
            window: WindowSpec::Range {
                from: t("2024-04-30T10:00:00Z"),
                to: Some(t("2024-04-30T11:00:00Z")),
            },
            ..CompileOptions::at(t("2024-05-01T00:00:00Z"))
        };
        let c = compile("alice", &options).unwrap();
        assert_eq!(c.plan.shape, Shape::FindThenFetch);
        let mut s = c.search();
        assert_eq!(run(s.next(Answer::Start), Rows::Keys), c.sql);
        assert!(!c.sql.contains("token_hours"), "{}", c.sql);
        let fetch = run(
            s.next(Answer::Keys(vec![key("2024-04-30-10", 7)])),
            Rows::Records,
        );
        assert!(fetch.contains("m.\"dt\" IN ('2024-04-30-10')"), "{fetch}");
        assert!(
            fetch.contains("(m.\"object\" = 'o' AND m.\"seq\" = 7)"),
            "{fetch}"
        );
        // Nothing found: nothing fetched.
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Keys);
        assert_eq!(s.next(Answer::Keys(Vec::new())), Next::Done);
        assert_eq!(templates(&c).len(), 1);
    }

    /// Without the token-hours table, or for a lookup it cannot narrow (a
    /// CIDR block), the finds walk every hour of the window, newest first:
    /// the first find, over the newest hour, is the search's first
    /// statement; each later one names its batch as a range of hours.
    #[test]
    fn a_walk_over_the_window_opens_its_newest_hours_first() {
        let hours = april();
        let range = |oldest: &str, newest: &str| {
            format!("\n      AND \"dt\" >= '{oldest}' AND \"dt\" <= '{newest}'\n")
        };
        for (query, table) in [("alice", false), ("sourceIPAddress:10.0.0.0/8", true)] {
            let c = compiled(query, Some(100), table);
            assert!(matches!(c.plan.shape, Shape::WalkWindow { .. }), "{query}");
            let mut s = c.search();
            let first = run(s.next(Answer::Start), Rows::Keys);
            assert_eq!(first, c.sql);
            assert!(first.contains(&range(&hours[0], &hours[0])), "{first}");
            assert!(first.contains("LIMIT 100\n"), "{first}");
            assert!(!first.contains("token_hours"), "{first}");
            // One found in the newest hour: the 99 missing need ~124 more.
            let second = run(s.next(Answer::Keys(vec![key(&hours[0], 1)])), Rows::Keys);
            assert!(
                second.starts_with(&format!(
                    "-- find: the newest 99 records in 124 of the window's 720 hours ({} .. {})\n",
                    hours[1], hours[124]
                )),
                "{second}"
            );
            assert!(second.contains(&range(&hours[124], &hours[1])), "{second}");
            assert!(second.contains("LIMIT 99\n"), "{second}");
            // Nothing more: the batches grow until the window's first hour
            // is read (a handful of finds, not one per hour), then the one
            // key found is fetched.
            let (mut finds, mut last) = (2, second);
            let fetch = loop {
                match s.next(Answer::Keys(Vec::new())) {
                    Next::Run(st) if st.rows == Rows::Keys => {
                        finds += 1;
                        last = st.sql;
                    }
                    next => break run(next, Rows::Records),
                }
            };
            assert!(finds <= 4, "{finds} finds");
            assert!(last.contains("AND \"dt\" >= '2024-04-01-00' AND"), "{last}");
            assert!(
                fetch.contains(&format!("m.\"dt\" IN ('{}')", hours[0])),
                "{fetch}"
            );
            // Nothing found in the whole window: nothing fetched.
            let mut s = c.search();
            run(s.next(Answer::Start), Rows::Keys);
            let mut next = s.next(Answer::Keys(Vec::new()));
            while let Next::Run(st) = next {
                assert_eq!(st.rows, Rows::Keys, "{}", st.sql);
                next = s.next(Answer::Keys(Vec::new()));
            }
            let templates = templates(&c);
            assert_eq!(templates.len(), 2);
            assert!(
                templates[0].contains("AND \"dt\" >= <the batch's oldest hour>"),
                "{}",
                templates[0]
            );
        }
    }

    /// A term in one record an hour: the first find opens the newest hour,
    /// the second the ~124 next ones and asks for the 99 still missing,
    /// then the fetch names every key found.
    #[test]
    fn a_walk_opens_the_newest_hours_until_the_limit_is_reached() {
        let c = compiled("alice", Some(100), true);
        let mut s = c.search();
        assert_eq!(run(s.next(Answer::Start), Rows::Hours), c.sql);
        assert!(c.sql.contains("ORDER BY \"dt\" DESC"), "{}", c.sql);
        let hours = april();
        let first = run(s.next(Answer::Hours(unknown(&hours))), Rows::Keys);
        assert!(
            first.contains("AND \"dt\" IN ('2024-04-30-23')\n"),
            "{first}"
        );
        assert!(first.contains("LIMIT 100\n"), "{first}");
        assert!(!first.contains("token_hours"), "{first}");
        let second = run(s.next(Answer::Keys(vec![key(&hours[0], 1)])), Rows::Keys);
        assert!(second.contains("LIMIT 99\n"), "{second}");
        let listed = format!("IN ('{}', ", hours[1]);
        assert!(second.contains(&listed), "{second}");
        assert!(second.contains(&format!("'{}')", hours[124])), "{second}");
        assert!(!second.contains(&format!("'{}'", hours[125])), "{second}");
        // 99 more: the limit is reached, the fetch follows.
        let found: Vec<Key> = (0..99).map(|i| key(&hours[1 + i], i as i64)).collect();
        let fetch = run(s.next(Answer::Keys(found)), Rows::Records);
        // One condition per hour (each key here is in an hour of its own).
        assert_eq!(
            fetch.matches("(m.\"object\" = 'o' AND ").count(),
            100,
            "{fetch}"
        );
        assert!(fetch.contains(&format!("'{}'", hours[0])), "{fetch}");
        assert_eq!(templates(&c).len(), 2);
    }

    #[test]
    fn a_walk_ends_when_the_hours_run_out() {
        let c = compiled("alice AND bob", Some(100), true);
        // No hour holds the tokens: nothing else runs.
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Hours);
        assert_eq!(s.next(Answer::Hours(Vec::new())), Next::Done);
        // Hours hold the tokens but no record matches: one find per batch
        // (1 hour, then 4: nothing found grows the batch fourfold), then done.
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Hours);
        let hours = april()[..5].to_vec();
        run(s.next(Answer::Hours(unknown(&hours))), Rows::Keys);
        let second = run(s.next(Answer::Keys(Vec::new())), Rows::Keys);
        assert!(second.contains("'2024-04-30-19')"), "{second}");
        assert_eq!(s.next(Answer::Keys(Vec::new())), Next::Done);
        // Records in the last batch only: fetched.
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Hours);
        run(s.next(Answer::Hours(unknown(&april()[..2]))), Rows::Keys);
        run(s.next(Answer::Keys(Vec::new())), Rows::Keys);
        run(
            s.next(Answer::Keys(vec![key("2024-04-30-22", 3)])),
            Rows::Records,
        );
    }

    /// A term in one record an hour, each named by the token-hours
    /// table: no find at all, the fetch names the 100 newest hours'.
    #[test]
    fn hours_whose_record_the_table_names_need_no_find() {
        let c = compiled("alice", Some(100), true);
        assert!(
            c.sql.contains(
                "\nSELECT \"dt\", min(\"object\") AS \"object\", min(\"seq\") AS \"seq\", max(\"object\") AS \"last_object\", max(\"seq\") AS \"last_seq\", count(*) - count(\"seq\") AS \"unnamed\" FROM"
            ),
            "{}",
            c.sql
        );
        assert!(
            c.sql.contains("\nGROUP BY \"dt\"\nORDER BY \"dt\" DESC"),
            "{}",
            c.sql
        );
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Hours);
        let hours: Vec<Listed> = april().iter().map(|h| named(h, 1)).collect();
        let fetch = run(s.next(Answer::Hours(hours)), Rows::Records);
        assert_eq!(fetch.matches("m.\"seq\" = 1)").count(), 100, "{fetch}");
        assert!(fetch.contains("'2024-04-26-20'"), "{fetch}");
        assert!(!fetch.contains("'2024-04-26-19'"), "{fetch}");
    }

    /// Answered hours at the head are taken as they are; then a find
    /// reads a whole batch, answered hours included, for what is missing.
    #[test]
    fn a_find_reads_its_whole_batch() {
        let c = compiled("alice", Some(3), true);
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Hours);
        let rows = vec![
            named("2024-04-30-23", 1),
            Listed {
                dt: "2024-04-30-22".into(),
                record: None,
            },
            named("2024-04-30-21", 2),
            named("2024-04-30-20", 3),
            named("2024-04-30-19", 4),
        ];
        // The newest hour is answered; the next needs a find, over a
        // batch the rate predicts (1 found in 1 hour: the 2 missing need
        // 2.5 more, so 3 hours), the answered 21 and 20 included.
        let first = run(s.next(Answer::Hours(rows)), Rows::Keys);
        assert!(
            first.contains("AND \"dt\" IN ('2024-04-30-22', '2024-04-30-21', '2024-04-30-20')\n"),
            "{first}"
        );
        assert!(first.contains("LIMIT 2\n"), "{first}");
        let fetch = run(
            s.next(Answer::Keys(vec![
                key("2024-04-30-22", 9),
                key("2024-04-30-22", 8),
            ])),
            Rows::Records,
        );
        assert!(
            fetch.contains("IN ('2024-04-30-22', '2024-04-30-23')"),
            "{fetch}"
        );
        // Found nothing in it: the answered hour after it is taken.
        let mut s = c.search();
        run(s.next(Answer::Start), Rows::Hours);
        let rows = vec![
            Listed {
                dt: "2024-04-30-22".into(),
                record: None,
            },
            named("2024-04-30-21", 2),
            named("2024-04-30-20", 3),
            named("2024-04-30-19", 4),
        ];
        run(s.next(Answer::Hours(rows)), Rows::Keys);
        let fetch = run(s.next(Answer::Keys(Vec::new())), Rows::Records);
        assert!(
            fetch.contains("IN ('2024-04-30-19', '2024-04-30-20', '2024-04-30-21')"),
            "{fetch}"
        );
    }

    /// An hour listed twice (two objects' files before compaction) is
    /// not answered; nor is one the window cuts; nor any hour of a search
    /// a named record might not match.
    #[test]
    fn an_hour_is_answered_only_by_its_one_record() {
        let c = compiled("alice", Some(100), true);
        let h = hours(&c, vec![named("2024-04-30-23", 1)]);
        assert!(h[0].record.is_some());
        let h = hours(
            &c,
            vec![named("2024-04-30-23", 1), named("2024-04-30-23", 2)],
        );
        assert_eq!(h.len(), 1);
        assert!(h[0].record.is_none());
        // A window from 10:30: its first hour is cut, the next is whole.
        let options = CompileOptions {
            window: WindowSpec::Range {
                from: t("2024-04-30T10:30:00Z"),
                to: Some(t("2024-04-30T12:00:00Z")),
            },
            limit: Some(100),
            hours_table: true,
            ..CompileOptions::at(t("2024-05-01T00:00:00Z"))
        };
        let cut = compile("alice", &options).unwrap();
        let h = hours(
            &cut,
            vec![named("2024-04-30-10", 1), named("2024-04-30-11", 1)],
        );
        assert_eq!(h[0].dt, "2024-04-30-11");
        assert!(h[0].record.is_some());
        assert!(h[1].record.is_none());
        // A window to 11:30: its last hour is cut, the first is whole.
        let options = CompileOptions {
            window: WindowSpec::Range {
                from: t("2024-04-30T10:00:00Z"),
                to: Some(t("2024-04-30T11:30:00Z")),
            },
            ..options
        };
        let cut = compile("alice", &options).unwrap();
        let h = hours(
            &cut,
            vec![named("2024-04-30-10", 1), named("2024-04-30-11", 1)],
        );
        assert!(h[0].record.is_none(), "11 is cut");
        assert!(h[1].record.is_some(), "10 is whole");
        // A field, a second term, a phrase: the record may not match.
        for query in [
            "user:alice",
            "alice AND bob",
            "\"alice bob\"",
            "alice OR user:bob",
        ] {
            let c = compiled(query, Some(100), true);
            assert!(!c.plan.hours_name_records(), "{query}");
            assert!(!c.sql.contains("min(\"object\")"), "{query}: {}", c.sql);
            let h = hours(&c, vec![named("2024-04-30-23", 1)]);
            assert!(h[0].record.is_none(), "{query}");
        }
        // Any of several terms, a prefix: a record holding one is a match.
        for query in ["alice OR bob", "alice*", "alice OR bob*"] {
            let c = compiled(query, Some(100), true);
            assert!(c.plan.hours_name_records(), "{query}");
        }
    }

    /// An hour's token-hours rows name its match only when all name the
    /// same record: an OR's two tokens in one record do, a row naming
    /// none or two records do not.
    #[test]
    fn an_hour_names_its_match_only_when_all_its_rows_name_it() {
        let dt = || "2024-04-30-23".to_string();
        let a = Some(("o1", 4));
        assert_eq!(
            Listed::from_rows(dt(), a, a, 0).record,
            Some(("o1".to_string(), 4))
        );
        assert_eq!(Listed::from_rows(dt(), a, a, 1).record, None);
        assert_eq!(Listed::from_rows(dt(), a, Some(("o1", 5)), 0).record, None);
        assert_eq!(Listed::from_rows(dt(), a, Some(("o2", 4)), 0).record, None);
        assert_eq!(Listed::from_rows(dt(), None, None, 2).record, None);
        assert_eq!(Listed::from_rows(dt(), a, None, 0).record, None);
    }

    /// The hours statement lists the hours holding every token a match
    /// needs: the required terms and phrase words, not an `OR`'s or a
    /// `NOT`'s, nor a wildcard's; one lookup per token, intersected.
    #[test]
    fn hours_hold_every_token_a_match_needs() {
        let intersected = |query: &str| {
            let c = compiled(query, Some(100), true);
            (
                c.plan.required_tokens().len(),
                c.sql.matches("\nINTERSECT\n").count(),
            )
        };
        assert_eq!(intersected("alice AND user:bob"), (2, 1));
        assert_eq!(intersected("\"alice bob\" AND alice"), (2, 1));
        assert_eq!(intersected("alice AND bob AND \"carol dave\""), (4, 3));
        // A long phrase: its first 8 words narrow the hours enough.
        assert_eq!(intersected("\"a b c d e f g h i j\"").1, 7);
        for query in [
            "alice",
            "alice OR bob",
            "alice AND NOT bob",
            "alice AND (bob OR carol)",
            "alice AND bob*",
        ] {
            assert_eq!(intersected(query).1, 0, "{query}");
        }
        let c = compiled("alice AND bob", Some(100), true);
        assert!(
            c.sql.contains(
                "  AND \"token\" = 'alice'\nINTERSECT\nSELECT \"dt\" FROM \"glaux\".\"token_hours\""
            ),
            "{}",
            c.sql
        );
        assert!(
            c.sql
                .ends_with("AND \"token\" = 'bob'\nORDER BY \"dt\" DESC"),
            "{}",
            c.sql
        );
    }

    #[test]
    fn batches_start_small_and_follow_the_rate() {
        // A term in every record: the newest hour is enough.
        assert_eq!(next_batch(720, 0, 0, 100, MAX_BATCH), 1);
        // One record an hour: the missing 99 need ~124 more hours.
        assert_eq!(next_batch(719, 1, 1, 100, MAX_BATCH), 124);
        // Nothing yet: four times what was read.
        assert_eq!(next_batch(719, 1, 0, 100, MAX_BATCH), 4);
        assert_eq!(next_batch(715, 5, 0, 100, MAX_BATCH), 20);
        // Never past what is left, never more than MAX_BATCH, never 0.
        assert_eq!(next_batch(3, 1, 1, 100, MAX_BATCH), 3);
        assert_eq!(next_batch(100_000, 10, 1, 1_000, MAX_BATCH), MAX_BATCH);
        assert_eq!(next_batch(5, 10, 1_000, 100, MAX_BATCH), 5);
        // A range of the window's hours has no most but what is left.
        assert_eq!(next_batch(100_000, 10, 1, 1_000, usize::MAX), 12_488);
        assert_eq!(next_batch(100_000, 10_000, 0, 100, usize::MAX), 40_000);
        // 99 of 100 in the newest hour, then nothing: the batch still
        // doubles, so 720 hours take ~10 finds, not one per hour.
        assert_eq!(next_batch(719, 1, 99, 100, MAX_BATCH), 1);
        assert_eq!(next_batch(718, 2, 99, 100, MAX_BATCH), 2);
        let (mut read, mut finds) = (1, 1);
        while read < 720 {
            read += next_batch(720 - read, read, 99, 100, MAX_BATCH);
            finds += 1;
        }
        assert!(finds <= 11, "{finds} finds");
    }
}
