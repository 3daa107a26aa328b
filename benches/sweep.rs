//! Throughput of a signal sweep's cells (benches/data/signal_sweep.toml: tanh, width
//! 128, depth 50, (sw2, sb2) over 20 × 20, 2 seeds), run on all cores as `sweep run`
//! runs them, without the results file. Criterion reports cells per second
//! (`elem/s`). A slice of 80 cells (four sw2 rows) keeps one sample short;
//! `tapegrad sweep run benches/data/signal_sweep.toml` times all 800 with the records.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use tapegrad::sweep::Sweep;

fn bench(c: &mut Criterion) {
    let text = include_str!("data/signal_sweep.toml");
    let sweep = Sweep::parse(text, "signal_sweep.toml").expect("the bench's sweep file parses");
    assert_eq!(sweep.cells.len(), 800);
    let cells = &sweep.cells[..80];
    let mut group = c.benchmark_group("signal_sweep");
    group.sample_size(10).measurement_time(Duration::from_secs(10)).throughput(Throughput::Elements(80));
    group.bench_function("80 cells, tanh 128 x 50", |b| {
        b.iter(|| cells.par_iter().map(|cell| black_box(cell.run())).count())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
