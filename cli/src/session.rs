//! A search session: the store, the engine, the time window, the limit. The
//! CLI makes one per command; the REPL keeps one for its lifetime. This is
//! the edge where the clock is read and handed to the compiler.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use glaux_athena_engine::Progress;
use glaux_athena_engine::cost::{cost_usd, human_bytes, human_usd};
use glaux_aws::StoreLocation;
use glaux_compiler::{CompileOptions, Compiled, Report, WindowSpec, compile};
use glaux_local_engine::LocalEngine;
use glaux_search::{Athena, AthenaRun, Cancel, Found, Hit, SearchError, Watch, execute};
use glaux_store::Store;
use glaux_store::catalog::FieldCatalog;
use std::sync::Arc;

use crate::config::{EngineKind, Settings};
use crate::interrupt::{Interrupts, WhenIdle};
use crate::progress::{Spinner, athena_status};

/// Where "now" comes from: the system clock, or a fixed instant (`--now`,
/// for reproducible output in tests and docs).
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => t,
        }
    }
}

/// What a search returned.
#[derive(Debug)]
pub struct Outcome {
    pub compiled: Compiled,
    pub hits: Vec<Hit>,
    /// The stages' table, when they make one (`| stats …`); `hits` is
    /// then empty.
    pub table: Option<glaux_search::Table>,
    pub elapsed: Duration,
    /// The Athena queries the search ran (none on the local engine).
    pub athena: Vec<AthenaRun>,
    /// The statements that ran, in order, as run (`\sql on` shows them):
    /// one, or a find and a fetch by its keys. Empty when nothing ran.
    pub statements: Vec<String>,
    /// How long each of `statements` took.
    pub statement_times: Vec<Duration>,
    /// Bytes the local engine's Parquet scans read (`None` on Athena,
    /// whose figure is in `athena`, and when nothing ran).
    pub local_scanned: Option<u64>,
    /// Time spent compiling (text to SQL), part of `elapsed`.
    pub compile_time: Duration,
}
/// How many fields the table view shows of a JSON record that is not
/// CloudTrail.
pub const LINE_FIELDS: usize = 4;

/// Session state.
pub struct Session {
    pub store: StoreLocation,
    pub database: String,
    pub window: WindowSpec,
    pub limit: Option<u64>,
    /// A field the store does not know is an error (`--strict`), not a
    /// warning.
    pub strict_fields: bool,
    pub clock: Clock,
    /// Engine, AWS and Athena settings with their origins.
    pub settings: Settings,
    engine: Option<LocalEngine>,
    athena: Option<Athena>,
    /// The store's field catalog, read on first use.
    catalog: std::cell::OnceCell<Option<Arc<FieldCatalog>>>,
    interrupts: Interrupts,
    runtime: tokio::runtime::Runtime,
    /// `Some(columns)` when stderr is a terminal that wide: searches show
    /// a spinner there. `None` (pipes, tests): no spinner.
    pub spinner: Option<usize>,
}

