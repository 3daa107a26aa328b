"""Writes, for tests/datasets.rs, sklearn_points.csv: make_moons and make_circles
without noise or shuffling, as scikit-learn computes them; and sklearn_digits.csv: a
summary of load_digits() (its first three rows, each column's sum, and each column's sum
weighted by the row number from 1, which changes when rows are reordered), the label
as a 65th column.

usage: python3 tests/data/make_sklearn_fixtures.py   (needs scikit-learn)
"""
import os

import numpy as np
from sklearn.datasets import load_digits, make_circles, make_moons

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "sklearn_points.csv"), "w") as f:
    f.write("kind,n,factor,x1,x2,label\n")
    for n in (1, 2, 7, 400):
        x, y = make_moons(n_samples=n, shuffle=False, noise=None)
        for (a, b), l in zip(x, y):
            f.write("moons,%d,0,%r,%r,%d\n" % (n, float(a), float(b), l))
        for factor in (0.3, 0.8):
            x, y = make_circles(n_samples=n, shuffle=False, noise=None, factor=factor)
            for (a, b), l in zip(x, y):
                f.write("circles,%d,%r,%r,%r,%d\n" % (n, factor, float(a), float(b), l))

digits = load_digits()
table = np.column_stack([digits.data, digits.target]).astype(np.int64)
weights = np.arange(1, len(table) + 1, dtype=np.int64)
with open(os.path.join(here, "sklearn_digits.csv"), "w") as f:
    f.write("what," + ",".join("x%d" % (i + 1) for i in range(64)) + ",label\n")
    for i in range(3):
        f.write("row%d," % i + ",".join(str(v) for v in table[i]) + "\n")
    f.write("sum," + ",".join(str(v) for v in table.sum(axis=0)) + "\n")
    f.write("weighted_sum," + ",".join(str(v) for v in weights @ table) + "\n")
