//! Proves that Adam trains the reference network (2 → 12 → 6 → 1, He hidden layers,
//! standard-normal output layer, `make_moons` with noise 0.2, seed 0) to the accuracy
//! that full-batch gradient descent reaches with He initialization in 15 000 epochs, in
//! at most 2000 epochs.
//!
//! The reference figures come from `tapegrad compare --init he --seed 0` (15 000
//! epochs of gradient descent, lr 0.01): 96.0 % train and 95.0 % test accuracy.

use tapegrad::experiment::{Setup, moons, network};
use tapegrad::init::Init;
use tapegrad::optim::Adam;
use tapegrad::train::{FitOptions, evaluate, fit};

/// He reference accuracy after 15 000 epochs of gradient descent (seed 0).
const GD_HE_TRAIN_ACCURACY: f64 = 0.96;
const GD_HE_TEST_ACCURACY: f64 = 0.95;

#[test]
fn adam_reaches_the_he_reference_accuracy_within_2000_epochs() {
    let setup = Setup::default();
    let (train, test) = moons(&setup, 0);
    let mut model = network(&Init::HeNormal, &setup, 0);
    let mut adam = Adam::new(0.01);
    // Train in chunks; the optimizer's state carries over from one call to the next.
    const CHUNK: usize = 50;
    let mut epochs = 0;
    while epochs < 2000 {
        fit(&mut model, &train.x, &train.y, FitOptions::epochs(CHUNK), &mut adam).unwrap();
        epochs += CHUNK;
        if evaluate(&model, &train.x, &train.y).accuracy >= GD_HE_TRAIN_ACCURACY {
            break;
        }
    }
    let (tr, te) = (evaluate(&model, &train.x, &train.y), evaluate(&model, &test.x, &test.y));
    println!("Adam: {:.1} % train, {:.1} % test after {epochs} epochs", 100.0 * tr.accuracy, 100.0 * te.accuracy);
    assert!(tr.accuracy >= GD_HE_TRAIN_ACCURACY, "train accuracy {} after {epochs} epochs", tr.accuracy);
    assert!(te.accuracy >= GD_HE_TEST_ACCURACY - 0.02, "test accuracy {} after {epochs} epochs", te.accuracy);
    assert_eq!(adam.steps(), epochs as u64);
}
