//! One text format for gradients (and any named tensors), for snapshot tests.
//!
//! Names come in the order given, each with its shape, then one line per row with every
//! value to 6 significant digits. Exact zeros print as `0`, so a snapshot shows at a
//! glance which gradients vanish.

use std::fmt::Write;

use crate::tensor::Tensor;

/// Significant digits printed per value.
pub const SIGNIFICANT_DIGITS: usize = 6;

/// Formats named tensors, in the order given, for a snapshot.
///
/// ```
/// use tapegrad::{Tensor, snapshot::format_gradients};
/// let g = Tensor::from_vec(1, 3, vec![46.0, 0.0, -0.125]);
/// assert_eq!(format_gradients([("x", &g)]), "x: 1x3\n  4.60000e1  0  -1.25000e-1\n");
/// ```
pub fn format_gradients<'a, S: AsRef<str>>(named: impl IntoIterator<Item = (S, &'a Tensor)>) -> String {
    let mut out = String::new();
    for (name, t) in named {
        let (r, c) = t.shape();
        writeln!(out, "{}: {r}x{c}", name.as_ref()).unwrap();
        for i in 0..r {
            let row: Vec<String> = t.row(i).iter().map(|&v| format_value(v)).collect();
            writeln!(out, "  {}", row.join("  ")).unwrap();
        }
    }
    out
}

/// One value to [`SIGNIFICANT_DIGITS`] digits; `0` for either zero.
pub fn format_value(v: f64) -> String {
    if v == 0.0 { "0".to_string() } else { format!("{v:.*e}", SIGNIFICANT_DIGITS - 1) }
}
