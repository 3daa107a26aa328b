//! Per-node overhead: a chain of 1 000 000 scalar ops, micrograd-style, recorded on a
//! reused tape and back-propagated. The figure to read is the time per node:
//! criterion's throughput line gives nodes per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tapegrad::prelude::*;

/// Records `ops` scalar ops (mul, add, tanh, sub in turn) on `tape`; returns the input
/// and the output.
fn chain(tape: &Tape, ops: usize) -> (Var<'_>, Var<'_>) {
    let x = tape.scalar(0.5);
    let (a, b) = (tape.scalar(1.0001), tape.scalar(0.001));
    let mut y = x;
    for i in 0..ops {
        y = match i % 4 {
            0 => y * a,
            1 => y + b,
            2 => y.tanh(),
            _ => y - b,
        };
    }
    (x, y)
}

fn bench(c: &mut Criterion) {
    let ops = 1_000_000;
    let mut tape = Tape::new();
    let nodes = {
        chain(&tape, ops);
        tape.len() as u64
    };
    let mut group = c.benchmark_group("scalar_chain");
    group.sample_size(20).throughput(Throughput::Elements(nodes));
    group.bench_function("record+backward 1M ops", |bench| {
        bench.iter(|| {
            tape.reset();
            let (x, y) = chain(&tape, ops);
            black_box(y.backward().wrt(x).item())
        })
    });
    group.bench_function("record 1M ops", |bench| {
        bench.iter(|| {
            tape.reset();
            black_box(chain(&tape, ops).1.index())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
