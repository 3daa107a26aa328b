"""Writes sklearn_points.csv: make_moons and make_circles without noise or shuffling,
as scikit-learn computes them, for tests/datasets.rs.

usage: python3 tests/data/make_sklearn_fixtures.py   (needs scikit-learn)
"""
import os

from sklearn.datasets import make_circles, make_moons

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
