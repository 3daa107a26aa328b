//! Argument parsing and dispatch. Bad arguments exit with code 2 and a message; other
//! failures (a file that cannot be written) exit with code 1.

mod compare;
mod dataset;
mod depth;
mod diagnose;
mod grads;
mod graph;
mod jacobian;
mod page;
mod phase;
mod progress;
mod sweep;
mod theory;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tapegrad::init::Init;
use tapegrad::nn::{Activation, BinaryLoss};
use tapegrad::study::lsuv::WeightInit;

#[derive(Parser)]
#[command(name = "tapegrad", version, about = "Reverse-mode autodiff on a tape, and the initialization experiment")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Options of `compare`, which runs when no subcommand is given.
    #[command(flatten)]
    compare: compare::CompareArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train the reference network under several initializers and compare them (default).
    Compare(compare::CompareArgs),
    /// Write a data set as CSV (`x1,...,xd,label`) to standard output: a toy set or the digits.
    Dataset(dataset::DatasetArgs),
    /// Train a classifier on a CSV file (features, then a 0/1 label), and save or load it.
    Train(train::TrainArgs),
    /// Show every parameter's gradient of the reference network at initialization.
    Grads(grads::GradsArgs),
    /// Grids of runs from a TOML file: run (resumable, sharded), merge, report, slurm.
    #[command(subcommand)]
    Sweep(sweep::SweepCommand),
    /// Push random inputs through a deep plain network and watch the signal grow or vanish.
    Depth(depth::DepthArgs),
    /// Print the reference network's loss graph in Graphviz DOT.
    Graph(graph::GraphArgs),
    /// Mean-field theory of a deep random network (q*, c*, χ_1, ξ_c), beside measurement.
    Theory(theory::TheoryArgs),
    /// The order-to-chaos phase diagram: ξ_c over a (σ_w², σ_b²) grid.
    Phase(phase::PhaseArgs),
    /// The singular values of a deep random network's input-output Jacobian, beside theory.
    Jacobian(jacobian::JacobianArgs),
}

/// A failure, with the exit code it maps to.
pub(crate) enum Failure {
    /// Bad input from the user: exit code 2.
    Usage(String),
    /// Anything else: exit code 1.
    Runtime(String),
}

pub(crate) type CliResult = Result<(), Failure>;

pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Some(Command::Compare(args)) => compare::run(args),
        Some(Command::Dataset(args)) => dataset::run(args),
        Some(Command::Train(args)) => train::run(args),
        Some(Command::Grads(args)) => grads::run(args),
        Some(Command::Depth(args)) => depth::run(args),
        Some(Command::Graph(args)) => graph::run(args),
        Some(Command::Theory(args)) => theory::run(args),
        Some(Command::Phase(args)) => phase::run(args),
        Some(Command::Jacobian(args)) => jacobian::run(args),
        Some(Command::Sweep(cmd)) => sweep::run(cmd),
        None => compare::run(cli.compare),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// Parses an initializer spec (`he`, `normal:10`, ...); `lsuv`, which needs a batch of
/// data, is refused with a message saying where it is accepted.
pub(crate) fn parse_init(s: &str) -> Result<Init, String> {
    if s.trim().eq_ignore_ascii_case("lsuv") {
        return Err("`lsuv` rescales layers on a batch of data, which only `train` and `depth` have".into());
    }
    s.parse::<Init>().map_err(|e| e.to_string())
}

/// Parses an initializer spec or `lsuv`, for the commands that have a batch of data.
pub(crate) fn parse_weight_init(s: &str) -> Result<WeightInit, String> {
    s.parse::<WeightInit>().map_err(|e| e.to_string())
}

/// Parses an activation (`relu`, `leaky_relu:0.1`, ...).
pub(crate) fn parse_activation(s: &str) -> Result<Activation, String> {
    s.parse()
}

/// Parses `stable` or `clipped[:EPS]` (the classic experiment's clipped loss, eps 1e-5
/// unless given).
pub(crate) fn parse_loss(s: &str) -> Result<BinaryLoss, String> {
    s.parse()
}

/// Parses a positive, finite number.
pub(crate) fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err(format!("`{s}` must be a finite number greater than 0")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// Parses a finite number of at least 0.
pub(crate) fn parse_non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(_) => Err(format!("`{s}` must be a finite number ≥ 0")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// Parses a number in `[0, 1)`.
pub(crate) fn parse_unit(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        Ok(_) => Err(format!("`{s}` must be at least 0 and less than 1")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// Parses a count of at least 1.
pub(crate) fn parse_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

/// Most `f64`s that one tensor, or the tensors a command keeps together (a deep
/// network's weights, every run's cost history), may hold: the library's limit.
pub(crate) use tapegrad::data::MAX_ELEMENTS;

/// Most runs (initializers × seeds) one command starts.
pub(crate) const MAX_RUNS: usize = 1_000_000;

/// A usage error unless the product of `factors` is at most `limit`; `what` names the
/// product in the message, as in `"--batch × --width (the input batch)"`.
pub(crate) fn check_size(what: &str, factors: &[usize], limit: usize) -> CliResult {
    if factors.contains(&0) {
        return Ok(());
    }
    match factors.iter().try_fold(1usize, |n, &f| n.checked_mul(f)) {
        Some(n) if n <= limit => Ok(()),
        Some(n) => Err(Failure::Usage(format!("{what} is {n}; at most {limit} is allowed"))),
        None => Err(Failure::Usage(format!("{what} is over {}; at most {limit} is allowed", usize::MAX))),
    }
}

/// The seeds `first`, `first + 1`, ... (`count` of them); a usage error when the last one
/// would be past `u64::MAX`.
pub(crate) fn seed_range(first: u64, count: usize) -> Result<Vec<u64>, Failure> {
    let Some(offset) = (count as u64).checked_sub(1) else { return Ok(Vec::new()) };
    match first.checked_add(offset) {
        Some(last) => Ok((first..=last).collect()),
        None => Err(Failure::Usage(format!(
            "--seed {first} plus --seeds {count} overflows (the largest seed is {})",
            u64::MAX
        ))),
    }
}

/// The failure of writing a command's figures into `out`.
pub(crate) fn figure_error(out: &Path) -> impl Fn(Box<dyn std::error::Error>) -> Failure + '_ {
    move |e| Failure::Runtime(format!("writing figures to {}: {e}", out.display()))
}

/// Creates `dir` (and its parents) and checks that a file can be written in it.
pub(crate) fn writable_dir(dir: &Path) -> Result<PathBuf, Failure> {
    let fail = |e: std::io::Error| Failure::Usage(format!("cannot write to output folder {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".tapegrad-write-test");
    std::fs::write(&probe, b"").map_err(fail)?;
    let _ = std::fs::remove_file(probe);
    Ok(dir.to_path_buf())
}

/// A number in scientific notation with 4 significant digits (`1.234e-5`); 0 and
/// non-finite values as they are.
pub(crate) fn sci(x: f64) -> String {
    if x == 0.0 || !x.is_finite() { format!("{x}") } else { format!("{x:.3e}") }
}

/// Turns a spec into a file-name fragment: `normal:10` → `normal_10`.
pub(crate) fn file_stem(spec: &str) -> String {
    spec.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}
