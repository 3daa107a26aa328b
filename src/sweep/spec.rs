//! The sweep file: its TOML, each kind's schema (settings, types, defaults and checks),
//! and the grid of cells it spans.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use super::{Cell, Sweep, Value};
use crate::init::Init;
use crate::nn::Activation;

/// Most cells one sweep file may span: a grid over this is almost always a typo (a
/// range of 1000 steps where 10 were meant), and the bookkeeping of one this size fits
/// easily in memory.
pub const MAX_CELLS: usize = 1_000_000;

/// What a sweep's cells run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A deep random network's forward signal: per-layer length `q` and correlation `c`.
    Signal,
    /// A deep random network's input-output Jacobian: the mean and variance of the
    /// eigenvalues of `JJᵀ`.
    Jacobian,
    /// A training run: final cost, train/test accuracy, epochs to a target cost.
    Train,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Signal => "signal",
            Kind::Jacobian => "jacobian",
            Kind::Train => "train",
        })
    }
}

/// A sweep file that cannot be used: the message names the file, the line and the key.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepError(pub String);

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SweepError {}

type Check = fn(&Value) -> Result<(), String>;

/// A setting's default (which also fixes its type) and its check.
struct Setting {
    name: &'static str,
    default: Value,
    check: Check,
}

fn setting(name: &'static str, default: Value, check: Check) -> Setting {
    Setting { name, default, check }
}

fn any(_: &Value) -> Result<(), String> {
    Ok(())
}
fn non_negative(v: &Value) -> Result<(), String> {
    matches!(v, Value::Float(x) if x.is_finite() && *x >= 0.0).then_some(()).ok_or("must be a finite number ≥ 0".into())
}
fn positive(v: &Value) -> Result<(), String> {
    matches!(v, Value::Float(x) if x.is_finite() && *x > 0.0).then_some(()).ok_or("must be a finite number > 0".into())
}
fn unit(v: &Value) -> Result<(), String> {
    matches!(v, Value::Float(x) if (0.0..1.0).contains(x)).then_some(()).ok_or("must be in [0, 1)".into())
}
fn correlation(v: &Value) -> Result<(), String> {
    matches!(v, Value::Float(x) if (-1.0..=1.0).contains(x)).then_some(()).ok_or("must be in [-1, 1]".into())
}
fn size(v: &Value) -> Result<(), String> {
    matches!(v, Value::Int(1..=100_000)).then_some(()).ok_or("must be a whole number from 1 to 100000".into())
}
fn size_or_zero(v: &Value) -> Result<(), String> {
    matches!(v, Value::Int(0..=100_000)).then_some(()).ok_or("must be a whole number from 0 to 100000".into())
}
fn jacobian_width(v: &Value) -> Result<(), String> {
    let max = super::jacobian::MAX_WIDTH;
    matches!(v, Value::Int(w) if (1..=max).contains(w))
        .then_some(())
        .ok_or(format!("must be a whole number from 1 to {max} (the SVD takes width³ steps)"))
}
fn activation(v: &Value) -> Result<(), String> {
    let Value::Str(s) = v else { return Err("must be a string".into()) };
    s.parse::<Activation>().map(drop)
}
fn init(v: &Value) -> Result<(), String> {
    let Value::Str(s) = v else { return Err("must be a string".into()) };
    s.parse::<Init>().map(drop).map_err(|e| e.to_string())
}
fn one_of(v: &Value, valid: &[&str]) -> Result<(), String> {
    match v {
        Value::Str(s) if valid.contains(&s.as_str()) => Ok(()),
        _ => Err(format!("must be one of: {}", valid.join(", "))),
    }
}
fn dataset(v: &Value) -> Result<(), String> {
    one_of(v, &["moons", "digits"])
}
fn optimizer(v: &Value) -> Result<(), String> {
    one_of(v, &["gd", "momentum", "adam"])
}
fn widths(v: &Value) -> Result<(), String> {
    let Value::Str(s) = v else { return Err("must be a string such as \"12,6\"".into()) };
    super::train::parse_widths(s).map(drop)
}
fn layers(v: &Value) -> Result<(), String> {
    let Value::Str(s) = v else { return Err("must be a layer spec string".into()) };
    if s.is_empty() {
        return Ok(());
    }
    let mut probe = crate::nn::Sequential::new(2);
    probe.push_spec(s, &Init::Zeros, &mut crate::init::seeded_rng(0, 0))
}

