"""The reference experiment in JAX, gradients by `jax.grad`: the same workload, data and
initial weights as numpy_ref.py (He, 15 000 full-batch epochs, lr 0.01, float64).

Two ways of running it:
  --mode scan   the whole training loop in one jitted `lax.scan`
  --mode step   a jitted training step, called from a Python loop

Compilation is excluded: the jitted function is run once before the timed run, from the
same initial weights.

usage: python3 benches/jax_ref.py [--mode scan|step] [--epochs N]
prints: mode=... final_cost=... train_time_s=...
"""
import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (after enabling float64)

from numpy_ref import load_he, load_moons  # noqa: E402

LR = 0.01


def cost_fn(params, X, Y):
    """The unclipped cross-entropy of numpy_ref.py, features-by-samples layout."""
    W1, b1, W2, b2, W3, b3 = params
    a1 = jnp.maximum(0, W1 @ X + b1)
    a2 = jnp.maximum(0, W2 @ a1 + b2)
    a3 = jax.nn.sigmoid(W3 @ a2 + b3)
    return jnp.mean(-jnp.log(a3) * Y - jnp.log(1 - a3) * (1 - Y))


def step(params, X, Y):
    cost, grads = jax.value_and_grad(cost_fn)(params, X, Y)
    return tuple(p - LR * g for p, g in zip(params, grads)), cost


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("scan", "step"), default="scan")
    ap.add_argument("--epochs", type=int, default=15000)
    a = ap.parse_args()
    X, Y = load_moons()
    p = load_he()
    params0 = tuple(jnp.asarray(p[k]) for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    X, Y = jnp.asarray(X), jnp.asarray(Y)

    if a.mode == "scan":

        @jax.jit
        def train(params):
            params, costs = jax.lax.scan(lambda q, _: step(q, X, Y), params, None, length=a.epochs)
            return params, costs[-1]

        jax.block_until_ready(train(params0))  # compile
        t0 = time.perf_counter()
        _, cost = jax.block_until_ready(train(params0))
        t = time.perf_counter() - t0
    else:
        jstep = jax.jit(step)
        jax.block_until_ready(jstep(params0, X, Y))  # compile
        t0 = time.perf_counter()
        params = params0
        for _ in range(a.epochs):
            params, cost = jstep(params, X, Y)
        jax.block_until_ready(params)
        t = time.perf_counter() - t0
    print("mode=%s final_cost=%.10f train_time_s=%.4f" % (a.mode, float(cost), t))


if __name__ == "__main__":
    main()
