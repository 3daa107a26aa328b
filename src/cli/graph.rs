//! `tapegrad graph`: the reference network's loss graph, after backward, in Graphviz DOT
//! (pipe it into `dot -Tsvg`).

use clap::Args;
use tapegrad::Tape;
use tapegrad::experiment::{self, LAYERS, Setup};
use tapegrad::init::Init;
use tapegrad::nn::BinaryLoss;

use super::{CliResult, MAX_ELEMENTS, check_size, parse_count, parse_init, parse_loss};

#[derive(Args)]
pub(crate) struct GraphArgs {
    /// Initializer of the hidden layers.
    #[arg(long, default_value = "he", value_parser = parse_init)]
    init: Init,
    /// Seed of the data and the weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Loss form: `stable` or `clipped`.
    #[arg(long, default_value = "stable", value_parser = parse_loss)]
    loss: BinaryLoss,
    /// Number of training samples.
    #[arg(long, default_value = "400", value_parser = parse_count)]
    samples: usize,
}

pub(crate) fn run(a: GraphArgs) -> CliResult {
    let widest = LAYERS.iter().copied().max().unwrap_or(1);
    check_size(&format!("--samples × {widest} (the widest layer's activations)"), &[a.samples, widest], MAX_ELEMENTS)?;
    let setup = Setup { loss: a.loss, n_train: a.samples, ..Setup::default() };
    let (data, _) = experiment::moons(&setup, a.seed);
    let model = experiment::network(&a.init, &setup, a.seed);
    let tape = Tape::new();
    let params = model.params.leaves(&tape);
    let loss = model.loss(model.forward_with(&params, tape.constant_from(&data.x)), &data.y);
    let grads = loss.backward();
    print!("{}", tape.to_dot_with(&grads));
    Ok(())
}
