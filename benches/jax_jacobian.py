"""The Jacobian of benches/jacobian.rs's network under JAX: 50 tanh layers, 256 wide,
weights N(0, SIGMA_W2/256) with SIGMA_W2 = 1 (drawn here from NumPy's generator, seed 15:
the timing does not depend on the draw), biases 0, float64, at one 1 x 256 input.

`jax.jit(jax.jacrev(f))`, compiled before timing; the figure is the median of REPEATS
runs, each waited for with `block_until_ready`.

Run: python3 -m venv /tmp/venv15 && /tmp/venv15/bin/pip install jax numpy
     /tmp/venv15/bin/python benches/jax_jacobian.py
"""

import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

DEPTH, WIDTH, SIGMA_W2, SEED, REPEATS = 50, 256, 1.0, 15, 30


def main():
    rng = np.random.default_rng(SEED)
    weights = jnp.asarray(rng.normal(0.0, np.sqrt(SIGMA_W2 / WIDTH), (DEPTH, WIDTH, WIDTH)))
    bias = jnp.zeros(WIDTH)
    x = jnp.asarray([((i + 1) * 0.618034) % 1.0 * 2.0 - 1.0 for i in range(WIDTH)]).reshape(1, WIDTH)

    def f(x):
        h = x
        for w in weights:
            h = jnp.tanh(h @ w + bias)
        return h.reshape(-1)

    jac = jax.jit(jax.jacrev(f))
    j = jac(x).block_until_ready()  # compile, excluded
    assert j.dtype == jnp.float64 and j.shape == (WIDTH, 1, WIDTH), (j.dtype, j.shape)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        jac(x).block_until_ready()
        times.append(time.perf_counter() - start)
    print(f"jax {jax.__version__} jit(jacrev) 50x256 tanh: median {np.median(times) * 1e3:.3f} ms over {REPEATS} runs "
          f"(min {min(times) * 1e3:.3f} ms)")


if __name__ == "__main__":
    main()
