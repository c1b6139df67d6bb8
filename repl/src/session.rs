//! A search session: the store, the engine, the time window, the limit. The
//! CLI makes one per command; the REPL keeps one for its lifetime. This is
//! the edge where the clock is read and handed to the compiler.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use glaux_compiler::{CompileOptions, Compiled, Report, WindowSpec, compile};
use glaux_local_engine::{EngineError, LocalEngine};
use glaux_store::Store;

use crate::output::{Hit, hits_from_batches};

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

/// Errors a search can end with.
#[derive(Debug)]
pub enum SearchError {
    /// The query or an option is wrong: render with the query text.
    Compile(Report),
    Engine(EngineError),
    Output(String),
    /// Ctrl-C while the query ran.
    Cancelled,
}

impl From<EngineError> for SearchError {
    fn from(e: EngineError) -> Self {
        SearchError::Engine(e)
    }
}

/// What a search returned.
#[derive(Debug)]
pub struct Outcome {
    pub compiled: Compiled,
    pub hits: Vec<Hit>,
    pub elapsed: Duration,
}

/// Session state.
pub struct Session {
    pub store: Store,
    pub database: String,
    pub window: WindowSpec,
    pub limit: Option<u64>,
    pub clock: Clock,
    engine: Option<LocalEngine>,
    /// The store's field names (from its catalog), read on first use.
    fields: std::cell::OnceCell<Option<Vec<String>>>,
    runtime: tokio::runtime::Runtime,
}

impl Session {
    pub fn new(store: Store, clock: Clock) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(Session {
            store,
            database: glaux_compiler::layout::DEFAULT_DATABASE.to_string(),
            window: WindowSpec::Default,
            limit: Some(glaux_compiler::plan::DEFAULT_LIMIT),
            clock,
            engine: None,
            fields: std::cell::OnceCell::new(),
            runtime,
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
        };
        compile(query, &options).map_err(|e| e.with_source(query))
    }

    /// Compiles and runs `query` on the local engine. Ctrl-C cancels the run
    /// (the future is dropped) and returns [`SearchError::Cancelled`].
    pub fn search(&mut self, query: &str) -> Result<Outcome, SearchError> {
        let compiled = self.compile(query).map_err(SearchError::Compile)?;
        let started = Instant::now();
        if !compiled.runs() {
            // The optimizer proved nothing can match: no engine, no scan.
            return Ok(Outcome {
                compiled,
                hits: Vec::new(),
                elapsed: started.elapsed(),
            });
        }
        if self.engine.is_none() {
            let engine = self
                .runtime
                .block_on(LocalEngine::open(&self.store, &self.database))?;
            self.engine = Some(engine);
        }
        let engine = self.engine.as_ref().expect("engine opened above");
        let sql = compiled.sql.clone();
        let batches = self.runtime.block_on(async {
            tokio::select! {
                r = engine.run(&sql) => r.map_err(SearchError::from),
                _ = tokio::signal::ctrl_c() => Err(SearchError::Cancelled),
            }
        })?;
        let hits = hits_from_batches(&batches).map_err(SearchError::Output)?;
        Ok(Outcome {
            compiled,
            hits,
            elapsed: started.elapsed(),
        })
    }

    /// The field names the store's catalog lists; `None` when there is no
    /// catalog (or it cannot be read): then no field is called unknown.
    pub fn known_fields(&self) -> Option<Vec<String>> {
        self.fields
            .get_or_init(|| {
                glaux_store::catalog::read(&self.store)
                    .ok()
                    .map(|c| c.names())
                    .filter(|names| !names.is_empty())
            })
            .clone()
    }

    /// Forgets the open engine and the field list, so the next search sees
    /// new files.
    pub fn refresh(&mut self) {
        self.engine = None;
        self.fields = std::cell::OnceCell::new();
    }
}

/// The line printed after results: count, whether the limit cut them, time.
pub fn footer(outcome: &Outcome) -> String {
    let n = outcome.hits.len();
    let limit_note = match outcome.compiled.plan.limit {
        Some(l) if n as u64 >= l => {
            format!(" (limit {l} reached; newest first; --limit 0 or \\limit 0 for all)")
        }
        _ => String::new(),
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
    format!(
        "{n} record{}{limit_note} in {:.2} s · window {} · {} partition{}{ran}",
        if n == 1 { "" } else { "s" },
        outcome.elapsed.as_secs_f64(),
        window,
        partitions.count,
        if partitions.count == 1 { "" } else { "s" },
    )
}
