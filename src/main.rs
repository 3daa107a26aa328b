//! The `tapegrad` command line; `tapegrad` alone runs the initialization experiment.

mod cli;

fn main() -> std::process::ExitCode {
    die_quietly_on_closed_pipe();
    cli::main()
}

/// Restores the default action of `SIGPIPE`, which Rust's runtime ignores: a reader that
/// closes the pipe early (`tapegrad dataset moons | head`) then ends the process as it
/// ends `cat`, instead of `println!` panicking on the broken pipe. Output files are
/// written atomically, so none is left half-written.
fn die_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; `SIG_DFL` is
    // a valid disposition for `SIGPIPE`.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
