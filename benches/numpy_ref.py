"""The reference experiment as numpy with hand-written backprop: the baseline tapegrad is
timed against (the classic framework's workload, reading benches/data).

Features-by-samples layout (X is 2 x 400), W_l of shape (units_l, units_{l-1}),
LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID, unclipped cross-entropy computed every
epoch, full-batch gradient descent with lr 0.01, float64, He initial weights.

usage: python3 benches/numpy_ref.py [--epochs N]
prints: final_cost=... train_time_s=... (training only, data loading excluded)
"""
import argparse
import os
import time

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def load_moons():
    """X_train (2, n) and y_train (1, n) from moons.csv (x1,x2,y,split)."""
    xs, ys = [], []
    with open(os.path.join(DATA, "moons.csv")) as f:
        next(f)
        for line in f:
            a, b, y, split = line.strip().split(",")
            if split == "train":
                xs.append((float(a), float(b)))
                ys.append(float(y))
    return np.array(xs).T.copy(), np.array(ys).reshape(1, -1)


def load_he():
    """W1..W3 (out, in) and b1..b3 (out, 1) from init_he.csv (name,rows,cols,values...)."""
    params = {}
    with open(os.path.join(DATA, "init_he.csv")) as f:
        for line in f:
            parts = line.strip().split(",")
            r, c = int(parts[1]), int(parts[2])
            params[parts[0]] = np.array([float(v) for v in parts[3:]]).reshape(r, c)
    return params


def train(X, Y, p, lr, epochs):
    W1, b1, W2, b2, W3, b3 = (p[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    m = X.shape[1]
    cost = float("nan")
    for _ in range(epochs):
        z1 = W1 @ X + b1
        a1 = np.maximum(0, z1)
        z2 = W2 @ a1 + b2
        a2 = np.maximum(0, z2)
        z3 = W3 @ a2 + b3
        a3 = 1 / (1 + np.exp(-z3))
        with np.errstate(divide="ignore", invalid="ignore"):
            cost = np.nansum(-np.log(a3) * Y - np.log(1 - a3) * (1 - Y)) / m
        dz3 = (a3 - Y) / m
        dW3, db3 = dz3 @ a2.T, dz3.sum(axis=1, keepdims=True)
        dz2 = (W3.T @ dz3) * (a2 > 0)
        dW2, db2 = dz2 @ a1.T, dz2.sum(axis=1, keepdims=True)
        dz1 = (W2.T @ dz2) * (a1 > 0)
        dW1, db1 = dz1 @ X.T, dz1.sum(axis=1, keepdims=True)
        W1, b1 = W1 - lr * dW1, b1 - lr * db1
        W2, b2 = W2 - lr * dW2, b2 - lr * db2
        W3, b3 = W3 - lr * dW3, b3 - lr * db3
    return cost


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=15000)
    a = ap.parse_args()
    X, Y = load_moons()
    p = load_he()
    t0 = time.perf_counter()
    cost = train(X, Y, p, 0.01, a.epochs)
    t = time.perf_counter() - t0
    print("final_cost=%.10f train_time_s=%.4f" % (cost, t))


if __name__ == "__main__":
    main()
