//! Sweeps: bad sweep files are rejected with file, line and key; cell ids are fixed
//! numbers; shards cover every cell once; merged shards, a single-threaded run and a run
//! killed with SIGKILL and resumed all give the same records as one uninterrupted run;
//! a train cell counts the epochs its cost takes to reach a target; a `jacobian` cell
//! measures what `tapegrad jacobian` does; `sw2`/`sb2` in a `train` cell are the
//! initializers they name; the report draws K·ξ_c over a heatmap.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use tapegrad::sweep::{Record, Sweep, cell_id};

fn tapegrad(args: &[&str], threads: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapegrad"));
    if let Some(t) = threads {
        cmd.env("RAYON_NUM_THREADS", t);
    }
    cmd.args(args).output().expect("run tapegrad")
}

fn ok(args: &[&str], threads: Option<&str>) -> String {
    let out = tapegrad(args, threads);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed ({:?}): {stderr}", out.status.code());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The records of a results file, sorted by id, without their timing.
fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rs: Vec<Record> = text.lines().map(|l| Record::parse(l).expect("every line is a record")).collect();
    rs.sort_by(|a, b| a.id.cmp(&b.id));
    rs.iter().map(Record::without_timing).collect()
}

/// The lines of a results file as text, sorted, with the `"seconds":...,` field cut
/// out: equal only if every number is printed with the same digits.
fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out: Vec<String> = text
        .lines()
        .map(|l| {
            let start = l.find("\"seconds\":").expect("a record has its timing");
            let end = start + l[start..].find(',').unwrap() + 1;
            format!("{}{}", &l[..start], &l[end..])
        })
        .collect();
    out.sort();
    out
}

const SIGNAL: &str = "kind = \"signal\"
[fixed]
depth = 12
width = 24
[axes]
activation = [\"tanh\", \"relu\"]
sw2 = { from = 0.5, to = 3.0, steps = 4 }
sb2 = [0.0, 0.1]
seed = [0, 1]
";

fn parse_err(text: &str) -> String {
    Sweep::parse(text, "grid.toml").expect_err("the file is not a valid sweep").to_string()
}

#[test]
fn bad_sweep_files_name_file_line_and_key() {
    let e = parse_err("kind = \"signal\"\n[fixed]\ndepth = 3\nsw3 = 1.0\n");
    assert!(e.starts_with("grid.toml:4: key `sw3`: unknown setting"), "{e}");
    let e = parse_err("kind = \"signal\"\n\n[axes]\nsw2 = []\n");
    assert!(e.starts_with("grid.toml:4: key `sw2`: the axis is empty"), "{e}");
    let e = parse_err("kind = \"signal\"\n[axes]\nsw2 = { from = 1, to = 2, steps = 0 }\n");
    assert!(e.contains("grid.toml:3: key `sw2`: the axis is empty"), "{e}");
    let e = parse_err(
        "kind = \"signal\"\n[axes]\nsb2 = { from = 0, to = 1, steps = 1000 }\nsw2 = { from = 1, to = 2, steps = 1001 }\n",
    );
    assert!(e.contains("grid.toml:4: key `sw2`: the grid grows past 1000000 cells"), "{e}");
    let e = parse_err("kind = \"signal\"\n[fixed]\nwidth = \"wide\"\n");
    assert!(e.contains("grid.toml:3: key `width`: `\"wide\"` is not a whole number"), "{e}");
    let e = parse_err("kind = \"signal\"\n[fixed]\nactivation = \"swish\"\n");
    assert!(e.contains("grid.toml:3: key `activation`") && e.contains("unknown activation"), "{e}");
    let e = parse_err("kind = \"fit\"\n");
    assert!(e.contains("grid.toml:1: key `kind`: unknown kind `fit`"), "{e}");
    let e = parse_err("kind = \"train\"\n[fixed]\nlr = 0.1\n[axes]\nlr = [0.1]\n");
    assert!(e.contains("key `lr`: is both fixed and an axis"), "{e}");
    let e = parse_err("kind = \"signal\"\nsteps = 3\n");
    assert!(e.contains("grid.toml") && e.contains("unknown field `steps`"), "{e}");

    // Through the binary: exit code 2 and the message.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", "kind = \"train\"\n[axes]\noptimizer = [\"sgd\"]\n");
    let out = tapegrad(&["sweep", "run", &file, "--out", &dir.path().join("o").display().to_string()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml:3: key `optimizer`: `\"sgd\"` must be one of: gd, momentum, adam"), "{stderr}");
}

#[test]
fn cell_ids_are_fixed_numbers_of_the_canonical_settings() {
    // FNV-1a's published test vectors.
    assert_eq!(cell_id(""), "cbf29ce484222325");
    assert_eq!(cell_id("a"), "af63dc4c8601ec8c");
    let sweep = Sweep::parse("kind = \"signal\"\n", "d.toml").unwrap();
    let cell = &sweep.cells[0];
    let canonical = "kind=signal;activation=\"tanh\";c0=0.5;depth=10;sb2=0.0;seed=0;sw2=1.0;width=100";
    assert_eq!(tapegrad::sweep::canonical(cell.kind, &cell.settings), canonical);
    assert_eq!(cell.id, cell_id(canonical));
    assert_eq!(cell.id, "26f50fa0dfd72b8d");
    // Writing a default out, or an integer for a float, is the same cell.
    let explicit = Sweep::parse("kind = \"signal\"\n[fixed]\nsw2 = 1\nwidth = 100\n", "e.toml").unwrap();
    assert_eq!(explicit.cells[0].id, cell.id);

    let jacobian = &Sweep::parse("kind = \"jacobian\"\n", "j.toml").unwrap().cells[0];
    let canonical = "kind=jacobian;activation=\"tanh\";depth=10;init=\"orthogonal\";seed=0;width=128";
    assert_eq!(tapegrad::sweep::canonical(jacobian.kind, &jacobian.settings), canonical);
    assert_eq!(jacobian.id, "4b2d737295d7bcaf");
}

#[test]
fn shards_cover_every_cell_exactly_once() {
    let sweep = Sweep::parse(SIGNAL, "s.toml").unwrap();
    assert_eq!(sweep.cells.len(), 2 * 4 * 2 * 2);
    let mut ids: Vec<&str> = sweep.cells.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), sweep.cells.len(), "ids are distinct");
    for n in [1, 2, 3, 5, 32, 40] {
        let mut seen: Vec<&str> = (0..n).flat_map(|k| sweep.shard(k, n)).map(|c| c.id.as_str()).collect();
        let sizes: Vec<usize> = (0..n).map(|k| sweep.shard(k, n).len()).collect();
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "balanced: {sizes:?}");
        seen.sort();
        assert_eq!(seen, ids, "{n} shards");
    }
}

