//! The spinner a search shows while it runs: elapsed time and what the
//! engine is doing (Athena's state, the bytes it has scanned so far, the
//! rows fetched). It draws on stderr, and only when stderr is a terminal
//! (the caller decides), so redirected output never holds it; it waits [`DELAY`] before the first frame so quick searches do not
//! flicker, and erases its line when the search ends.
//!
//! The text is built by pure functions ([`athena_status`], [`line`]) that
//! the tests pin; the thread only redraws.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use glaux_athena_engine::cost::human_bytes;
use glaux_athena_engine::{Phase, Progress};

/// Nothing is drawn for searches quicker than this.
pub const DELAY: Duration = Duration::from_millis(150);
/// Time between frames.
const TICK: Duration = Duration::from_millis(100);
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/// Back to the start of the line and erase it.
const ERASE: &str = "\r\x1b[2K";

/// stderr's width now (the window may have been resized since the session
/// began; a frame wider than the terminal would wrap and could not be
/// erased), else `fallback`.
pub fn width_now(fallback: usize) -> usize {
    terminal_size::terminal_size_of(std::io::stderr())
        .map(|(w, _)| usize::from(w.0))
        .filter(|&w| w > 0)
        .unwrap_or(fallback)
}

/// What the spinner says about an Athena run.
pub fn athena_status(p: &Progress) -> String {
    let attempt = if p.attempt > 0 {
        format!(" (resubmitted, attempt {})", p.attempt + 1)
    } else {
        String::new()
    };
    let what = match p.phase {
        Phase::Starting => "starting the query".to_string(),
        Phase::Queued => "QUEUED".to_string(),
        Phase::Running => format!("RUNNING · scanned {}", human_bytes(p.scanned_bytes)),
        Phase::Fetching => format!(
            "fetching results · {} row{} · scanned {}",
            p.rows,
            if p.rows == 1 { "" } else { "s" },
            human_bytes(p.scanned_bytes)
        ),
        Phase::Stopping => "stopping the query (Ctrl-C)".to_string(),
    };
    format!("Athena {what}{attempt}")
}

/// One frame: `⠹ 3.4 s · Athena RUNNING · scanned 41.3 MB`, cut to fit
/// `width` columns (a line that wrapped could not be erased).
pub fn line(frame: usize, elapsed: Duration, status: &str, width: usize) -> String {
    let full = format!(
        "{} {:.1} s · {status}",
        FRAMES[frame % FRAMES.len()],
        elapsed.as_secs_f64()
    );
    full.chars().take(width.saturating_sub(1)).collect()
}

struct State {
    status: String,
    done: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// A running spinner; dropping it stops it and erases its line.
pub struct Spinner {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Spinner {
    /// Starts a spinner on stderr, `width` columns wide, saying `status`.
    pub fn start(status: impl Into<String>, width: usize) -> Spinner {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                status: status.into(),
                done: false,
            }),
            wake: Condvar::new(),
        });
        let drawing = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("glaux-spinner".into())
            .spawn(move || draw(&drawing, width))
            .ok();
        Spinner { shared, thread }
    }

    /// Changes what the spinner says (shown at the next frame).
    pub fn set(&self, status: String) {
        if let Ok(mut s) = self.shared.state.lock() {
            s.status = status;
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Ok(mut s) = self.shared.state.lock() {
            s.done = true;
        }
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn draw(shared: &Shared, width: usize) {
    let started = Instant::now();
    let mut frame = 0;
    let mut drawn = false;
    loop {
        let pause = if drawn {
            TICK
        } else {
            DELAY.saturating_sub(started.elapsed())
        };
        // The state lock is held only to read it: never while writing,
        // so `set` and `drop` are never kept waiting on the terminal.
        let text = {
            let Ok(state) = shared.state.lock() else {
                break;
            };
            let Ok((state, _)) = shared.wake.wait_timeout_while(state, pause, |s| !s.done) else {
                break;
            };
            if state.done {
                break;
            }
            if started.elapsed() < DELAY {
                continue;
            }
            line(frame, started.elapsed(), &state.status, width)
        };
        // The process's stderr must not be held locked by the thread that
        // drops the spinner (see `glaux_cli::run_with`): `drop` joins this
        // thread, which may be waiting here.
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{ERASE}{text}");
        let _ = err.flush();
        drawn = true;
        frame += 1;
    }
    if drawn {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{ERASE}");
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(phase: Phase, scanned: u64, rows: usize, attempt: u32) -> Progress {
        Progress {
            phase,
            scanned_bytes: scanned,
            rows,
            attempt,
        }
    }

    #[test]
    fn athena_status_names_state_bytes_rows_and_resubmission() {
        assert_eq!(
            athena_status(&progress(Phase::Starting, 0, 0, 0)),
            "Athena starting the query"
        );
        assert_eq!(
            athena_status(&progress(Phase::Queued, 0, 0, 0)),
            "Athena QUEUED"
        );
        assert_eq!(
            athena_status(&progress(Phase::Running, 43_305_779, 0, 0)),
            "Athena RUNNING · scanned 41.3 MB"
        );
        assert_eq!(
            athena_status(&progress(Phase::Fetching, 2048, 1, 0)),
            "Athena fetching results · 1 row · scanned 2.0 KB"
        );
        assert_eq!(
            athena_status(&progress(Phase::Running, 0, 0, 2)),
            "Athena RUNNING · scanned 0 B (resubmitted, attempt 3)"
        );
        assert_eq!(
            athena_status(&progress(Phase::Stopping, 0, 0, 0)),
            "Athena stopping the query (Ctrl-C)"
        );
    }

    #[test]
    fn a_frame_has_spinner_elapsed_and_status_and_fits_the_width() {
        let status = "Athena RUNNING · scanned 41.3 MB";
        assert_eq!(
            line(2, Duration::from_millis(3_420), status, 80),
            "⠹ 3.4 s · Athena RUNNING · scanned 41.3 MB"
        );
        // The frames cycle.
        assert_eq!(
            line(12, Duration::ZERO, "x", 80),
            line(2, Duration::ZERO, "x", 80)
        );
        // Never as wide as the terminal: a wrapped line cannot be erased.
        let cut = line(0, Duration::ZERO, status, 12);
        assert_eq!(cut.chars().count(), 11);
        assert_eq!(cut, "⠋ 0.0 s · A");
        assert_eq!(line(0, Duration::ZERO, status, 0), "");
    }

    #[test]
    fn a_spinner_stopped_before_its_delay_wakes_and_joins() {
        // Dropping wakes the drawing thread (it does not sleep out its
        // pause) and joins it; nothing is drawn before DELAY.
        let s = Spinner::start("x", 80);
        s.set("y".into());
        drop(s);
    }
}
