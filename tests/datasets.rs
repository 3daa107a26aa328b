//! `make_moons` and `make_circles` without noise or shuffling equal scikit-learn's
//! points to 1e-12, and the shipped digits equal `load_digits()` in their first rows,
//! column sums and row-weighted column sums (fixtures written by
//! tests/data/make_sklearn_fixtures.py with scikit-learn 1.9.1).

use tapegrad::data::{Noise, digits, make_circles, make_moons};
use tapegrad::init::seeded_rng;

/// Generator, sample count and factor (circles only) of one fixture set.
type Key = (String, usize, String);

#[test]
fn points_match_scikit_learn() {
    let text = include_str!("data/sklearn_points.csv");
    let exact = Noise { std: 0.0, shuffle: false };
    let mut groups: Vec<(Key, Vec<[f64; 3]>)> = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let key = (f[0].to_string(), f[1].parse().unwrap(), f[2].to_string());
        let row = [f[3].parse().unwrap(), f[4].parse().unwrap(), f[5].parse().unwrap()];
        match groups.last_mut() {
            Some((k, rows)) if *k == key => rows.push(row),
            _ => groups.push((key, vec![row])),
        }
    }
    assert_eq!(groups.len(), 12, "4 moons and 8 circles sets");
    for ((kind, n, factor), rows) in groups {
        let mut rng = seeded_rng(0, 0);
        let ours = match kind.as_str() {
            "moons" => make_moons(n, exact, &mut rng),
            _ => make_circles(n, factor.parse().unwrap(), exact, &mut rng),
        };
        assert_eq!(ours.len(), rows.len(), "{kind} n={n}");
        for (i, want) in rows.iter().enumerate() {
            let got = [ours.x.get(i, 0), ours.x.get(i, 1), ours.y.data()[i]];
            for k in 0..3 {
                assert!((got[k] - want[k]).abs() <= 1e-12, "{kind} n={n} factor={factor} row {i}: {got:?} vs {want:?}");
            }
        }
    }
}

#[test]
fn digits_match_scikit_learn() {
    let d = digits();
    // Each sample as scikit-learn's table row: 64 pixels, then the label.
    let row = |i: usize| d.x.row(i).iter().chain(&d.y.data()[i..=i]).copied().collect::<Vec<f64>>();
    let column_sum = |weighted: bool| {
        let mut sums = vec![0.0; 65];
        for i in 0..d.len() {
            let w = if weighted { (i + 1) as f64 } else { 1.0 };
            sums.iter_mut().zip(row(i)).for_each(|(s, v)| *s += w * v);
        }
        sums
    };
    let mut checked = Vec::new();
    for line in include_str!("data/sklearn_digits.csv").lines().skip(1) {
        let (what, values) = line.split_once(',').unwrap();
        let want: Vec<f64> = values.split(',').map(|v| v.parse().unwrap()).collect();
        let got = match what {
            "row0" => row(0),
            "row1" => row(1),
            "row2" => row(2),
            "sum" => column_sum(false),
            "weighted_sum" => column_sum(true),
            other => panic!("unknown fixture line {other}"),
        };
        assert_eq!(got, want, "{what}");
        checked.push(what.to_string());
    }
    assert_eq!(checked, ["row0", "row1", "row2", "sum", "weighted_sum"]);
    assert_eq!(d.len(), 1797);
}
