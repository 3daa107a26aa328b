//! Layer specs: a model's hidden layers as a string, such as
//! `dense:128,batchnorm,relu,dropout:0.1` or `dense:64,relu,residual(dense:64,relu,dense:64)`.

use crate::init::{Initializer, SeededRng};

use super::{Activation, Sequential};

/// The items of a spec, split at the commas outside parentheses.
fn items(spec: &str) -> Result<Vec<&str>, String> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1).ok_or_else(|| format!("layers `{spec}`: a `)` without its `(`"))?,
            ',' if depth == 0 => {
                out.push(spec[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(format!("layers `{spec}`: a `(` is not closed"));
    }
    out.push(spec[start..].trim());
    match out.iter().find(|s| s.is_empty()) {
        Some(_) => Err(format!("layers `{spec}`: an empty item (two commas in a row, or one at an end)")),
        None => Ok(out),
    }
}

/// The most units a `dense:N` item takes.
const MAX_UNITS: usize = 1 << 20;

impl Sequential {
    /// Appends the layers that `spec` lists, dense weights from `init`:
    /// `dense:N` (N units, no activation), an activation (`relu`, `tanh`, `sigmoid`,
    /// `identity`, `leaky_relu[:A]`), `batchnorm`, `layernorm`, `dropout:P`, and
    /// `residual(ITEMS)`, a residual block around its items (with a projection when they
    /// change the width). Returns an error naming the item that is not understood.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let mut model = Sequential::new(8);
    /// model.push_spec("dense:16,batchnorm,relu,residual(dense:16,relu),dropout:0.1", &Init::HeNormal, &mut seeded_rng(0, 1)).unwrap();
    /// assert_eq!(model.outputs(), 16);
    /// assert!(model.params.get("residual3.dense0.weight").is_some());
    /// assert!(model.push_spec("dense:0", &Init::HeNormal, &mut seeded_rng(0, 1)).is_err());
    /// ```
    pub fn push_spec(&mut self, spec: &str, init: &dyn Initializer, rng: &mut SeededRng) -> Result<(), String> {
        for item in items(spec)? {
            let (name, arg) = item.split_once(':').map_or((item, None), |(n, a)| (n.trim(), Some(a.trim())));
            let number = |what: &str| -> Result<f64, String> {
                let a = arg.ok_or_else(|| format!("layer `{item}`: needs {what}, as `{name}:{what}`"))?;
                a.parse::<f64>().map_err(|_| format!("layer `{item}`: `{a}` is not a number"))
            };
            match name {
                "dense" => {
                    let n = number("N")?;
                    if n.fract() != 0.0 || !(1.0..=MAX_UNITS as f64).contains(&n) {
                        return Err(format!("layer `{item}`: the units must be a whole number in 1..={MAX_UNITS}"));
                    }
                    self.dense(n as usize, Activation::Identity, init, rng);
                }
                "batchnorm" | "layernorm" if arg.is_some() => return Err(format!("layer `{item}` takes no argument")),
                "batchnorm" => _ = self.batch_norm(),
                "layernorm" => _ = self.layer_norm(),
                "dropout" => match number("P")? {
                    p if (0.0..1.0).contains(&p) => _ = self.dropout(p),
                    p => return Err(format!("layer `{item}`: the drop probability {p} is not in [0, 1)")),
                },
                _ if name.starts_with("residual(") && item.ends_with(')') => {
                    let inner = &item["residual(".len()..item.len() - 1];
                    let width = self.outputs();
                    // Built once to learn its output width, then for real, with a
                    // projection if the width changes.
                    let mut probe = Sequential::new(width);
                    probe.push_spec(inner, init, &mut rng.clone())?;
                    let projection = (probe.outputs() != width).then_some(init);
                    let mut result = Ok(());
                    self.residual(projection, rng, |b, rng| result = b.push_spec(inner, init, rng));
                    result?;
                }
                _ => match item.parse::<Activation>() {
                    Ok(a) => _ = self.activation(a),
                    Err(_) => {
                        return Err(format!(
                            "unknown layer `{item}`; valid: dense:N, relu, tanh, sigmoid, identity, leaky_relu[:A], batchnorm, layernorm, dropout:P, residual(LAYERS)"
                        ));
                    }
                },
            }
        }
        Ok(())
    }
}
