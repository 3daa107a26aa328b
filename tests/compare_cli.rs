//! The `tapegrad` binary's default command: the experiment's report, its JSON, its
//! figures, and exit code 2 with a clear message for every bad argument.

use std::process::{Command, Output};

fn tapegrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad")).args(args).output().expect("the binary runs")
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-compare-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn bad_arguments_exit_with_code_2_and_say_why() {
    let out = temp_dir("bad");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 9] = [
        (&["--init", "hee"], "unknown initializer `hee`"),
        (&["--init", "normal:x"], "`x` is not a number"),
        (&["--lr", "0"], "must be a finite number greater than 0"),
        (&["--lr", "NaN"], "must be a finite number greater than 0"),
        (&["--epochs", "0"], "must be at least 1"),
        (&["compare", "--loss", "exact"], "unknown loss `exact`"),
        (&["--out", "/dev/null/figures"], "cannot write to output folder /dev/null/figures"),
        (&["--seed", "18446744073709551615", "--seeds", "2"], "--seed 18446744073709551615 plus --seeds 2 overflows"),
        (&["depth", "--seed", "18446744073709551615", "--seeds", "2"], "plus --seeds 2 overflows"),
    ];
    for (args, message) in cases {
        let mut all = args.to_vec();
        if !args.contains(&"--out") {
            all.extend(["--out", out]);
        }
        let result = tapegrad(&all);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn report_logs_costs_prints_the_table_and_writes_figures() {
    let out = temp_dir("report");
    let result = tapegrad(&["--epochs", "30", "--log-every", "10", "--out", out.to_str().unwrap()]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let stdout = String::from_utf8(result.stdout).unwrap();
    for line in ["cost after epoch 0: 0.69314718055994", "cost after epoch 20:", "cost after epoch 29:"] {
        assert!(stdout.contains(line), "missing `{line}` in\n{stdout}");
    }
    for init in ["zeros ", "normal:10 ", "he "] {
        assert!(stdout.lines().any(|l| l.starts_with(init)), "no table row for {init}");
    }
    let zeros = stdout.lines().find(|l| l.starts_with("zeros ")).unwrap();
    assert!(zeros.ends_with("cost unchanged at 0.693147 (to 12 digits) over 30 epochs"), "{zeros}");
    for file in ["cost_curves.svg", "boundary_zeros.svg", "boundary_normal_10.svg", "boundary_he.svg"] {
        let svg = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{file} is not an SVG");
    }
}

/// The seconds in `text` right before `unit` (the number that ends where `unit` starts).
fn seconds_before(text: &str, unit: &str) -> f64 {
    let head = &text[..text.find(unit).unwrap_or_else(|| panic!("no `{unit}` in `{text}`"))];
    head.rsplit([' ', '(']).next().unwrap().parse().unwrap()
}

#[test]
fn training_time_gives_the_wall_clock_then_the_runs_summed() {
    let out = temp_dir("time");
    let result = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["--epochs", "300", "--out", out.to_str().unwrap()])
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let stdout = String::from_utf8(result.stdout).unwrap();
    let line = stdout.lines().find(|l| l.starts_with("training time: ")).expect("a training time line");
    assert!(line.contains(" s of wall clock for 3 runs, 1 at a time ("), "{line}");
    let (wall, summed) = (seconds_before(line, " s of wall clock"), seconds_before(line, " s summed over the runs"));
    // One at a time, the runs' own training times fit inside the command's wall clock.
    assert!(summed > 0.0 && summed <= wall, "{line}");
}

#[test]
fn one_epoch_is_not_reported_as_an_unchanged_cost() {
    let out = temp_dir("one-epoch");
    let result = tapegrad(&["--epochs", "1", "--init", "zeros", "--out", out.to_str().unwrap()]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let stdout = String::from_utf8(result.stdout).unwrap();
    let zeros = stdout.lines().find(|l| l.starts_with("zeros ")).unwrap();
    assert!(zeros.ends_with("one epoch: cost 0.693 at initialization"), "{zeros}");
}

#[test]
fn json_holds_every_run() {
    let out = temp_dir("json");
    let args = ["--epochs", "20", "--seeds", "2", "--init", "he,xavier_uniform", "--json", "--out"];
    let result = tapegrad(&[&args[..], &[out.to_str().unwrap()]].concat());
    assert!(result.status.success());
    let v: serde_json::Value = serde_json::from_slice(&result.stdout).expect("stdout is JSON");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    let keys: Vec<(String, u64)> =
        runs.iter().map(|r| (r["init"].as_str().unwrap().to_string(), r["seed"].as_u64().unwrap())).collect();
    assert_eq!(keys, [("he".into(), 0), ("he".into(), 1), ("xavier_uniform".into(), 0), ("xavier_uniform".into(), 1)]);
    for r in runs {
        assert_eq!(r["costs"].as_array().unwrap().len(), 20);
        let acc = r["test_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
        assert!(r["train_seconds"].as_f64().unwrap() >= 0.0);
    }
}

/// What `--json` prints as the loss is a `--loss` setting that gives the same run.
#[test]
fn the_loss_printed_in_json_is_accepted_back_by_loss() {
    let out = temp_dir("loss");
    let run = |loss: &str| -> serde_json::Value {
        let args = ["--epochs", "5", "--init", "normal:10", "--json", "--loss", loss, "--out", out.to_str().unwrap()];
        let result = tapegrad(&args);
        assert!(result.status.success(), "--loss {loss}: {}", String::from_utf8_lossy(&result.stderr));
        serde_json::from_slice(&result.stdout).unwrap()
    };
    for loss in ["clipped", "clipped:0.001", "stable"] {
        let first = run(loss);
        let printed = first["loss"].as_str().unwrap().to_string();
        let again = run(&printed);
        assert_eq!(again["loss"], first["loss"], "--loss {printed}");
        assert_eq!(again["runs"][0]["costs"], first["runs"][0]["costs"], "--loss {printed}");
    }
    assert_eq!(run("clipped")["loss"], "clipped:0.00001");
    let bad = tapegrad(&["--loss", "clipped:0", "--out", out.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`0` is not a finite number greater than 0"));
}

#[test]
fn dataset_writes_csv() {
    let result = tapegrad(&["dataset", "circles", "--n", "10", "--noise", "0.1", "--seed", "3", "--factor", "0.5"]);
    assert!(result.status.success());
    let text = String::from_utf8(result.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("x1,x2,label"));
    let labels: Vec<f64> = lines.map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(labels.len(), 10);
    assert_eq!(labels.iter().sum::<f64>(), 5.0);
    let bad = tapegrad(&["dataset", "circles", "--factor", "1.5"]);
    assert_eq!(bad.status.code(), Some(2));
}
