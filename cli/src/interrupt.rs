//! Ctrl-C, caught from the moment a session starts.
//!
//! A search can be cancelled by a press during any of its steps — finding
//! AWS credentials, starting the Athena query, polling, paging, the local
//! engine's scan — because the handler exists before the search does
//! (subscribing only when a step begins would let the default handler kill
//! the process, or miss a press, during the steps before). A press between
//! searches cancels nothing: the REPL ignores it (rustyline reads Ctrl-C at
//! the prompt itself), and the one-shot CLI exits with status 130 at once.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// What a press outside a search does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenIdle {
    /// The REPL: nothing.
    Ignore,
    /// A one-shot command: exit 130, as if no handler were installed.
    Exit,
}

/// Counts Ctrl-C presses.
#[derive(Debug, Clone)]
pub struct Interrupts {
    presses: watch::Receiver<u64>,
    searching: Arc<AtomicBool>,
}

impl Interrupts {
    /// Installs the handler on `runtime` (before returning, so no press is
    /// missed from now on).
    pub fn install(runtime: &tokio::runtime::Runtime, idle: WhenIdle) -> std::io::Result<Self> {
        let (tx, presses) = watch::channel(0u64);
        let searching = Arc::new(AtomicBool::new(false));
        let busy = searching.clone();
        let on_press = move || {
            if !busy.load(Ordering::SeqCst) && idle == WhenIdle::Exit {
                std::process::exit(crate::EXIT_INTERRUPTED);
            }
            tx.send_modify(|n| *n += 1);
        };
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut sigint = runtime.block_on(async { signal(SignalKind::interrupt()) })?;
            runtime.spawn(async move {
                while sigint.recv().await.is_some() {
                    on_press();
                }
            });
        }
        #[cfg(not(unix))]
        {
            // Windows: subscribe now, inside the runtime, before returning.
            let mut ctrl_c = runtime.block_on(async { tokio::signal::windows::ctrl_c() })?;
            runtime.spawn(async move {
                while ctrl_c.recv().await.is_some() {
                    on_press();
                }
            });
        }
        Ok(Interrupts { presses, searching })
    }

    /// Marks a search as running until the guard is dropped.
    pub fn searching(&self) -> SearchGuard {
        self.searching.store(true, Ordering::SeqCst);
        SearchGuard(self.searching.clone())
    }

    /// Completes at the first press after this call.
    pub fn next_press(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.presses.clone();
        rx.mark_unchanged();
        async move {
            if rx.changed().await.is_err() {
                // The handler is gone (runtime shutting down): never fire.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// While alive, presses cancel the search instead of following [`WhenIdle`].
pub struct SearchGuard(Arc<AtomicBool>);

impl Drop for SearchGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}
