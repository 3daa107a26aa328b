//! Throughput of a signal sweep's cells (benches/data/signal_sweep.toml: tanh, width
//! 128, depth 50, (sw2, sb2) over 20 × 20, 2 seeds), run on all cores as `sweep run`
//! runs them. Criterion reports cells per second (`elem/s`). A slice of 80 cells (four
//! sw2 rows) keeps one sample short.
//!
//! Two ways, to price the machinery: `bare` runs the cells and drops the results;
//! `recorded` does what `tapegrad sweep run` does around them — opens a results file
//! already holding 80 other cells' records (the resume bookkeeping: read, parse, skip
//! the done ones), writes each cell's record line as it finishes, and counts it on a
//! progress bar. `bookkeeping` is that machinery alone, on the 80 cells' results
//! computed beforehand: what `recorded` adds to `bare`, measured apart from the runs'
//! noise.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use indicatif::{ProgressBar, ProgressDrawTarget};
use rayon::prelude::*;
use tapegrad::sweep::{Cell, Results, Sweep, record_line, run_into};

fn bench(c: &mut Criterion) {
    let text = include_str!("data/signal_sweep.toml");
    let sweep = Sweep::parse(text, "signal_sweep.toml").expect("the bench's sweep file parses");
    assert_eq!(sweep.cells.len(), 800);
    let cells = &sweep.cells[..80];
    let dir = tempfile::tempdir().expect("a temporary folder");
    let earlier = dir.path().join("earlier.jsonl");
    let others: Vec<&Cell> = sweep.cells[80..160].iter().collect();
    run_into(&others, &Results::open(&earlier).expect("a results file"), || {}).expect("records written");

    let mut group = c.benchmark_group("signal_sweep");
    group.sample_size(10).measurement_time(Duration::from_secs(10)).throughput(Throughput::Elements(80));
    group.bench_function("bare: 80 cells, tanh 128 x 50", |b| {
        b.iter(|| cells.par_iter().map(|cell| black_box(cell.run())).count())
    });
    let results: Vec<serde_json::Value> = cells.iter().map(Cell::run).collect();
    let mut round = 0;
    group.bench_function("bookkeeping: 80 records, no runs", |b| {
        b.iter(|| {
            round += 1;
            let path = dir.path().join(format!("books{round}.jsonl"));
            std::fs::copy(&earlier, &path).expect("copy the earlier records");
            let file = Results::open(&path).expect("a results file");
            let todo: Vec<(&Cell, &serde_json::Value)> =
                cells.iter().zip(&results).filter(|(c, _)| !file.done.contains(&c.id)).collect();
            let bar = ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::hidden());
            for (cell, r) in todo {
                file.append(&record_line(cell, r.clone(), 0.0)).expect("record written");
                bar.inc(1);
            }
            bar.finish_and_clear();
        })
    });
    group.bench_function("recorded: 80 cells, tanh 128 x 50", |b| {
        b.iter(|| {
            round += 1;
            let path = dir.path().join(format!("run{round}.jsonl"));
            std::fs::copy(&earlier, &path).expect("copy the earlier records");
            let results = Results::open(&path).expect("a results file");
            let todo: Vec<&Cell> = cells.iter().filter(|c| !results.done.contains(&c.id)).collect();
            let bar = ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::hidden());
            run_into(&todo, &results, || bar.inc(1)).expect("records written");
            bar.finish_and_clear();
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
