//! Two ways to bring your own initializer to the reference experiment: a closure (any
//! `Fn(ParamShape, &mut SeededRng) -> Tensor` is an `Initializer`) and a type that
//! implements the `Initializer` trait. Both initialize the hidden layers of the
//! 2 → 12 → 6 → 1 network on `make_moons`, beside the built-in He, from the same seed.
//!
//! Run with `cargo run --release --example custom_initializer`.

use tapegrad::experiment::{self, Setup};
use tapegrad::prelude::*;
use tapegrad::rand::RngExt;
use tapegrad::rand_distr::StandardNormal;

/// Sparse initialization (Martens, 2010): every unit gets `k` incoming weights drawn
/// from N(0, std²) and the rest exactly 0, so its input scale does not grow with fan-in.
struct Sparse {
    k: usize,
    std: f64,
}

impl Initializer for Sparse {
    fn init(&self, shape: ParamShape, rng: &mut SeededRng) -> Tensor {
        let mut w = Tensor::zeros(shape.rows, shape.cols);
        let k = self.k.min(shape.rows);
        for unit in 0..shape.cols {
            // The first k inputs of a random rotation of the rows: k distinct inputs.
            let start = rng.random_range(0..shape.rows);
            for j in 0..k {
                let row = (start + j) % shape.rows;
                w.data_mut()[row * shape.cols + unit] = self.std * rng.sample::<f64, _>(StandardNormal);
            }
        }
        w
    }
}

fn main() {
    // A "He with a gain": He's standard deviation sqrt(2 / fan_in), halved.
    let half_he = |p: ParamShape, rng: &mut SeededRng| {
        let std = 0.5 * (2.0 / p.fan_in as f64).sqrt();
        let values = (0..p.rows * p.cols).map(|_| std * rng.sample::<f64, _>(StandardNormal)).collect();
        Tensor::from_vec(p.rows, p.cols, values)
    };
    let sparse = Sparse { k: 2, std: 1.0 };

    let setup = Setup { epochs: 3_000, ..Setup::default() };
    let (train, test) = experiment::moons(&setup, 0);
    let candidates: [(&str, &dyn Initializer); 3] =
        [("he (built in)", &Init::HeNormal), ("half he (closure)", &half_he), ("sparse k=2 (trait)", &sparse)];
    println!("{} epochs of gradient descent, lr {}, seed 0", setup.epochs, setup.lr);
    println!("{:<20} {:>10} {:>12} {:>12}", "hidden init", "first cost", "final cost", "test acc %");
    for (name, init) in candidates {
        let mut model = experiment::network(init, &setup, 0);
        let weight = &model.params["dense1.weight"];
        assert_eq!(weight.shape(), (12, 6), "the initializer made the shape it was asked for");
        let opts = FitOptions::epochs(setup.epochs);
        let history = fit(&mut model, &train.x, &train.y, opts, &mut GradientDescent { lr: setup.lr }).unwrap();
        let acc = evaluate(&model, &test.x, &test.y).accuracy;
        let (first, last) = (history.costs[0], history.last().unwrap());
        println!("{name:<20} {first:>10.4} {last:>12.4} {:>12.1}", 100.0 * acc);
    }
}
