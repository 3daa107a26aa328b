//! The reference experiment, timed: 15 000 full-batch epochs of the 2-12-6-1 network on
//! the moons data from He weights, (a) through one reused tape and (b) by the
//! hand-written fused backprop loop in `common/reference.rs`, with the same build flags.
//!
//! Before criterion's own measurement, the two run alternately a few times and the
//! median of their ratio is printed: on a shared, noisy machine that ratio is the
//! figure to quote.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};

#[allow(dead_code)]
#[path = "common/reference.rs"]
mod reference;

use reference::{EPOCHS, FINAL_COST, Moons, Params, load_he, load_moons, train_fused, train_tape};

fn timed(train: fn(&Moons, &mut Params, usize) -> f64, data: &Moons, init: &Params) -> f64 {
    let mut p = init.clone();
    let start = Instant::now();
    let cost = train(data, &mut p, EPOCHS);
    let secs = start.elapsed().as_secs_f64();
    assert!((cost - FINAL_COST).abs() < 1e-9, "final cost {cost:.10}, expected {FINAL_COST}");
    secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Alternates tape and fused runs and prints the medians and the median ratio.
fn paired(data: &Moons, init: &Params) {
    let pairs = 5;
    let (mut tape, mut fused, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..pairs {
        let t = timed(train_tape, data, init);
        let f = timed(train_fused, data, init);
        tape.push(t);
        fused.push(f);
        ratio.push(t / f);
    }
    println!(
        "reference, {pairs} alternating pairs: tape {:.3} s, fused {:.3} s, tape/fused median ratio {:.3}",
        median(tape),
        median(fused),
        median(ratio)
    );
}

fn bench(c: &mut Criterion) {
    let data = load_moons();
    let init = load_he();
    paired(&data, &init);

    let mut group = c.benchmark_group("reference");
    group.sampling_mode(SamplingMode::Flat).sample_size(10).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(6));
    group.bench_function("tape", |b| {
        b.iter(|| {
            let mut p = init.clone();
            black_box(train_tape(&data, &mut p, EPOCHS))
        })
    });
    group.bench_function("fused", |b| {
        b.iter(|| {
            let mut p = init.clone();
            black_box(train_fused(&data, &mut p, EPOCHS))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
