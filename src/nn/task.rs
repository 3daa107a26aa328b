//! What a model's output means: the task decides the loss that trains it, what
//! [`Sequential::predict`](super::Sequential::predict) returns and which targets fit.

use std::fmt;
use std::str::FromStr;

use crate::tape::Var;
use crate::tensor::Tensor;

use super::BinaryLoss;

/// The task a model is trained for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Task {
    /// One logit per row against 0/1 targets, `(n, 1)`.
    Binary(BinaryLoss),
    /// `classes` logits per row against a class index per row, `(n, 1)` holding
    /// `0..classes`: softmax cross-entropy.
    MultiClass {
        /// The number of classes (the model's output width).
        classes: usize,
    },
    /// Real-valued outputs against targets of the same shape: mean squared error.
    Regression,
}

impl Task {
    /// The mean loss of `logits` against `targets`.
    ///
    /// # Panics
    /// If the targets do not fit the task (the shapes, or a class index out of range).
    pub fn loss<'t>(self, logits: Var<'t>, targets: &Tensor) -> Var<'t> {
        match self {
            Task::Binary(loss) => loss.apply(logits, targets),
            Task::MultiClass { .. } => logits.cross_entropy_indices(targets),
            Task::Regression => logits.mse(targets),
        }
    }

    /// The prediction from `logits`: `σ(z)` (binary), `softmax(z)` over each row
    /// (multi-class), `z` itself (regression).
    pub fn predict(self, logits: Var<'_>) -> Var<'_> {
        match self {
            Task::Binary(_) => logits.sigmoid(),
            Task::MultiClass { .. } => logits.softmax(1),
            Task::Regression => logits,
        }
    }

    /// Checks that `targets` fit the task for a model with `outputs` outputs, saying why
    /// not: the shape, a label that is not 0/1 or not a class index in range.
    pub fn check_targets(self, targets: &Tensor, outputs: usize) -> Result<(), String> {
        let (n, cols) = targets.shape();
        let label_column = |what: &str| {
            if cols != 1 {
                return Err(format!("{self} targets are one {what} per row, a {n}x1 column; got {n}x{cols}"));
            }
            Ok(())
        };
        match self {
            Task::Binary(_) => {
                label_column("0/1 label")?;
                if outputs != 1 {
                    return Err(format!("a binary model has 1 output; this one has {outputs}"));
                }
                match targets.data().iter().position(|&t| t != 0.0 && t != 1.0) {
                    Some(i) => Err(format!("row {i}: label {} is not 0 or 1", targets.data()[i])),
                    None => Ok(()),
                }
            }
            Task::MultiClass { classes } => {
                label_column("class index")?;
                if outputs != classes {
                    return Err(format!("{classes} classes need {classes} outputs; the model has {outputs}"));
                }
                let bad = |&t: &f64| t.fract() != 0.0 || !(0.0..classes as f64).contains(&t);
                match targets.data().iter().position(bad) {
                    Some(i) => {
                        Err(format!("row {i}: label {} is not a class index in 0..{classes}", targets.data()[i]))
                    }
                    None => Ok(()),
                }
            }
            Task::Regression => {
                if cols != outputs {
                    return Err(format!("{cols} target columns for a model with {outputs} outputs"));
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::Binary(_) => write!(f, "binary"),
            Task::MultiClass { .. } => write!(f, "multiclass"),
            Task::Regression => write!(f, "regression"),
        }
    }
}

/// The most classes a multi-class task takes: enough for any label set a CSV file
/// holds in practice, and a guard against a regression target read as class indices.
pub const MAX_CLASSES: usize = 1000;

impl TaskKind {
    /// The task a target column fits: 0/1 labels are binary; non-negative integers with
    /// a largest value of at least 2 are class indices (multi-class); anything else, or
    /// more than one column, is regression.
    pub fn infer(targets: &Tensor) -> TaskKind {
        let y = targets.data();
        if targets.cols() != 1 {
            TaskKind::Regression
        } else if y.iter().all(|&v| v == 0.0 || v == 1.0) {
            TaskKind::Binary
        } else if y.iter().all(|&v| v >= 0.0 && v.fract() == 0.0 && v <= MAX_CLASSES as f64) {
            TaskKind::MultiClass
        } else {
            TaskKind::Regression
        }
    }

    /// The task of this kind for training targets `targets` (binary with `loss`), or why
    /// they do not fit it: a label that is not 0/1 or not a class index, a class with no
    /// training sample, too many classes.
    pub fn task_for(self, targets: &Tensor, loss: BinaryLoss) -> Result<Task, String> {
        let y = targets.data();
        let column = |what: &str| match targets.cols() {
            1 => Ok(()),
            c => Err(format!("{what} takes one target column; the data has {c}")),
        };
        match self {
            TaskKind::Binary => {
                column("binary classification")?;
                if let Some(i) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
                    return Err(format!("row {i}: label {} is not 0 or 1, as binary classification needs", y[i]));
                }
                match y.iter().all(|&v| v == y[0]) {
                    true => Err(format!("every training label is {}; need samples of both classes", y[0])),
                    false => Ok(Task::Binary(loss)),
                }
            }
            TaskKind::MultiClass => {
                column("multi-class classification")?;
                let bad = |&v: &f64| v < 0.0 || v.fract() != 0.0;
                if let Some(i) = y.iter().position(bad) {
                    return Err(format!("row {i}: label {} is not a class index (0, 1, 2, ...)", y[i]));
                }
                let classes = y.iter().fold(0.0f64, |m, &v| m.max(v)) as usize + 1;
                if classes > MAX_CLASSES {
                    return Err(format!("{classes} classes; at most {MAX_CLASSES} are supported"));
                }
                let mut count = vec![0usize; classes];
                y.iter().for_each(|&v| count[v as usize] += 1);
                match count.iter().position(|&c| c == 0) {
                    Some(c) => Err(format!("class {c} of 0..{classes} has no sample in the training data")),
                    None if classes < 2 => Err("every training label is 0; need at least two classes".into()),
                    None => Ok(Task::MultiClass { classes }),
                }
            }
            TaskKind::Regression => Ok(Task::Regression),
        }
    }
}

/// A task's name, as the command line and saved models spell it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TaskKind {
    /// `binary`.
    Binary,
    /// `multiclass`.
    MultiClass,
    /// `regression`.
    Regression,
}

impl FromStr for TaskKind {
    type Err = String;

    fn from_str(s: &str) -> Result<TaskKind, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "binary" => Ok(TaskKind::Binary),
            "multiclass" | "multi-class" => Ok(TaskKind::MultiClass),
            "regression" => Ok(TaskKind::Regression),
            other => Err(format!("unknown task `{other}`; valid: binary, multiclass, regression")),
        }
    }
}
