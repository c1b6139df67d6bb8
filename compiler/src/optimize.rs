//! [`Resolved`] → [`Optimized`]: the same meaning, cheaper to run.
//!
//! Each pass is a plain function over [`Filter`], tested on its own:
//!
//! | pass | does |
//! |---|---|
//! | [`push_not`] | De Morgan: `NOT` only right above atoms; `NOT NOT x` is `x` |
//! | [`flatten`] | nested `AND`/`OR` merged, constants folded, one-clause groups unwrapped |
//! | [`dedupe`] | repeated clauses removed |
//! | [`contradictions`] | `x AND NOT x` → false, `x OR NOT x` → true, disjoint `@time` ranges or two different tags in one `AND` → false |
//! | [`hoist_time`] | `@time` ranges that every match needs move into the window: fewer partitions, and the default window gives way to them |
//!
//! A filter that folds to `FALSE`, or a window that becomes empty, means the
//! query is answered without running anything.

use chrono::DateTime;

use crate::resolve::{Atom, Filter, RecordTest, Resolved};
use crate::window::TimeWindow;

/// The optimized search: a filter in negation normal form and the window
/// every match lies in (`None`: no record can match).
#[derive(Debug, Clone, PartialEq)]
pub struct Optimized {
    pub window: Option<TimeWindow>,
    pub filter: Filter,
}

/// Runs every pass, to a fixed point (two rounds always suffice: the passes
/// only shrink the tree).
pub fn optimize(resolved: &Resolved) -> Optimized {
    let mut f = normalize(resolved.filter.clone());
    f = normalize(contradictions(f));
    let (f, window) = hoist_time(f, resolved.window.clone());
    let f = normalize(f);
    match window {
        Some(w) if f != Filter::Const(false) => Optimized {
            window: Some(w),
            filter: f,
        },
        _ => Optimized {
            window: None,
            filter: Filter::Const(false),
        },
    }
}

/// `push_not`, then `flatten`, then `dedupe`.
pub fn normalize(f: Filter) -> Filter {
    flatten(dedupe(flatten(push_not(f, false))))
}

/// Pushes negation down to the atoms (negation normal form).
pub fn push_not(f: Filter, negate: bool) -> Filter {
    match (f, negate) {
        (Filter::Not(inner), n) => push_not(*inner, !n),
        (Filter::And(xs), false) => {
            Filter::And(xs.into_iter().map(|x| push_not(x, false)).collect())
        }
        (Filter::Or(xs), false) => Filter::Or(xs.into_iter().map(|x| push_not(x, false)).collect()),
        (Filter::And(xs), true) => Filter::Or(xs.into_iter().map(|x| push_not(x, true)).collect()),
        (Filter::Or(xs), true) => Filter::And(xs.into_iter().map(|x| push_not(x, true)).collect()),
        (Filter::Const(b), n) => Filter::Const(b != n),
        (atom @ Filter::Atom(_), false) => atom,
        (atom @ Filter::Atom(_), true) => Filter::Not(Box::new(atom)),
    }
}

/// Merges nested `AND`s and `OR`s, folds constants, unwraps one-clause groups.
pub fn flatten(f: Filter) -> Filter {
    match f {
        Filter::And(xs) => group(xs, true),
        Filter::Or(xs) => group(xs, false),
        Filter::Not(inner) => match flatten(*inner) {
            Filter::Const(b) => Filter::Const(!b),
            Filter::Not(x) => *x,
            x => Filter::Not(Box::new(x)),
        },
        x => x,
    }
}

/// Builds an `AND` (`is_and`) or `OR` of flattened clauses.
fn group(xs: Vec<Filter>, is_and: bool) -> Filter {
    let mut out = Vec::with_capacity(xs.len());
    for x in xs {
        match flatten(x) {
            // The identity (`TRUE` in an AND) drops out; the absorbing value wins.
            Filter::Const(b) if b == is_and => {}
            Filter::Const(b) => return Filter::Const(b),
            Filter::And(inner) if is_and => out.extend(inner),
            Filter::Or(inner) if !is_and => out.extend(inner),
            x => out.push(x),
        }
    }
    match out.len() {
        0 => Filter::Const(is_and),
        1 => out.pop().expect("one clause"),
        _ if is_and => Filter::And(out),
        _ => Filter::Or(out),
    }
}

