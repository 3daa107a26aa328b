"""The signal sweep of benches/sweep.rs in JAX: tanh, width 128, depth 50, a 20 x 20 grid
of (sw2, sb2), 2 seeds; per layer, q (mean squared pre-activation of one input) and c
(the correlation of a pair's pre-activations, started at c0 = 0.5). vmap over the
cells, lax.scan over the layers, weights drawn inside with jax.random, jit, float64.

Compilation is excluded: the jitted function runs once before the timed runs.

usage: python3 benches/jax_signal.py [--repeats N]
prints: cells=800 seconds=... cells_per_s=...
"""
import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (after enabling float64)

WIDTH, DEPTH, C0 = 128, 50, 0.5


def cell(sw2, sb2, seed):
    key = jax.random.PRNGKey(seed)
    kx, kz, kw = jax.random.split(key, 3)
    x1 = jax.random.normal(kx, (WIDTH,))
    x2 = C0 * x1 + jnp.sqrt(1 - C0**2) * jax.random.normal(kz, (WIDTH,))

    def layer(carry, k):
        h1, h2 = carry
        kw_, kb = jax.random.split(k)
        w = jax.random.normal(kw_, (WIDTH, WIDTH)) * jnp.sqrt(sw2 / WIDTH)
        b = jax.random.normal(kb, (WIDTH,)) * jnp.sqrt(sb2)
        z1, z2 = w @ h1 + b, w @ h2 + b
        q = jnp.mean(z1 * z1)
        c = jnp.sum(z1 * z2) / jnp.sqrt(jnp.sum(z1 * z1) * jnp.sum(z2 * z2))
        return (jnp.tanh(z1), jnp.tanh(z2)), (q, c)

    _, (q, c) = jax.lax.scan(layer, (x1, x2), jax.random.split(kw, DEPTH))
    return q, c


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sw2, sb2 = jnp.meshgrid(jnp.linspace(0.5, 4.0, 20), jnp.linspace(0.0, 0.5, 20), indexing="ij")
    sw2 = jnp.repeat(sw2.ravel(), 2)
    sb2 = jnp.repeat(sb2.ravel(), 2)
    seeds = jnp.tile(jnp.arange(2), 400)
    run = jax.jit(jax.vmap(cell))
    jax.block_until_ready(run(sw2, sb2, seeds))
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        jax.block_until_ready(run(sw2, sb2, seeds))
        best = min(best, time.perf_counter() - start)
    print(f"cells={sw2.size} seconds={best:.3f} cells_per_s={sw2.size / best:.1f}")


if __name__ == "__main__":
    main()