impl Session {
    /// A session; Ctrl-C is caught from here on (`idle` says what a press
    /// outside a search does).
    pub fn new(
        store: StoreLocation,
        clock: Clock,
        settings: Settings,
        idle: WhenIdle,
    ) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let interrupts = Interrupts::install(&runtime, idle)?;
        Ok(Session {
            store,
            database: glaux_compiler::layout::DEFAULT_DATABASE.to_string(),
            window: WindowSpec::Default,
            limit: Some(glaux_compiler::plan::DEFAULT_LIMIT),
            strict_fields: false,
            clock,
            settings,
            engine: None,
            athena: None,
            catalog: std::cell::OnceCell::new(),
            interrupts,
            runtime,
            spinner: None,
        })
    }

    /// Compiles `query` with the session's window, limit and clock.
    pub fn compile(&self, query: &str) -> Result<Compiled, Report> {
        let options = CompileOptions {
            now: self.clock.now(),
            window: self.window.clone(),
            limit: self.limit,
            database: self.database.clone(),
            fields: self.known_fields(),
            strict_fields: self.strict_fields,
            // Athena's tables are what `glaux ddl` made, the token-hours
            // table among them; a local store may predate it.
            hours_table: match self.engine_kind() {
                EngineKind::Local => self.store.local().is_some_and(Store::has_hours_table),
                EngineKind::Athena => true,
            },
            // The same for the field-values table.
            values_table: match self.engine_kind() {
                EngineKind::Local => self.store.local().is_some_and(Store::has_values_table),
                EngineKind::Athena => true,
            },
            max_keys: glaux_compiler::plan::MAX_KEYS,
        };
        compile(query, &options).map_err(|e| e.with_source(query))
    }

    /// The engine searches run on.
    pub fn engine_kind(&self) -> EngineKind {
        self.settings.engine().unwrap_or(EngineKind::Local)
    }

    /// Compiles and runs `query` on the session's engine. Ctrl-C cancels
    /// the run (the local engine's future is dropped; an Athena query is
    /// stopped with `StopQueryExecution`) and returns
    /// [`SearchError::Cancelled`].
    pub fn search(&mut self, query: &str) -> Result<Outcome, SearchError> {
        let started = Instant::now();
        let compiled = self.compile(query).map_err(SearchError::Compile)?;
        let mut outcome = Outcome {
            compiled,
            hits: Vec::new(),
            table: None,
            elapsed: Duration::ZERO,
            athena: Vec::new(),
            statements: Vec::new(),
            statement_times: Vec::new(),
            local_scanned: None,
            compile_time: started.elapsed(),
        };
        if !outcome.compiled.runs() {
            // The optimizer proved nothing can match: no engine, no scan.
            outcome.elapsed = started.elapsed();
            return Ok(outcome);
        }
        let _searching = self.interrupts.searching();
        let spinner = self.spinner(local_status(&outcome.compiled));
        let report = |p: Progress| say(&spinner, athena_status(&p));
        let mut watch = Watch {
            cancel: Box::pin(self.interrupts.next_press()),
            progress: &report,
        };
        let found = match self.engine_kind() {
            EngineKind::Local => {
                self.open_local()?;
                let engine = self.engine.as_ref().expect("opened above");
                self.runtime
                    .block_on(execute(&outcome.compiled, engine, &mut watch))?
            }
            EngineKind::Athena => {
                say(&spinner, "Athena: checking AWS credentials".into());
                let engine = self.athena(&mut watch.cancel)?.clone();
                self.runtime
                    .block_on(execute(&outcome.compiled, &engine, &mut watch))?
            }
        };
        drop(spinner);
        let Found { hits, table, ran } = found;
        outcome.hits = hits;
        outcome.table = table;
        outcome.athena = ran.athena_runs();
        outcome.local_scanned = ran.scanned_locally();
        outcome.statements = ran.statements;
        outcome.statement_times = ran.times;
        outcome.elapsed = started.elapsed();
        Ok(outcome)
    }

    /// A spinner saying `status`, when the session shows one.
    fn spinner(&self, status: String) -> Option<Spinner> {
        self.spinner
            .map(|width| Spinner::start(status, crate::progress::width_now(width)))
    }

    /// Opens the local engine on first use.
    fn open_local(&mut self) -> Result<(), SearchError> {
        if self.engine.is_none() {
            let StoreLocation::Local(store) = &self.store else {
                return Err(SearchError::Config(format!(
                    "the local engine reads a store on this machine, not {}; use --engine athena (or \\engine athena) for a store on S3",
                    self.store
                )));
            };
            let engine = self
                .runtime
                .block_on(LocalEngine::open(store, &self.database))?;
            self.engine = Some(engine);
        }
        Ok(())
    }

    /// The Athena engine, set up on first use (credentials and region are
    /// checked then, within seconds).
    fn athena(&mut self, cancel: &mut Cancel) -> Result<&Athena, SearchError> {
        if self.athena.is_none() {
            let aws = self.settings.aws();
            let config = self.runtime.block_on(async {
                tokio::select! {
                    r = glaux_aws::load(&aws) => r.map_err(SearchError::Aws),
                    () = cancel => Err(SearchError::Cancelled),
                }
            })?;
            let mut settings = self.settings.athena();
            settings.database = self.database.clone();
            self.athena = Some(Athena {
                engine: glaux_athena_engine::AthenaEngine::new(&config, settings),
                price_per_tb: self.settings.price_per_tb().unwrap_or(5.0),
            });
        }
        // The price is a setting that may have changed since.
        let athena = self.athena.as_mut().expect("engine set up above");
        athena.price_per_tb = self.settings.price_per_tb().unwrap_or(5.0);
        Ok(athena)
    }

    /// Switches engines (`\engine`); the next search sets the new one up.
    pub fn set_engine(&mut self, kind: EngineKind) {
        self.settings.set(
            "engine",
            kind.to_string(),
            crate::config::Origin::Flag("\\engine"),
        );
    }

    /// Runs statements that return nothing (DDL) on Athena, in order.
    pub fn athena_statements(
        &mut self,
        statements: &[String],
    ) -> Result<Vec<AthenaRun>, SearchError> {
        let _searching = self.interrupts.searching();
        let mut cancel: Cancel = Box::pin(self.interrupts.next_press());
        let spinner = self.spinner("Athena: checking AWS credentials".into());
        let athena = self.athena(&mut cancel)?.clone();
        let mut runs = Vec::new();
        for sql in statements {
            let report = |p: Progress| say(&spinner, athena_status(&p));
            let f =
                self.runtime
                    .block_on(athena.engine.run_reporting(sql, &mut cancel, &report))?;
            runs.push(AthenaRun {
                query_execution_id: f.query_execution_id,
                stats: f.stats,
                price_per_tb: athena.price_per_tb,
            });
        }
        Ok(runs)
    }

    /// The field names the store's catalog lists; `None` when there is no
    /// catalog (or it cannot be read): then no field is called unknown.
    pub fn known_fields(&self) -> Option<Vec<String>> {
        self.catalog()
            .map(|c| c.names())
            .filter(|names| !names.is_empty())
    }

    /// The fields the table view shows of a JSON record that is not
    /// CloudTrail ([`crate::output::record_line`]): the catalog's
    /// [`LINE_FIELDS`] most frequent, but for the time field the time
    /// column shows already. None without a catalog (the message is
    /// shown).
    pub fn line_fields(&self) -> Vec<String> {
        let Some(catalog) = self.catalog() else {
            return Vec::new();
        };
        let mut ranked: Vec<(&String, &u64)> = catalog
            .fields
            .iter()
            .filter(|(f, _)| {
                !f.is_empty() && !glaux_store::timestamp::AUTO_FIELDS.contains(&f.as_str())
            })
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        ranked
            .into_iter()
            .take(LINE_FIELDS)
            .map(|(f, _)| f.clone())
            .collect()
    }

    /// The store's field catalog (names, counts, examples); `None` when
    /// there is none, or on the Athena engine: the catalog describes the
    /// local store, and an Athena search runs over the tables on S3, which
    /// it may not describe at all.
    pub fn catalog(&self) -> Option<Arc<FieldCatalog>> {
        if self.engine_kind() == EngineKind::Athena {
            return None;
        }
        self.catalog
            .get_or_init(|| {
                glaux_store::catalog::read(self.store.local()?)
                    .ok()
                    .filter(|c| !c.fields.is_empty())
                    .map(Arc::new)
            })
            .clone()
    }

    /// While the guard lives, Ctrl-C belongs to what glaux runs (a pager),
    /// not to glaux.
    pub fn busy(&self) -> crate::interrupt::SearchGuard {
        self.interrupts.searching()
    }

    /// Forgets the open engine and the field list, so the next search sees
    /// new files.
    pub fn refresh(&mut self) {
        self.engine = None;
        self.athena = None;
        self.catalog = std::cell::OnceCell::new();
    }
}