/// The settings of `kind`, in name order.
fn schema(kind: Kind) -> Vec<Setting> {
    let s = |v: &str| Value::Str(v.into());
    let (int, float) = (Value::Int, Value::Float);
    match kind {
        Kind::Signal => vec![
            setting("activation", s("tanh"), activation),
            setting("c0", float(0.5), correlation),
            setting("depth", int(10), size),
            setting("sb2", float(0.0), non_negative),
            setting("seed", int(0), any),
            setting("sw2", float(1.0), non_negative),
            setting("width", int(100), size),
        ],
        Kind::Jacobian => vec![
            setting("activation", s("tanh"), activation),
            setting("depth", int(10), size),
            setting("init", s("orthogonal"), init),
            setting("seed", int(0), any),
            setting("width", int(128), jacobian_width),
        ],
        Kind::Train => vec![
            setting("activation", s("relu"), activation),
            setting("batch_size", int(0), size_or_zero),
            setting("dataset", s("moons"), dataset),
            setting("depth", int(0), size_or_zero),
            setting("epochs", int(100), size),
            setting("hidden", s("12,6"), widths),
            setting("init", s("he"), init),
            setting("layers", s(""), layers),
            setting("lr", float(0.01), positive),
            setting("noise", float(0.2), non_negative),
            setting("optimizer", s("gd"), optimizer),
            setting("output_init", s("normal:1"), init),
            setting("samples", int(200), size),
            setting("sb2", float(0.0), non_negative),
            setting("seed", int(0), any),
            setting("sw2", float(0.0), non_negative),
            setting("target_cost", float(0.0), non_negative),
            setting("test_fraction", float(0.2), unit),
            setting("width", int(0), size_or_zero),
        ],
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    kind: Spanned<String>,
    #[serde(default)]
    fixed: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    axes: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

/// Where an error is: `file:line: key `k``.
struct At<'a> {
    file: &'a str,
    text: &'a str,
}

impl At<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    fn err(&self, key: &Spanned<String>, why: impl fmt::Display) -> SweepError {
        SweepError(format!("{}:{}: key `{}`: {why}", self.file, self.line(key.span().start), key.get_ref()))
    }
}

/// Converts a TOML value to the type of `default`.
fn typed(v: &toml::Value, default: &Value) -> Result<Value, String> {
    match (default, v) {
        (Value::Float(_), toml::Value::Float(x)) => Ok(Value::Float(*x)),
        (Value::Float(_), toml::Value::Integer(i)) => Ok(Value::Float(*i as f64)),
        (Value::Int(_), toml::Value::Integer(i)) if *i >= 0 => Ok(Value::Int(*i as u64)),
        (Value::Str(_), toml::Value::String(s)) => Ok(Value::Str(s.clone())),
        (Value::Float(_), _) => Err(format!("`{v}` is not a number")),
        (Value::Int(_), _) => Err(format!("`{v}` is not a whole number ≥ 0")),
        (Value::Str(_), _) => Err(format!("`{v}` is not a string")),
    }
}

/// An axis's values: a list, or `{ from, to, steps }` (evenly spaced, both ends
/// included; whole numbers when both ends are and every step lands on one).
fn axis_values(v: &toml::Value) -> Result<Vec<toml::Value>, String> {
    match v {
        toml::Value::Array(items) if items.is_empty() => Err("the axis is empty".into()),
        toml::Value::Array(items) => Ok(items.clone()),
        toml::Value::Table(t) => {
            if let Some(k) = t.keys().find(|k| !["from", "to", "steps"].contains(&k.as_str())) {
                return Err(format!("unknown range field `{k}` (valid: from, to, steps)"));
            }
            let num = |k: &str| match t.get(k) {
                Some(toml::Value::Integer(i)) => Ok((*i as f64, true)),
                Some(toml::Value::Float(x)) if x.is_finite() => Ok((*x, false)),
                _ => Err(format!("a range needs a finite number `{k}`")),
            };
            let ((from, fi), (to, ti)) = (num("from")?, num("to")?);
            let steps = match t.get("steps") {
                Some(toml::Value::Integer(n)) if *n >= 1 => *n as usize,
                Some(toml::Value::Integer(_)) => return Err("the axis is empty (steps must be at least 1)".into()),
                _ => return Err("a range needs a whole number `steps`".into()),
            };
            if steps > MAX_CELLS {
                return Err(format!("{steps} steps; a sweep has at most {MAX_CELLS} cells"));
            }
            let at = |i: usize| match steps {
                1 => from,
                _ if i == steps - 1 => to,
                _ => from + (to - from) * i as f64 / (steps - 1) as f64,
            };
            let whole = fi && ti && (0..steps).all(|i| at(i).fract() == 0.0);
            Ok((0..steps)
                .map(|i| if whole { toml::Value::Integer(at(i) as i64) } else { toml::Value::Float(at(i)) })
                .collect())
        }
        _ => Err("an axis is a list `[a, b, ...]` or a range `{ from = A, to = B, steps = N }`".into()),
    }
}

