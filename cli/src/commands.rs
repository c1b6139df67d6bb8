//! The REPL's backslash commands: a [`Command`] enum parsed from a line, and
//! the help generated from one table, so a command cannot exist without
//! its help line (a test parses every usage in the table).

use std::path::PathBuf;

/// A backslash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help(Option<String>),
    Quit,
    Explain(String),
    Since(String),
    From(String),
    To(String),
    Window,
    WindowReset,
    Limit(String),
    Format(String),
    Sql(Option<bool>),
    Timing(Option<bool>),
    Engine(Option<String>),
    Fields(Option<String>),
    /// `\summary [FIELD…]`: the fields named, or every field.
    Summary(Vec<String>),
    Save(String),
    Run(String),
    Saved,
    Jq(String),
    Export(PathBuf),
    Refresh,
}

/// (usage, description) per command, in help order.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "\\help [TOPIC], \\?",
        "this help; topics: syntax, fields, ranges, time, regex, wildcards, examples",
    ),
    (
        "\\explain QUERY",
        "show the Athena SQL for QUERY without running it",
    ),
    (
        "\\since DURATION",
        "search the last DURATION: 30s, 15m, 1h, 2d, 1w",
    ),
    (
        "\\from TIME",
        "start the window at TIME (RFC 3339 or 2024-05-01T10:00, UTC)",
    ),
    (
        "\\to TIME",
        "end the window at TIME (exclusive); `\\to now` clears it",
    ),
    (
        "\\window [reset]",
        "show the window (also in the prompt); reset: the last 24 hours",
    ),
    ("\\limit N", "show at most N records (0: no limit)"),
    (
        "\\format FORMAT",
        "table, raw, vertical, json, ndjson or csv",
    ),
    (
        "\\sql [on|off]",
        "print the SQL above each result (on by default)",
    ),
    (
        "\\timing [on|off]",
        "print compile and engine time after each result",
    ),
    (
        "\\engine [local|athena]",
        "show or switch the engine searches run on",
    ),
    (
        "\\fields [PREFIX]",
        "fields the store knows, with how many records have each, and examples",
    ),
    (
        "\\summary [FIELD...]",
        "the top values of FIELDs (or of every field) in the last search's records: its search then `| summary`",
    ),
    (
        "\\save NAME",
        "save the last query as NAME (run it later with \\run or `glaux query -f`)",
    ),
    ("\\run NAME", "run the saved query NAME"),
    ("\\saved", "list saved queries"),
    (
        "\\jq FILTER",
        "apply a jq filter to the last results' messages (e.g. \\jq .userIdentity.arn)",
    ),
    (
        "\\export FILE",
        "write the last results to FILE: .json, .ndjson/.jsonl, .csv, .txt",
    ),
    (
        "\\refresh",
        "re-read the store (after an ingest in another shell)",
    ),
    ("\\quit, \\q", "leave (or Ctrl-D)"),
];

impl std::str::FromStr for Command {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (name, arg) = match s.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim().to_string()),
            None => (s, String::new()),
        };
        let need = |what: &str| -> Result<String, String> {
            if arg.is_empty() {
                Err(format!("{name} needs {what}"))
            } else {
                Ok(arg.clone())
            }
        };
        let on_off = |cmd: &str| -> Result<Option<bool>, String> {
            match arg.as_str() {
                "on" => Ok(Some(true)),
                "off" => Ok(Some(false)),
                "" => Ok(None),
                _ => Err(format!("{cmd} takes on or off")),
            }
        };
        let optional = || (!arg.is_empty()).then(|| arg.clone());
        Ok(match name {
            "\\help" | "\\?" | "\\h" => Command::Help(optional()),
            "\\quit" | "\\q" | "\\exit" => Command::Quit,
            "\\explain" => Command::Explain(need("a query")?),
            "\\since" => Command::Since(need("a duration, e.g. 1h")?),
            "\\from" => Command::From(need("a time, e.g. 2024-05-01T10:00")?),
            "\\to" => Command::To(need("a time, or `now`")?),
            "\\window" => match arg.as_str() {
                "reset" => Command::WindowReset,
                "" => Command::Window,
                _ => return Err("\\window takes nothing, or `reset`".into()),
            },
            "\\limit" => Command::Limit(need("a number")?),
            "\\format" => Command::Format(need("table, raw, vertical, json, ndjson or csv")?),
            "\\sql" => Command::Sql(on_off("\\sql")?),
            "\\timing" => Command::Timing(on_off("\\timing")?),
            "\\engine" => Command::Engine(optional()),
            "\\fields" => Command::Fields(optional()),
            "\\summary" => Command::Summary(
                arg.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|f| !f.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            "\\save" => Command::Save(need("a name")?),
            "\\run" => Command::Run(need("a saved query's name (\\saved lists them)")?),
            "\\saved" => Command::Saved,
            "\\jq" => Command::Jq(need("a jq filter, e.g. .eventName")?),
            "\\export" => Command::Export(PathBuf::from(need("a file name")?)),
            "\\refresh" => Command::Refresh,
            _ => return Err(format!("unknown command {name}; \\help lists them")),
        })
    }
}