/// What the spinner says while the local engine searches.
fn local_status(compiled: &Compiled) -> String {
    match &compiled.plan.partitions {
        Some(p) => format!(
            "local engine: searching {} partition{}",
            p.count,
            if p.count == 1 { "" } else { "s" }
        ),
        None => "local engine: searching".to_string(),
    }
}

fn say(spinner: &Option<Spinner>, status: String) {
    if let Some(s) = spinner {
        s.set(status);
    }
}

/// The line printed after results: count, whether the limit cut them, time.
pub fn footer(outcome: &Outcome) -> String {
    let n = outcome.hits.len();
    let (n, noun) = match &outcome.table {
        Some(t) => (t.rows.len(), "row"),
        None => (n, "record"),
    };
    let limit_note = match outcome.compiled.plan.limit {
        Some(l) if n as u64 >= l => {
            format!(" (limit {l} reached; newest first; --limit 0 or \\limit 0 for all)")
        }
        _ => String::new(),
    };
    // `values(F)` is bounded: say where it stopped.
    let cut = outcome.table.as_ref().map_or(0, |t| {
        t.rows
            .iter()
            .filter(|r| r.iter().any(|c| c.left_out() > 0))
            .count()
    });
    let limit_note = match cut {
        0 => limit_note,
        n => format!(
            "{limit_note} (values() lists the first {} distinct values in code-point order; {n} row{} had more)",
            glaux_compiler::ast::MAX_VALUES,
            if n == 1 { "" } else { "s" }
        ),
    };
    let plan = &outcome.compiled.plan;
    let (Some(window), Some(partitions)) = (&plan.window, &plan.partitions) else {
        return "0 records · nothing ran: no record can match (a contradiction or an empty time range; see --explain or \\explain)".to_string();
    };
    let ran = if outcome.compiled.runs() {
        String::new()
    } else {
        " · nothing ran: no record can match (see --explain or \\explain)".to_string()
    };
    let athena = match (outcome.athena.is_empty(), outcome.local_scanned) {
        (false, _) => athena_note(&outcome.athena),
        (true, Some(bytes)) => format!(" · read {}", human_bytes(bytes)),
        (true, None) => String::new(),
    };
    format!(
        "{n} {noun}{}{limit_note} in {:.2} s{athena} · window {} · {} partition{}{ran}",
        if n == 1 { "" } else { "s" },
        outcome.elapsed.as_secs_f64(),
        window,
        partitions.count,
        if partitions.count == 1 { "" } else { "s" },
    )
}

