//! A training loop of your own over the tape, with Adam, and a report of the run: the
//! reference network (2 → 12 → 6 → 1, He) on `make_moons`, trained full-batch. Each
//! epoch resets the tape (its buffers are kept), puts the parameters on it as leaves,
//! records the forward pass and the loss, back-propagates, and lets Adam move every
//! parameter by name. Afterwards it evaluates train and test accuracy and writes the
//! cost curve, the decision boundary and a self-contained `index.html` with both.
//!
//! Run with `cargo run --release --example training_loop [-- OUT_DIR]` (default
//! `out/training_loop`), then open `OUT_DIR/index.html`.

use std::path::PathBuf;

use tapegrad::experiment::{self, Setup};
use tapegrad::optim::Adam;
use tapegrad::plots;
use tapegrad::prelude::*;
use tapegrad::study::report::Report;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "out/training_loop".into()));
    std::fs::create_dir_all(&out)?;

    let setup = Setup::default();
    let (train, test) = experiment::moons(&setup, 0);
    let mut model = experiment::network(&Init::HeNormal, &setup, 0);
    let mut adam = Adam::new(0.01);
    let epochs = 1_000;

    let mut tape = Tape::new();
    let mut costs = Vec::with_capacity(epochs);
    for epoch in 0..epochs {
        tape.reset();
        let params = model.params.leaves(&tape);
        let logits = model.forward_with(&params, tape.constant_from(&train.x));
        let loss = model.loss(logits, &train.y);
        costs.push(loss.item());
        let grads = loss.backward();
        adam.begin_step();
        for (i, (name, value)) in model.params.iter_mut().enumerate() {
            adam.update(name, value, grads.wrt(params[i]));
        }
        if epoch % 200 == 0 {
            println!("epoch {epoch:>4}: cost {:.6}", costs[epoch]);
        }
    }
    let (on_train, on_test) = (evaluate(&model, &train.x, &train.y), evaluate(&model, &test.x, &test.y));
    let summary = format!(
        "{epochs} epochs of Adam (lr 0.01): cost {:.4} → {:.4}, train accuracy {:.1} %, test accuracy {:.1} %",
        costs[0],
        costs[epochs - 1],
        100.0 * on_train.accuracy,
        100.0 * on_test.accuracy
    );
    println!("{summary}");

    let curve = out.join("cost_curve.svg");
    plots::cost_curves(&curve, "Cost during training", &[("adam, he".to_string(), &costs[..])])?;
    let boundary = out.join("decision_boundary.svg");
    let title = format!("test {:.1} %", 100.0 * on_test.accuracy);
    plots::decision_boundary(&boundary, &title, &model, &train)?;

    let mut report = Report::new("A custom training loop with Adam");
    report.heading("Results").paragraph(summary);
    let rows: Vec<Vec<String>> = [&on_train, &on_test]
        .iter()
        .zip(["train", "test"])
        .map(|(e, set)| vec![set.to_string(), format!("{:.2}", 100.0 * e.accuracy), format!("{:.4}", e.cost)])
        .collect();
    report.table(&["set", "accuracy %", "cost"], &rows);
    report.heading("Figures");
    let svgs = [std::fs::read_to_string(&curve)?, std::fs::read_to_string(&boundary)?];
    report.figures([("cost_curve.svg", svgs[0].as_str()), ("decision_boundary.svg", svgs[1].as_str())]);
    let index = out.join("index.html");
    std::fs::write(&index, report.to_html())?;
    println!("report written to {}", index.display());
    assert!(on_test.accuracy > 0.9, "Adam learns the moons");
    Ok(())
}