#[test]
fn merged_shards_and_one_thread_equal_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    let file = write(dir.path(), "s.toml", SIGNAL);
    ok(&["sweep", "run", &file, "--out", &d("single")], None);
    ok(&["sweep", "run", &file, "--out", &d("one-thread")], Some("1"));
    for k in 0..3 {
        ok(&["sweep", "run", &file, "--out", &d(&format!("shard{k}")), "--shard", &format!("{k}/3"), "--json"], None);
    }
    let partial = tapegrad(&["sweep", "merge", &d("shard0"), &d("shard1"), "--out", &d("part/results.jsonl")], None);
    assert_eq!(partial.status.code(), Some(1), "two of three shards are incomplete");
    assert!(String::from_utf8_lossy(&partial.stdout).contains("missing"), "{partial:?}");

    let report = ok(
        &[
            "sweep",
            "merge",
            &d("shard0"),
            &d("shard1"),
            &d("shard2"),
            &d("shard1"),
            "--out",
            &d("merged/results.jsonl"),
        ],
        None,
    );
    assert!(report.contains("0 missing, 11 duplicates, 0 conflicting"), "{report}");
    let single = records(&dir.path().join("single/results.jsonl"));
    assert_eq!(single.len(), 32);
    assert_eq!(records(&dir.path().join("merged/results.jsonl")), single);
    assert_eq!(records(&dir.path().join("one-thread/results.jsonl")), single);
    // Bit for bit: the same digits of every number, not just equal parsed values.
    let single = lines(&dir.path().join("single/results.jsonl"));
    assert_eq!(lines(&dir.path().join("merged/results.jsonl")), single);
    assert_eq!(lines(&dir.path().join("one-thread/results.jsonl")), single);
    // The merged file is sorted by id.
    let merged = std::fs::read_to_string(dir.path().join("merged/results.jsonl")).unwrap();
    let ids: Vec<String> = merged.lines().map(|l| Record::parse(l).unwrap().id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let html = ok(&["sweep", "report", &d("merged"), "--x", "sw2", "--y", "sb2", "--value", "q_last"], None);
    assert!(html.contains("index.html"), "{html}");
    let page = std::fs::read_to_string(dir.path().join("merged/index.html")).unwrap();
    assert!(page.contains("<svg") && page.contains("q_last"));
}