/// The help text: the commands, or one topic.
pub fn help(topic: Option<&str>) -> Result<String, String> {
    let Some(topic) = topic else {
        let w = COMMANDS
            .iter()
            .map(|(u, _)| u.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::from(
            "Type a query and press Enter, e.g.  eventName:ConsoleLogin AND 10.0.0.1\n\
             Tab completes fields, values and commands; Ctrl-R searches history;\n\
             Ctrl-C cancels a running search; Ctrl-D quits. \\help syntax for the language.\n\n",
        );
        for (usage, what) in COMMANDS {
            out.push_str(&format!("  {usage:w$}  {what}\n"));
        }
        return Ok(out);
    };
    let text = match topic.trim_start_matches('\\') {
        "commands" => return help(None),
        "syntax" => {
            "Terms match whole tokens, case-insensitively: 10.0.0.1 never matches 110.0.0.119.\n\
             \n\
             \x20 alice                     a term anywhere in the record\n\
             \x20 userIdentity.userName:alice   in one field (nested keys joined with .)\n\
             \x20 \"failed password\"         a phrase: adjacent tokens, in order\n\
             \x20 a AND b, a b, a && b      both (AND is implied between clauses)\n\
             \x20 a OR b, a || b            either\n\
             \x20 NOT a, !a, -a             not; +a is just a\n\
             \x20 ( … )                     grouping; precedence NOT > AND > OR\n\
             \x20 field:(a OR b -c)         a group inside one field\n\
             \x20 field:*  _exists_:field   the field has a value\n\
             \x20 tag:cloudtrail            the record's tag (set at ingest)\n\
             \x20 *                         every record in the window\n\
             \n\
             Escape reserved characters with \\ outside quotes: path:\\/etc\\/passwd.\n\
             Lower-case and/or/not are words (with a warning). See docs/language.md."
        }
        "fields" => {
            "Fields are JSON paths: userIdentity.arn, requestParameters.bucketName. Arrays are\n\
             flattened (resources.ARN matches any element). Text lines have no fields: their\n\
             words match unfielded terms. \\fields [PREFIX] lists what the store has, with\n\
             how many records have each and example values; Tab completes them, and\n\
             field:<Tab> completes example values. A field no record has is a warning\n\
             (its clause matches nothing), with a suggestion (evntName → eventName)."
        }
        "ranges" => {
            "Numbers and times compare as values, not text:\n\
             \x20 bytes:[1000 TO 5000]   inclusive      bytes:{1000 TO 5000}   exclusive\n\
             \x20 bytes:[1000 TO *]      open end       bytes:>1000  bytes:<=5  comparisons\n\
             \x20 sourceIPAddress:10.0.0.0/8   an IPv4 or IPv6 CIDR block\n\
             A value is a number when its whole text is decimal (JSON numbers and numeric\n\
             strings alike), else a time when it is a timestamp."
        }
        "time" => {
            "Each search covers a window, shown in the prompt: the last 24 hours by default,\n\
             or \\since 2h, \\from 2024-05-01T10:00 \\to 2024-05-01T12:00. In a query:\n\
             \x20 @time > now-15m      @time:[2024-05-01 TO 2024-05-02]      now-1d/d (rounded)\n\
             Units: s m h d w M y. Times are UTC. An @time range that the window does not\n\
             cover narrows it; with the default window it replaces it."
        }
        "regex" => {
            "/regex/ matches whole tokens (lower-case, anchored), in a subset that Java\n\
             (Athena) and Rust (local engine) read the same: user:/adm(in)?[0-9]+/.\n\
             Escape classes like \\d, lookarounds and backreferences are refused with a hint."
        }
        "wildcards" => {
            "* (any run) and ? (one character) inside a term match one token:\n\
             \x20 eventName:Describe*   Get?bject   *admin (leading wildcards scan more)\n\
             A quoted \"*\" is a literal star. field:= tests the field's whole value:\n\
             \x20 eventName:=\"ConsoleLogin\"   userAgent:=*S3\\ Browser*   arn:=*:assumed-role/*\n\
             A wildcard with a space or / inside (userAgent:*S3\\ Browser*) means the same."
        }
        "stages" => {
            "After the search, stages summarize what it found (docs/language.md):\n\
             \x20 | stats count(), dc(F), min/max/sum/avg(F), earliest/latest(F), values(F) [by F, …]\n\
             \x20 | top [N] F, …   | rare [N] F, …   the most / least frequent values, with percent\n\
             \x20 | timechart [span=15m] AGG [by F [limit=N]]   a row per time bucket\n\
             \x20 | summary [F, …]   per field: records, distinct values, the top 5 (\\summary)\n\
             \x20 | fields F, …   | dedup F, …   | head N   records\n\
             \x20 | where count > 5 AND user != \"bob\"   | sort -count, user   on a table\n\
             Exact over the whole window: no sampling. Records without a `by` field are in no group."
        }
        "examples" => {
            "  eventName:ConsoleLogin AND errorMessage:\"Failed authentication\"\n\
             \x20 userIdentity.arn:*root* AND NOT sourceIPAddress:10.0.0.0/8\n\
             \x20 eventName:(CreateAccessKey OR CreateLoginProfile OR AttachUserPolicy)\n\
             \x20 errorCode:AccessDenied* AND @time > now-1h\n\
             \x20 tag:vpcflow AND dstport:22 AND action:REJECT\n\
             \x20 \"failed password\" AND NOT 10.0.0.0/8"
        }
        other => {
            return Err(format!(
                "no help topic `{other}`; topics: commands, {}",
                crate::complete::HELP_TOPICS
                    .iter()
                    .filter(|t| **t != "commands")
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    };
    Ok(format!("{text}\n"))
}

/// The query `\summary FIELDS` runs: the last query's search (its stages
/// dropped: a table has no records to summarize), or every record when
/// there is none yet, then `| summary FIELDS`.
pub fn summary_query(last: Option<&str>, fields: &[String]) -> String {
    let search = match last {
        Some(q) => match glaux_compiler::parser::stages_start(q) {
            Some(at) => q[..at].trim_end(),
            None => q.trim_end(),
        },
        None => "*",
    };
    let search = if search.is_empty() { "*" } else { search };
    match fields {
        [] => format!("{search} | summary"),
        fs => format!("{search} | summary {}", fs.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!("\\q".parse::<Command>(), Ok(Command::Quit));
        assert_eq!(
            "\\since 1h".parse::<Command>(),
            Ok(Command::Since("1h".into()))
        );
        assert_eq!(
            "\\explain a AND b".parse::<Command>(),
            Ok(Command::Explain("a AND b".into()))
        );
        assert_eq!(
            "\\sql off".parse::<Command>(),
            Ok(Command::Sql(Some(false)))
        );
        assert_eq!("\\timing".parse::<Command>(), Ok(Command::Timing(None)));
        assert_eq!(
            "\\help ranges".parse::<Command>(),
            Ok(Command::Help(Some("ranges".into())))
        );
        assert_eq!(
            "\\jq .a | .b".parse::<Command>(),
            Ok(Command::Jq(".a | .b".into()))
        );
        assert_eq!(
            "\\summary eventName, userIdentity.arn sourceIPAddress".parse::<Command>(),
            Ok(Command::Summary(
                ["eventName", "userIdentity.arn", "sourceIPAddress"]
                    .map(String::from)
                    .to_vec()
            ))
        );
        assert_eq!(
            "\\summary".parse::<Command>(),
            Ok(Command::Summary(Vec::new()))
        );
        assert!("\\since".parse::<Command>().is_err());
        assert!("\\window x".parse::<Command>().is_err());
        assert!("\\nope".parse::<Command>().is_err());
        // Every command in the help table parses, and completion offers it.
        for (usage, _) in COMMANDS {
            let name = usage.split([',', ' ']).next().unwrap();
            let arg = match name {
                "\\explain" | "\\save" | "\\run" => " a",
                "\\since" => " 1h",
                "\\from" | "\\to" => " 2024-05-01",
                "\\limit" => " 5",
                "\\format" => " csv",
                "\\jq" => " .",
                "\\export" => " out.csv",
                _ => "",
            };
            assert!(format!("{name}{arg}").parse::<Command>().is_ok(), "{name}");
            assert!(crate::complete::COMMAND_NAMES.contains(&name), "{name}");
        }
    }

    #[test]
    fn summary_runs_the_last_search() {
        let f = |fs: &[&str]| fs.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        assert_eq!(summary_query(None, &[]), "* | summary");
        assert_eq!(
            summary_query(Some("user:alice"), &f(&["eventName", "a.b"])),
            "user:alice | summary eventName, a.b"
        );
        // The stages go; a `|` inside a phrase or a regex is the search's.
        assert_eq!(
            summary_query(Some("\"a|b\" /x|y/ | stats count() by user"), &[]),
            "\"a|b\" /x|y/ | summary"
        );
        assert_eq!(summary_query(Some("  "), &[]), "* | summary");
    }

    #[test]
    fn every_help_topic_exists() {
        for t in crate::complete::HELP_TOPICS {
            assert!(help(Some(t)).is_ok(), "{t}");
        }
        assert!(
            help(Some("nope"))
                .unwrap_err()
                .contains("topics: commands, syntax")
        );
        assert!(help(None).unwrap().contains("\\jq FILTER"));
    }
}
