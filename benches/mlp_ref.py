"""The MLP step of benches/mlp_step.rs in NumPy (hand-written backprop) and in PyTorch
eager (autograd): one SGD step of a 784 -> 256 ReLU -> 256 ReLU -> 10 softmax
cross-entropy network on a batch of 256, float64, lr 0.01, with the bench's synthetic
data and weights (the same xorshift values, so all three start from the same numbers).

usage: python3 benches/mlp_ref.py numpy|torch [--steps N] [--threads T]
prints: impl=... loss_first=... loss_last=... median_step_ms=...
"""
import argparse
import time

import numpy as np

SIZES = [784, 256, 256, 10]
BATCH = 256
LR = 0.01
MASK = (1 << 64) - 1


def values(n, seed):
    """mlp_step.rs's `values`: deterministic values in [-0.5, 0.5)."""
    s = ((seed * 0x9E3779B97F4A7C15) & MASK) | 1
    out = np.empty(n)
    for i in range(n):
        s ^= (s << 13) & MASK
        s ^= s >> 7
        s ^= (s << 17) & MASK
        out[i] = (s >> 11) / float(1 << 53) - 0.5
    return out


def problem():
    """x (256, 784), class labels (256,), [(W (in, out), b (1, out))] as in mlp_step.rs
    (whose one-hot targets mark class `row % 7`)."""
    x = values(BATCH * SIZES[0], 1).reshape(BATCH, SIZES[0])
    labels = np.arange(BATCH) % 7
    params = []
    for l in range(3):
        fan_in, fan_out = SIZES[l], SIZES[l + 1]
        scale = 2.0 * np.sqrt(6.0 / fan_in)
        w = (values(fan_in * fan_out, 10 + l) * scale).reshape(fan_in, fan_out)
        params.append((w, np.zeros((1, fan_out))))
    return x, labels, params


def numpy_steps(x, labels, params, steps):
    """Hand-written backprop, written as the classic NumPy MLP loop is (in place where it
    can). The step stays inline in the loop, so each step's arrays live until the next
    step replaces them, as in a script: freed all at once at the end of a function call,
    glibc would hand the memory back to the system and fault it in again every step
    (about 4 ms more per step here)."""
    (W1, b1), (W2, b2), (W3, b3) = params
    n = x.shape[0]
    rows = np.arange(n)
    times, losses = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        z1 = x @ W1 + b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ W2 + b2
        a2 = np.maximum(z2, 0)
        z3 = a2 @ W3 + b3
        zs = z3 - z3.max(axis=1, keepdims=True)
        e = np.exp(zs)
        s = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - zs[rows, labels])
        dz3 = e / s
        dz3[rows, labels] -= 1
        dz3 /= n
        dW3, db3 = a2.T @ dz3, dz3.sum(axis=0)
        dz2 = (dz3 @ W3.T) * (z2 > 0)
        dW2, db2 = a1.T @ dz2, dz2.sum(axis=0)
        dz1 = (dz2 @ W2.T) * (z1 > 0)
        dW1, db1 = x.T @ dz1, dz1.sum(axis=0)
        W1 -= LR * dW1
        b1 -= LR * db1
        W2 -= LR * dW2
        b2 -= LR * db2
        W3 -= LR * dW3
        b3 -= LR * db3
        losses.append(float(loss))
        times.append(time.perf_counter() - t0)
    return times, losses


def torch_steps(x, labels, params, steps):
    """PyTorch eager: autograd for the gradients, the update under `no_grad`."""
    import torch

    x, labels = torch.from_numpy(x), torch.from_numpy(labels)
    ps = [(torch.from_numpy(w.copy()).requires_grad_(), torch.from_numpy(b.copy()).requires_grad_()) for w, b in params]
    times, losses = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        h = x
        for l, (w, b) in enumerate(ps):
            h = h @ w + b
            if l + 1 < len(ps):
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, labels)
        loss.backward()
        with torch.no_grad():
            for w, b in ps:
                w -= LR * w.grad
                b -= LR * b.grad
                w.grad = None
                b.grad = None
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    return times, losses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("impl", choices=("numpy", "torch"))
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2, help="PyTorch's intra-op threads")
    a = ap.parse_args()
    x, labels, params = problem()
    if a.impl == "numpy":
        times, losses = numpy_steps(x, labels, params, a.steps)
    else:
        import torch

        torch.set_num_threads(a.threads)
        times, losses = torch_steps(x, labels, params, a.steps)
    print("impl=%s loss_first=%.10f loss_last=%.10f median_step_ms=%.3f"
          % (a.impl, losses[0], losses[-1], 1e3 * float(np.median(times))))


if __name__ == "__main__":
    main()
