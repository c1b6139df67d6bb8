//! The `glaux` binary: see the crate docs of `glaux_cli`.

fn main() {
    let term = glaux_cli::Terminal::detect();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = glaux_cli::run_with(
        std::env::args_os().collect(),
        &mut stdout.lock(),
        &mut stderr.lock(),
        &term,
    );
    std::process::exit(code);
}
