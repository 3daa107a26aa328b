//! The `tapegrad` command line; `tapegrad` alone runs the initialization experiment.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
