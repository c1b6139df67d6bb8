//! The `glaux` binary: see the crate docs of `glaux_cli`.

use std::io::IsTerminal;

fn main() {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = glaux_cli::run(
        std::env::args_os().collect(),
        &mut stdout.lock(),
        &mut stderr.lock(),
        color,
    );
    std::process::exit(code);
}
