//! `glaux demo`: a store with a day of generated sample logs ending now, so
//! a newcomer can search at once. The demo directory carries a marker file;
//! glaux only ever deletes a directory that has it.

use std::io::Write;
use std::path::{Path, PathBuf};

use glaux_samples::{SampleOptions, generate, write_to};
use glaux_store::{IngestOptions, Store};

use crate::cli::DemoArgs;
use crate::session::{Clock, Session};

const MARKER: &str = ".glaux-demo";

/// Default demo directory: `$XDG_CACHE_HOME/glaux/demo`.
pub fn default_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("glaux")
        .join("demo")
}

/// (Re)creates the demo under `dir`: raw logs in `dir/raw`, the store in
/// `dir/store`. Returns the store.
pub fn create(dir: &Path, clock: Clock, scale: u32, out: &mut dyn Write) -> std::io::Result<Store> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(std::io::Error::other(format!(
                "{} exists and is not a glaux demo directory; choose another with --dir",
                dir.display()
            )));
        }
        if !empty {
            std::fs::remove_dir_all(dir)?;
        }
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(MARKER),
        "created by `glaux demo`; safe to delete\n",
    )?;
    let raw = dir.join("raw");
    let now = clock.now();
    let files = generate(&SampleOptions::scaled(now, scale));
    write_to(&raw, &files)?;
    let store = Store::new(dir.join("store"));
    let report = glaux_store::ingest(&store, &[raw], &IngestOptions::default())?;
    writeln!(
        out,
        "demo store with sample logs of the last 24 hours: {}",
        store.root().display()
    )?;
    writeln!(out, "{report}")?;
    writeln!(out, "try:  eventName:ConsoleLogin AND 10.0.0.1")?;
    Ok(store)
}

/// `glaux demo`.
pub fn run(
    args: &DemoArgs,
    clock: Clock,
    settings: &crate::config::Settings,
    out: &mut dyn Write,
    err: &mut dyn Write,
    term: &crate::Terminal,
) -> i32 {
    let dir = args.dir.clone().unwrap_or_else(default_dir);
    let store = match create(&dir, clock, args.scale, out) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "error: cannot create the demo: {e}");
            return crate::EXIT_ERROR;
        }
    };
    if args.no_repl {
        return crate::EXIT_OK;
    }
    let _ = out.flush();
    // The demo store is on this machine: the local engine searches it,
    // whatever the settings say.
    let mut settings = settings.clone();
    settings.set(
        "engine",
        "local".into(),
        crate::config::Origin::Flag("glaux demo"),
    );
    match Session::new(
        glaux_aws::StoreLocation::Local(store),
        clock,
        settings.clone(),
        crate::interrupt::WhenIdle::Ignore,
    ) {
        Ok(mut session) => {
            session.database = settings
                .get("database")
                .unwrap_or(glaux_compiler::layout::DEFAULT_DATABASE)
                .to_string();
            crate::repl::run(session, term)
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            crate::EXIT_ERROR
        }
    }
}
