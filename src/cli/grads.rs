//! `tapegrad grads`: every parameter's gradient of the reference network at
//! initialization, and what the numbers mean.

use std::path::PathBuf;

use clap::Args;
use tapegrad::experiment::{LAYERS, Setup};
use tapegrad::init::Init;
use tapegrad::nn::BinaryLoss;
use tapegrad::snapshot::format_value;
use tapegrad::study::grads::gradients_at_init;

use super::{CliResult, Failure, parse_init, parse_loss};

#[derive(Args)]
pub(crate) struct GradsArgs {
    /// Initializer of the hidden layers (e.g. `zeros`, `he`, `normal:10`).
    #[arg(long, value_parser = parse_init)]
    init: Init,
    /// Initializer of the output layer.
    #[arg(long, default_value = "normal:1", value_parser = parse_init)]
    output_init: Init,
    /// Seed of the data and the weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Loss form: `stable` (bce_with_logits) or `clipped[:EPS]` (the classic experiment's, eps 1e-5).
    #[arg(long, default_value = "stable", value_parser = parse_loss)]
    loss: BinaryLoss,
    /// Also write the data, model, parameters, gradients and loss as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

pub(crate) fn run(a: GradsArgs) -> CliResult {
    let setup = Setup { output_init: a.output_init, loss: a.loss, ..Setup::default() };
    let g = gradients_at_init(a.init, &setup, a.seed);
    let sizes: Vec<String> = LAYERS.iter().map(|n| n.to_string()).collect();
    println!(
        "reference network {}, hidden init {}, output init {}, loss {}, seed {}, {} samples",
        sizes.join(" → "),
        a.init,
        a.output_init,
        a.loss,
        a.seed,
        g.data.len()
    );
    println!("loss at initialization: {}", g.loss);
    println!("{:<14} {:>6} {:>14} {:>14} {:>12}", "parameter", "shape", "‖g‖", "max |g|", "exact zeros");
    for p in &g.params {
        let (r, c) = p.grad.shape();
        println!(
            "{:<14} {:>6} {:>14} {:>14} {:>12}",
            p.name,
            format!("{r}x{c}"),
            format_value(p.norm()),
            format_value(p.max_abs()),
            format!("{}/{}", p.zeros(), p.grad.len())
        );
    }
    println!("why: {}", g.explain());
    if let Some(anomaly) = g.anomaly {
        println!("warning: {anomaly}");
    }
    if let Some(path) = &a.json {
        let text = serde_json::to_string_pretty(&g.to_json()).map_err(|e| Failure::Runtime(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
        println!("JSON written to {}", path.display());
    }
    Ok(())
}
