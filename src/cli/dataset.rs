//! `tapegrad dataset`: write `make_moons`, `make_circles` or the digits as CSV.

use clap::{Args, ValueEnum};
use tapegrad::data::{Noise, digits, make_circles, make_moons};
use tapegrad::init::{seeded_rng, streams};

use super::{CliResult, Failure, MAX_ELEMENTS, check_size, parse_non_negative, parse_unit};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Kind {
    /// Two interleaving half circles (scikit-learn's make_moons).
    Moons,
    /// Two concentric circles (scikit-learn's make_circles).
    Circles,
    /// scikit-learn's 1797 handwritten 8 × 8 digits (64 pixels 0..16, label 0..9), as
    /// shipped; the options below are for moons and circles.
    Digits,
}

#[derive(Args)]
pub(crate) struct DatasetArgs {
    /// Which data set.
    kind: Kind,
    /// Number of samples.
    #[arg(long, default_value_t = 400)]
    n: usize,
    /// Standard deviation of the Gaussian noise.
    #[arg(long, default_value_t = 0.0, value_parser = parse_non_negative)]
    noise: f64,
    /// Seed of the shuffle and the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Radius of the inner circle (circles only), in [0, 1).
    #[arg(long, default_value_t = 0.8, value_parser = parse_unit)]
    factor: f64,
    /// Keep the samples in generation order.
    #[arg(long)]
    no_shuffle: bool,
}

pub(crate) fn run(a: DatasetArgs) -> CliResult {
    // Half the points (rounded down) are class 0 and the rest class 1: fewer than two
    // leaves a class empty, and `train` rejects a file with a single class.
    if a.n < 2 {
        return Err(Failure::Usage(format!(
            "--n {}: a data set needs at least 2 samples, one of each class (half the samples are class 0)",
            a.n
        )));
    }
    check_size("--n × 2 (the features)", &[a.n, 2], MAX_ELEMENTS)?;
    let mut rng = seeded_rng(a.seed, streams::DATA);
    let noise = Noise { std: a.noise, shuffle: !a.no_shuffle };
    let data = match a.kind {
        Kind::Moons => make_moons(a.n, noise, &mut rng),
        Kind::Circles => make_circles(a.n, a.factor, noise, &mut rng),
        Kind::Digits => {
            if a.n != 400 || a.noise != 0.0 || a.seed != 0 || a.factor != 0.8 || a.no_shuffle {
                let options = "--n, --noise, --seed, --factor and --no-shuffle";
                return Err(Failure::Usage(format!("digits is a fixed data set; {options} are for moons and circles")));
            }
            digits()
        }
    };
    data.write_csv(std::io::stdout().lock()).map_err(|e| Failure::Runtime(format!("writing CSV: {e}")))
}