/// ` · Athena 1.20 s · scanned 3.4 MB · $0.000048 (10 MB minimum, $5/TB) · id …`
/// for the queries one search ran: times, bytes and costs summed, each
/// query billed on its own (its own 10 MB minimum; a reused result free).
pub fn athena_note(runs: &[AthenaRun]) -> String {
    use glaux_athena_engine::cost::{MINIMUM_BILLED, billed_bytes};
    let Some(first) = runs.first() else {
        return String::new();
    };
    let scanned: u64 = runs.iter().map(|r| r.stats.data_scanned_bytes).sum();
    let engine_ms: u64 = runs.iter().map(|r| r.stats.engine_ms).sum();
    let billed: Vec<&AthenaRun> = runs.iter().filter(|r| !r.stats.reused_result).collect();
    let cost = if billed.is_empty() {
        // Athena does not bill a query answered from a reused result.
        "$0 (reused result)".to_string()
    } else {
        let usd: f64 = billed
            .iter()
            .map(|r| cost_usd(r.stats.data_scanned_bytes, r.price_per_tb))
            .sum();
        let at_minimum = billed
            .iter()
            .any(|r| billed_bytes(r.stats.data_scanned_bytes) == MINIMUM_BILLED);
        let queries = if runs.len() > 1 {
            format!("{} queries, ", runs.len())
        } else {
            String::new()
        };
        let minimum = match (at_minimum, runs.len()) {
            (false, _) => "",
            (true, 1) => "10 MB minimum, ",
            (true, _) => "10 MB minimum a query, ",
        };
        format!(
            "{} ({queries}{minimum}${}/TB)",
            human_usd(usd),
            first.price_per_tb
        )
    };
    let ids: Vec<&str> = runs.iter().map(|r| r.query_execution_id.as_str()).collect();
    format!(
        " · Athena {:.2} s · scanned {} · {cost} · id{} {}",
        engine_ms as f64 / 1000.0,
        human_bytes(scanned),
        if runs.len() > 1 { "s" } else { "" },
        ids.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scanned: u64, reused: bool) -> AthenaRun {
        AthenaRun {
            query_execution_id: "q-1".into(),
            stats: glaux_athena_engine::Stats {
                data_scanned_bytes: scanned,
                engine_ms: 1500,
                reused_result: reused,
                ..Default::default()
            },
            price_per_tb: 5.0,
        }
    }

    #[test]
    fn athena_footer_shows_scan_cost_minimum_and_reuse() {
        assert_eq!(
            athena_note(&[run(3 << 20, false)]),
            " · Athena 1.50 s · scanned 3.0 MB · $0.000048 (10 MB minimum, $5/TB) · id q-1"
        );
        assert_eq!(
            athena_note(&[run(3 << 30, false)]),
            " · Athena 1.50 s · scanned 3.0 GB · $0.0146 ($5/TB) · id q-1"
        );
        assert_eq!(
            athena_note(&[run(0, true)]),
            " · Athena 1.50 s · scanned 0 B · $0 (reused result) · id q-1"
        );
        // A find and a fetch: summed, each query billed its own minimum.
        let mut fetch = run(1 << 20, false);
        fetch.query_execution_id = "q-2".into();
        assert_eq!(
            athena_note(&[run(3 << 20, false), fetch.clone()]),
            " · Athena 3.00 s · scanned 4.0 MB · $0.000095 (2 queries, 10 MB minimum a query, $5/TB) · ids q-1, q-2"
        );
        // A reused find costs nothing; the fetch still bills.
        assert_eq!(
            athena_note(&[run(3 << 20, true), fetch]),
            " · Athena 3.00 s · scanned 4.0 MB · $0.000048 (2 queries, 10 MB minimum a query, $5/TB) · ids q-1, q-2"
        );
    }
}