/// Removes repeated clauses of every `AND`/`OR`, keeping the first.
pub fn dedupe(f: Filter) -> Filter {
    let unique = |xs: Vec<Filter>| {
        let mut out: Vec<Filter> = Vec::with_capacity(xs.len());
        for x in xs.into_iter().map(dedupe) {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out
    };
    match f {
        Filter::And(xs) => Filter::And(unique(xs)),
        Filter::Or(xs) => Filter::Or(unique(xs)),
        Filter::Not(x) => Filter::Not(Box::new(dedupe(*x))),
        x => x,
    }
}

/// Finds clauses that cannot both hold (`AND`) or cannot both fail (`OR`).
/// Expects negation normal form.
pub fn contradictions(f: Filter) -> Filter {
    match f {
        Filter::And(xs) => {
            let xs: Vec<Filter> = xs.into_iter().map(contradictions).collect();
            if has_complement(&xs) {
                return Filter::Const(false);
            }
            // A record has one time and one tag.
            let mut time: Option<(Option<i64>, Option<i64>)> = None;
            let mut tag: Option<&str> = None;
            for x in &xs {
                match x {
                    Filter::Atom(Atom::Record(RecordTest::Time { start_ms, end_ms })) => {
                        let (s, e) = time.unwrap_or((None, None));
                        let s = max_opt(s, *start_ms);
                        let e = min_opt(e, *end_ms);
                        if let (Some(s), Some(e)) = (s, e)
                            && s >= e
                        {
                            return Filter::Const(false);
                        }
                        time = Some((s, e));
                    }
                    Filter::Atom(Atom::Record(RecordTest::Tag(t))) => {
                        if tag.is_some_and(|other| other != t) {
                            return Filter::Const(false);
                        }
                        tag = Some(t);
                    }
                    _ => {}
                }
            }
            Filter::And(xs)
        }
        Filter::Or(xs) => {
            let xs: Vec<Filter> = xs.into_iter().map(contradictions).collect();
            if has_complement(&xs) {
                return Filter::Const(true);
            }
            Filter::Or(xs)
        }
        x => x,
    }
}

fn has_complement(xs: &[Filter]) -> bool {
    xs.iter().any(|x| match x {
        Filter::Not(inner) => xs.contains(inner),
        _ => false,
    })
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Moves `@time` ranges that every match needs (top-level `AND` clauses)
/// into the window. A window the user set is intersected; the default window
/// gives way to the ends the query states. Returns `None` for the window
/// when nothing can match.
pub fn hoist_time(f: Filter, window: TimeWindow) -> (Filter, Option<TimeWindow>) {
    let clauses = match f {
        Filter::And(xs) => xs,
        x => vec![x],
    };
    let mut start: Option<i64> = None;
    let mut end: Option<i64> = None;
    let mut rest = Vec::new();
    for c in clauses {
        match c {
            Filter::Atom(Atom::Record(RecordTest::Time { start_ms, end_ms })) => {
                start = max_opt(start, start_ms);
                end = min_opt(end, end_ms);
            }
            c => rest.push(c),
        }
    }
    let filter = Filter::And(rest);
    if start.is_none() && end.is_none() {
        return (filter, Some(window));
    }
    let (mut s, mut e) = (window.start_ms(), window.end_ms());
    let mut origin = window.origin.clone();
    if window.is_default {
        s = start.unwrap_or(s);
        e = end.unwrap_or(e);
        origin = "from @time in the query (default window for open ends)".to_string();
    } else {
        s = s.max(start.unwrap_or(i64::MIN));
        e = e.min(end.unwrap_or(i64::MAX));
        origin = format!("{origin}, narrowed by @time in the query");
    }
    if s >= e {
        return (Filter::Const(false), None);
    }
    let (Some(start), Some(end)) = (
        DateTime::from_timestamp_millis(s),
        DateTime::from_timestamp_millis(e),
    ) else {
        return (Filter::Const(false), None);
    };
    (
        filter,
        Some(TimeWindow {
            start,
            end,
            origin,
            is_default: false,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{Lookup, Pattern};

    fn a(t: &str) -> Filter {
        Filter::Atom(Atom::Index(Lookup {
            field: None,
            pattern: Pattern::Tokens(vec![t.to_string()]),
        }))
    }
    fn not(f: Filter) -> Filter {
        Filter::Not(Box::new(f))
    }
    fn time(s: Option<i64>, e: Option<i64>) -> Filter {
        Filter::Atom(Atom::Record(RecordTest::Time {
            start_ms: s,
            end_ms: e,
        }))
    }
    fn window(s: i64, e: i64, is_default: bool) -> TimeWindow {
        TimeWindow {
            start: DateTime::from_timestamp_millis(s).unwrap(),
            end: DateTime::from_timestamp_millis(e).unwrap(),
            origin: "test".into(),
            is_default,
        }
    }

    #[test]
    fn de_morgan() {
        let f = not(Filter::And(vec![a("x"), not(a("y"))]));
        assert_eq!(normalize(f), Filter::Or(vec![not(a("x")), a("y")]));
        assert_eq!(normalize(not(not(not(a("x"))))), not(a("x")));
        assert_eq!(normalize(not(Filter::Const(true))), Filter::Const(false));
    }

    #[test]
    fn flattening_and_constants() {
        let f = Filter::And(vec![
            a("x"),
            Filter::And(vec![a("y"), Filter::Const(true)]),
            Filter::Or(vec![a("z")]),
        ]);
        assert_eq!(normalize(f), Filter::And(vec![a("x"), a("y"), a("z")]));
        assert_eq!(
            normalize(Filter::Or(vec![a("x"), Filter::Const(true)])),
            Filter::Const(true)
        );
        assert_eq!(
            normalize(Filter::And(vec![a("x"), Filter::Const(false)])),
            Filter::Const(false)
        );
        assert_eq!(normalize(Filter::And(vec![])), Filter::Const(true));
        assert_eq!(normalize(Filter::Or(vec![])), Filter::Const(false));
    }

    #[test]
    fn duplicates_go() {
        let f = Filter::Or(vec![a("x"), a("y"), a("x")]);
        assert_eq!(normalize(f), Filter::Or(vec![a("x"), a("y")]));
        let f = Filter::And(vec![a("x"), Filter::And(vec![a("x")])]);
        assert_eq!(normalize(f), a("x"));
    }

    #[test]
    fn contradictions_are_constants() {
        let c = |f| normalize(contradictions(normalize(f)));
        assert_eq!(
            c(Filter::And(vec![a("x"), not(a("x"))])),
            Filter::Const(false)
        );
        assert_eq!(
            c(Filter::Or(vec![a("x"), not(a("x"))])),
            Filter::Const(true)
        );
        assert_eq!(
            c(Filter::And(vec![
                time(Some(0), Some(10)),
                time(Some(10), None)
            ])),
            Filter::Const(false)
        );
        let tag = |t: &str| Filter::Atom(Atom::Record(RecordTest::Tag(t.into())));
        assert_eq!(
            c(Filter::And(vec![tag("a"), tag("b")])),
            Filter::Const(false)
        );
        assert_eq!(
            c(Filter::Or(vec![tag("a"), tag("b")])),
            Filter::Or(vec![tag("a"), tag("b")])
        );
        // Nested: the inner AND is false, so the OR keeps only y.
        let f = Filter::Or(vec![Filter::And(vec![a("x"), not(a("x"))]), a("y")]);
        assert_eq!(c(f), a("y"));
        // Two ranges on a field are not a contradiction (arrays hold several values).
        let f = Filter::And(vec![a("x"), a("y")]);
        assert_eq!(c(f.clone()), f);
    }

    #[test]
    fn time_moves_into_the_window() {
        let (f, w) = hoist_time(
            Filter::And(vec![a("x"), time(Some(100), None)]),
            window(0, 1000, false),
        );
        assert_eq!(normalize(f), a("x"));
        let w = w.unwrap();
        assert_eq!((w.start_ms(), w.end_ms()), (100, 1000));
        // The default window gives way to the query's ends.
        let (_, w) = hoist_time(time(Some(5000), Some(6000)), window(0, 1000, true));
        let w = w.unwrap();
        assert_eq!((w.start_ms(), w.end_ms()), (5000, 6000));
        // A set window intersects: disjoint means nothing to run.
        let (_, w) = hoist_time(time(Some(5000), Some(6000)), window(0, 1000, false));
        assert!(w.is_none());
        // Under OR, time stays a test on the record.
        let f = Filter::Or(vec![a("x"), time(Some(100), None)]);
        let (g, w) = hoist_time(f.clone(), window(0, 1000, false));
        assert_eq!(normalize(g), f);
        assert_eq!(w.unwrap().start_ms(), 0);
    }
}