#[test]
fn a_run_killed_mid_way_resumes_to_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    // Enough cells that the run is still going when it is killed.
    let text = "kind = \"signal\"\n[fixed]\ndepth = 30\nwidth = 96\n[axes]\nsw2 = { from = 0.5, to = 4.0, steps = 20 }\nsb2 = [0.0, 0.05]\nseed = [0, 1, 2]\n";
    let file = write(dir.path(), "k.toml", text);
    let results = d("killed/results.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["sweep", "run", &file, "--out", &d("killed").display().to_string()])
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&results).map_or(0, |t| t.lines().count());
        if lines >= 5 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no records after two minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = std::fs::read_to_string(&results).unwrap().lines().count();
    assert!(before < 120, "killed before the end ({before} records)");
    // A torn last line, as a crash mid-write would leave it, is cut off and rewritten.
    let mut torn = std::fs::read_to_string(&results).unwrap();
    torn.push_str("{\"id\":\"00");
    std::fs::write(&results, torn).unwrap();

    let resumed = ok(&["sweep", "run", &file, "--out", &d("killed").display().to_string()], None);
    assert!(resumed.contains(&format!("{before} already done")), "{resumed}");
    ok(&["sweep", "run", &file, "--out", &d("whole").display().to_string()], None);
    let whole = records(&d("whole/results.jsonl"));
    assert_eq!(whole.len(), 120);
    assert_eq!(records(&results), whole);
    assert_eq!(lines(&results), lines(&d("whole/results.jsonl")));
}

#[test]
fn a_train_sweep_learns_the_moons() {
    let dir = tempfile::tempdir().unwrap();
    let text = "kind = \"train\"\n[fixed]\nepochs = 300\nlr = 0.05\noptimizer = \"adam\"\n[axes]\ninit = [\"he\", \"zeros\"]\n";
    let file = write(dir.path(), "t.toml", text);
    let out = dir.path().join("t");
    ok(&["sweep", "run", &file, "--out", &out.display().to_string()], None);
    let rs = records(&out.join("results.jsonl"));
    let acc = |init: &str| {
        let r = rs.iter().find(|r| r["settings"]["init"] == init).unwrap();
        r["results"]["test_accuracy"].as_f64().unwrap()
    };
    assert!(acc("he") > 0.8, "He-initialized network learns the moons: {}", acc("he"));
    assert!(acc("he") > acc("zeros"), "he {} vs zeros {}", acc("he"), acc("zeros"));
}

#[test]
fn a_different_sweep_in_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.toml", "kind = \"signal\"\n[fixed]\ndepth = 2\nwidth = 4\n");
    let b = write(dir.path(), "b.toml", "kind = \"signal\"\n[fixed]\ndepth = 3\nwidth = 4\n");
    let out = dir.path().join("o").display().to_string();
    ok(&["sweep", "run", &a, "--out", &out], None);
    let refused = tapegrad(&["sweep", "run", &b, "--out", &out], None);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("different sweep"));
}

