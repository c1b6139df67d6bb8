//! The `glaux` binary: see the crate docs of `glaux_cli`.

fn main() {
    let term = glaux_cli::Terminal::detect();
    let stdout = std::io::stdout();
    // stderr is not locked for the whole run: the search spinner draws on
    // it from its own thread.
    let code = glaux_cli::run_with(
        std::env::args_os().collect(),
        &mut stdout.lock(),
        &mut std::io::stderr(),
        &term,
    );
    std::process::exit(code);
}
