//! What initialization does to the signal in a deep network, measured with the library:
//! a batch of standard-normal inputs goes through 50 ReLU layers of 64 units (biases 0)
//! at initialization, and the mean of the last layer is back-propagated. For each
//! initializer it prints the RMS of the activations and the norm of the gradient that
//! reaches layers 1, 10, 20, ..., 50: He keeps both steady, a small normal shrinks them
//! geometrically, a standard normal blows them up (Glorot & Bengio, 2010; He et al., 2015).
//!
//! The measurement below is the study written out by hand over
//! `Sequential::forward_trace`, which keeps every layer's output — any `Sequential`
//! (norms, residual blocks, layers of one's own) and any initializer, including a
//! closure, can be measured this way — and it checks itself against
//! `tapegrad::study::depth::signal`, which `tapegrad depth` runs.
//!
//! Run with `cargo run --release --example depth_signal`.

use tapegrad::init::streams;
use tapegrad::nn::Forward;
use tapegrad::prelude::*;
use tapegrad::study::depth::{DepthConfig, deep_network, inputs, signal};

/// Per layer: (RMS of its output, norm of the gradient of the loss w.r.t. its output).
fn measure(model: &Sequential, x: &Tensor) -> Vec<(f64, f64)> {
    let tape = Tape::new();
    let params = model.params.leaves(&tape);
    let trace = model.forward_trace(tape.constant_from(x), &mut Forward::eval(&params, &model.params));
    let grads = trace.output.mean().backward();
    let rms = |t: &Tensor| (t.data().iter().map(|v| v * v).sum::<f64>() / t.len() as f64).sqrt();
    trace.layers.iter().map(|l| (l.output.with_value(rms), grads.wrt(l.output).norm())).collect()
}

fn main() {
    let config = DepthConfig { layers: 50, width: 64, activation: Activation::Relu, batch: 128, bias: Init::Zeros };
    let x = inputs(&config, 0);
    let shown: Vec<usize> = [1].into_iter().chain((10..=config.layers).step_by(10)).collect();
    println!("{} ReLU layers of {} units, {} inputs, seed 0", config.layers, config.width, config.batch);
    for init in [Init::HeNormal, Init::XavierNormal, Init::Normal(0.01), Init::Normal(1.0)] {
        let model = deep_network(init, config.width, &config, false, 0);
        let layers = measure(&model, &x);
        println!("\n{init}");
        println!("{:>7} {:>14} {:>14}", "layer", "RMS", "‖∂L/∂h‖");
        for &l in &shown {
            let (rms, grad) = layers[l - 1];
            println!("{l:>7} {rms:>14.4e} {grad:>14.4e}");
        }
        // The library's own study computes the same numbers.
        let library = signal(init, &config, 0);
        for (mine, theirs) in layers.iter().zip(&library.layers) {
            assert!((mine.0 - theirs.rms).abs() <= 1e-12 * theirs.rms, "{init}: RMS {} vs {}", mine.0, theirs.rms);
            assert!((mine.1 - theirs.grad_norm).abs() <= 1e-12 * theirs.grad_norm);
        }
    }
    // The same network from a closure: He's scale with the fan-out instead of the fan-in,
    // which for square layers is the same thing.
    let he_fan_out = |p: ParamShape, rng: &mut SeededRng| {
        let mut t = Init::Normal(1.0).init(p, rng);
        t.data_mut().iter_mut().for_each(|v| *v *= (2.0 / p.fan_out as f64).sqrt());
        t
    };
    let mut rng = seeded_rng(0, streams::WEIGHTS);
    let mut model = Sequential::new(config.width);
    for _ in 0..config.layers {
        model.dense(config.width, Activation::Relu, &he_fan_out, &mut rng);
    }
    let last = measure(&model, &x)[config.layers - 1];
    println!("\nhe by fan-out (a closure): layer {} RMS {:.4e}, ‖∂L/∂h‖ {:.4e}", config.layers, last.0, last.1);
}