#[test]
fn a_train_cell_counts_the_epochs_until_its_cost_reaches_the_target() {
    let cell = |settings: &str| {
        let text = format!("kind = \"train\"\n[fixed]\noptimizer = \"adam\"\nlr = 0.05\n{settings}\n");
        let sweep = Sweep::parse(&text, "t.toml").unwrap();
        let result = tapegrad::sweep::train(&sweep.cells[0]).to_json();
        (sweep.cells[0].id.clone(), result)
    };
    // Without a target the record is as before, and an explicit 0 is the same cell.
    let (id, plain) = cell("epochs = 60");
    assert!(plain.get("epochs_to_target").is_none(), "{plain}");
    assert_eq!(cell("epochs = 60\ntarget_cost = 0").0, id);
    // The cost after 59 updates as the target: reached after at most 59 epochs.
    let target = plain["cost"].as_f64().unwrap();
    let (_, long) = cell(&format!("epochs = 200\ntarget_cost = {target:?}"));
    let k = long["epochs_to_target"].as_u64().expect("the target is reached") as usize;
    assert!((1..=59).contains(&k), "{long}");
    // Cut after k + 1 epochs the last cost (after k updates) is at the target; after k
    // epochs it is still above: k is the first.
    let last = |epochs: usize| cell(&format!("epochs = {epochs}")).1["cost"].as_f64().unwrap();
    assert!(last(k + 1) <= target && last(k) > target, "k = {k}: {} {} {target}", last(k + 1), last(k));
    // A target never reached is null; one met at initialization is 0 epochs.
    assert_eq!(cell("epochs = 20\ntarget_cost = 1e-9").1["epochs_to_target"], serde_json::Value::Null);
    assert_eq!(cell("epochs = 20\ntarget_cost = 1e9").1["epochs_to_target"], 0);
}

