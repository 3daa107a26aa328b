//! The reference run through the tape lands on the numpy reference's final cost.
//!
//! 15 000 full-batch epochs of the 2-12-6-1 network on the moons data from the same He
//! weights as `benches/numpy_ref.py`; `bce_with_logits` equals numpy's
//! unclipped loss up to rounding, so the costs agree to well under 1e-9.

#[allow(dead_code)]
#[path = "../benches/common/reference.rs"]
mod reference;

use reference::{EPOCHS, FINAL_COST, load_he, load_moons, train_fused, train_tape};

#[test]
fn tape_training_reaches_the_numpy_final_cost() {
    let data = load_moons();
    let mut p = load_he();
    let cost = train_tape(&data, &mut p, EPOCHS);
    assert!((cost - FINAL_COST).abs() < 1e-9, "final cost {cost:.10}, numpy reference {FINAL_COST:.10}");
}

#[test]
fn the_hand_written_baseline_agrees_with_the_tape_for_a_few_epochs() {
    let data = load_moons();
    let (mut a, mut b) = (load_he(), load_he());
    let (ca, cb) = (train_tape(&data, &mut a, 50), train_fused(&data, &mut b, 50));
    assert!((ca - cb).abs() < 1e-12, "tape {ca}, fused {cb}");
    for i in 0..3 {
        for (x, y) in a.w[i].data().iter().zip(b.w[i].data()) {
            assert!((x - y).abs() < 1e-12, "W{}: tape {x}, fused {y}", i + 1);
        }
    }
}