pub(super) fn parse(text: &str, file: &str) -> Result<Sweep, SweepError> {
    let raw: RawSweep = toml::from_str(text).map_err(|e| SweepError(format!("{file}: {e}")))?;
    let at = At { file, text };
    let kind = match raw.kind.get_ref().as_str() {
        "signal" => Kind::Signal,
        "jacobian" => Kind::Jacobian,
        "train" => Kind::Train,
        other => {
            let line = at.line(raw.kind.span().start);
            return Err(SweepError(format!(
                "{file}:{line}: key `kind`: unknown kind `{other}`; valid: signal, jacobian, train"
            )));
        }
    };
    let schema = schema(kind);
    let find = |key: &Spanned<String>| {
        schema.iter().find(|s| s.name == key.get_ref()).ok_or_else(|| {
            let valid: Vec<_> = schema.iter().map(|s| s.name).collect();
            at.err(key, format!("unknown setting for kind {kind}; valid: {}", valid.join(", ")))
        })
    };
    let convert = |key: &Spanned<String>, s: &Setting, v: &toml::Value| {
        let v = typed(v, &s.default.clone()).map_err(|e| at.err(key, e))?;
        (s.check)(&v).map_err(|e| at.err(key, format!("`{v}` {e}")))?;
        Ok::<_, SweepError>(v)
    };

    let mut base: BTreeMap<String, Value> = schema.iter().map(|s| (s.name.to_string(), s.default.clone())).collect();
    for (key, value) in &raw.fixed {
        let s = find(key)?;
        if raw.axes.contains_key(key) {
            return Err(at.err(key, "is both fixed and an axis"));
        }
        base.insert(key.get_ref().clone(), convert(key, s, value.get_ref())?);
    }
    let mut axes = BTreeMap::new();
    let mut count: usize = 1;
    for (key, value) in &raw.axes {
        let s = find(key)?;
        let values = axis_values(value.get_ref()).map_err(|e| at.err(key, e))?;
        let values = values.iter().map(|v| convert(key, s, v)).collect::<Result<Vec<_>, _>>()?;
        count = count.checked_mul(values.len()).filter(|&n| n <= MAX_CELLS).ok_or_else(|| {
            at.err(key, format!("the grid grows past {MAX_CELLS} cells, the most one sweep may have"))
        })?;
        axes.insert(key.get_ref().clone(), values);
    }
    let mut cells = Vec::with_capacity(count);
    for i in 0..count {
        let mut settings = base.clone();
        let mut rest = i;
        for (name, values) in axes.iter().rev() {
            settings.insert(name.clone(), values[rest % values.len()].clone());
            rest /= values.len();
        }
        cells.push(Cell::new(kind, settings));
    }
    match kind {
        Kind::Train => train_checks(&cells, &raw, &at)?,
        Kind::Jacobian => jacobian_checks(&cells, &raw, &at)?,
        Kind::Signal => {}
    }
    Ok(Sweep { kind, axes, cells })
}

/// The key `name` as written in the file (fixed or axis), for an error's line.
fn key_of(raw: &RawSweep, name: &str) -> Spanned<String> {
    raw.fixed
        .keys()
        .chain(raw.axes.keys())
        .find(|k| k.get_ref() == name)
        .cloned()
        .unwrap_or_else(|| Spanned::new(0..0, name.to_string()))
}

/// A Jacobian cell keeps every weight matrix: `depth × width²` at most
/// [`crate::data::MAX_ELEMENTS`].
fn jacobian_checks(cells: &[Cell], raw: &RawSweep, at: &At<'_>) -> Result<(), SweepError> {
    let max = crate::data::MAX_ELEMENTS as u64;
    for c in cells {
        let (w, d) = (c.int("width"), c.int("depth"));
        if d.saturating_mul(w).saturating_mul(w) > max {
            let why = format!("depth {d} × width {w}² weights is more than {max}, the most a network may hold");
            return Err(at.err(&key_of(raw, "depth"), why));
        }
    }
    Ok(())
}

/// `width` and `depth` (a plain stack) go together, and exclude `layers`.
fn train_checks(cells: &[Cell], raw: &RawSweep, at: &At<'_>) -> Result<(), SweepError> {
    let key = |name: &str| key_of(raw, name);
    for c in cells {
        let (w, d) = (c.int("width"), c.int("depth"));
        if (w == 0) != (d == 0) {
            return Err(at.err(&key(if w == 0 { "depth" } else { "width" }), "`width` and `depth` go together"));
        }
        if w > 0 && !c.str("layers").is_empty() {
            return Err(at.err(&key("layers"), "`layers` excludes `width` and `depth`"));
        }
        if (c.float("sw2") > 0.0 || c.float("sb2") > 0.0) && !c.str("layers").is_empty() {
            return Err(at.err(&key("layers"), "`layers` excludes `sw2` and `sb2`"));
        }
        let init_given = raw.fixed.keys().chain(raw.axes.keys()).any(|k| k.get_ref() == "init");
        if c.float("sw2") > 0.0 && init_given {
            return Err(at.err(&key("sw2"), "`sw2` replaces `init`: give one of them"));
        }
    }
    Ok(())
}