const JACOBIAN: &str = "kind = \"jacobian\"
[fixed]
width = 16
[axes]
activation = [\"tanh\", \"relu\"]
init = [\"orthogonal\", \"he\"]
depth = [3, 6]
seed = [0, 1]
";

#[test]
fn bad_jacobian_sweeps_name_the_key() {
    let e = parse_err("kind = \"jacobian\"\n[fixed]\nwidth = 5000\n");
    assert!(e.contains("grid.toml:3: key `width`: `5000` must be a whole number from 1 to 4096"), "{e}");
    let e = parse_err("kind = \"jacobian\"\n[fixed]\nwidth = 4096\n[axes]\ndepth = [1, 10]\n");
    assert!(e.contains("grid.toml:5: key `depth`: depth 10 × width 4096² weights"), "{e}");
    let e = parse_err("kind = \"jacobian\"\n[fixed]\nsw2 = 2.0\n");
    assert!(e.contains("grid.toml:3: key `sw2`: unknown setting for kind jacobian"), "{e}");
    let e = parse_err("kind = \"jacobian\"\n[axes]\ninit = [\"he\", \"gauss\"]\n");
    assert!(e.contains("grid.toml:3: key `init`"), "{e}");
}

#[test]
fn a_jacobian_cell_is_what_the_jacobian_command_measures() {
    let dir = tempfile::tempdir().unwrap();
    let text = "kind = \"jacobian\"\n[fixed]\nactivation = \"relu\"\ninit = \"he\"\ndepth = 4\nwidth = 24\nseed = 3\n";
    let file = write(dir.path(), "j.toml", text);
    let out = dir.path().join("j");
    ok(&["sweep", "run", &file, "--out", &out.display().to_string()], None);
    let record = &records(&out.join("results.jsonl"))[0]["results"];
    let args = ["jacobian", "--activation", "relu", "--init", "he", "--layers", "4", "--width", "24"];
    let cli =
        ok(&[&args[..], &["--seed", "3", "--seeds", "1", "--json", "--out", &d(dir.path(), "cli")]].concat(), None);
    let cli: serde_json::Value = serde_json::from_str(&cli).unwrap();
    assert_eq!(record["eig_mean"], cli["runs"][0]["eig_mean"]);
    assert_eq!(record["eig_var"], cli["runs"][0]["eig_var"]);
    assert_eq!(record["predicted_eig_mean"], cli["predicted_eig_mean"]);
    assert_eq!(record["predicted_eig_var"], cli["predicted_eig_var"]);
    // He-initialized ReLU: eig_mean 1 and eig_var 2L predicted.
    assert_eq!((record["predicted_eig_mean"].as_f64(), record["predicted_eig_var"].as_f64()), (Some(1.0), Some(8.0)));
}

fn d(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn merged_jacobian_shards_equal_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "j.toml", JACOBIAN);
    ok(&["sweep", "run", &file, "--out", &d(dir.path(), "single")], None);
    for k in 0..3 {
        let shard = format!("{k}/3");
        ok(&["sweep", "run", &file, "--out", &d(dir.path(), &format!("s{k}")), "--shard", &shard], Some("1"));
    }
    let dirs: Vec<String> = (0..3).map(|k| d(dir.path(), &format!("s{k}"))).collect();
    let merged = d(dir.path(), "merged/results.jsonl");
    let args: Vec<&str> = ["sweep", "merge"].into_iter().chain(dirs.iter().map(String::as_str)).collect();
    let report = ok(&[&args[..], &["--out", &merged]].concat(), None);
    assert!(report.contains("merged 16 records of 16 cells") && report.contains("0 missing"), "{report}");
    let single = records(&dir.path().join("single/results.jsonl"));
    assert_eq!(single.len(), 16);
    assert_eq!(records(Path::new(&merged)), single);
    assert_eq!(lines(Path::new(&merged)), lines(&dir.path().join("single/results.jsonl")));
    // Every cell (random weights; ReLU exactly, tanh through its mean-field lengths) has
    // a prediction; every measured and predicted mean is positive and finite.
    for r in &single {
        for key in ["eig_mean", "predicted_eig_mean"] {
            let mean = r["results"][key].as_f64().unwrap_or(f64::NAN);
            assert!(mean.is_finite() && mean > 0.0, "{key}: {r}");
        }
    }
    let page = ok(&["sweep", "report", &d(dir.path(), "merged"), "--x", "depth", "--y", "init", "--log"], None);
    assert!(page.contains("eig_mean over depth × init"), "{page}");
}

#[test]
fn train_sw2_and_sb2_are_the_initializers_they_name() {
    let base = "kind = \"train\"\n[fixed]\nepochs = 20\nwidth = 8\ndepth = 3\nactivation = \"tanh\"\n";
    let cell = |extra: &str| Sweep::parse(&format!("{base}{extra}"), "t.toml").unwrap().cells.remove(0);
    let by_sw2 = tapegrad::sweep::train(&cell("sw2 = 1.5\n"));
    let by_init = tapegrad::sweep::train(&cell("init = \"variance_scaling:1.5\"\n"));
    assert_eq!(by_sw2, by_init);
    let with_bias = tapegrad::sweep::train(&cell("sw2 = 1.5\nsb2 = 0.5\n"));
    assert_ne!(with_bias.cost, by_sw2.cost, "biases N(0, 0.5) change the run");
    let e = parse_err("kind = \"train\"\n[fixed]\ninit = \"he\"\nsw2 = 2.0\n");
    assert!(e.contains("grid.toml:4: key `sw2`: `sw2` replaces `init`"), "{e}");
    let e = parse_err("kind = \"train\"\n[fixed]\nlayers = \"dense:4,relu\"\nsb2 = 0.1\n");
    assert!(e.contains("grid.toml:3: key `layers`: `layers` excludes `sw2` and `sb2`"), "{e}");
}

#[test]
fn the_report_draws_k_xi_c_over_sw2() {
    let dir = tempfile::tempdir().unwrap();
    let text = "kind = \"signal\"\n[fixed]\nwidth = 8\nsb2 = 0.05\n[axes]\nsw2 = { from = 1, to = 4, steps = 7 }\ndepth = { from = 10, to = 100, steps = 4 }\n";
    let file = write(dir.path(), "x.toml", text);
    let out = d(dir.path(), "x");
    ok(&["sweep", "run", &file, "--out", &out], None);
    ok(&["sweep", "report", &out, "--x", "sw2", "--y", "depth", "--xi-curve", "6"], None);
    let page = std::fs::read_to_string(dir.path().join("x/index.html")).unwrap();
    assert!(page.contains("6 ξ_c (tanh, σ_b² = 0.05)"), "the page names the curve");
    let svg = std::fs::read_to_string(dir.path().join("x/c_last_sw2_depth.svg")).unwrap();
    // The curve is red, and 6 ξ_c is infinite at the critical σ_w² = 1.76: two branches
    // (and the legend's sample).
    assert_eq!(svg.matches("stroke=\"#DC1E1E\"").count(), 3, "two branches and the legend");
    assert!(!svg.contains("0000000001") && !svg.contains("9999999"), "tick labels are rounded");

    let refused = tapegrad(&["sweep", "report", &out, "--x", "depth", "--y", "sw2", "--xi-curve", "6"], None);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--xi-curve needs the x axis `sw2`"));
}
