"""A NumPy replica of the classic initialization experiment's own code, trained from the
data and initial weights tapegrad uses, so that what tapegrad says about that code can
be measured rather than assumed (docs/initialization.md, "What the classic code
computed").

The classic code works on features-by-samples arrays (X is 2 x m, W is units x previous
units, b is units x 1) and, every epoch of full-batch gradient descent:

- forward: Z = W A + b, ReLU in the hidden layers, sigmoid at the output;
- cost: -(1/m) sum(y ln(p + eps) + (1 - y) ln(1 - p + eps)), eps = 1e-5;
- backward: the loss hands back dA = -(y/(p + eps) - (1 - y)/(1 - p + eps)) (no 1/m);
  each activation multiplies by its derivative (p(1 - p) at the output, 1 for z > 0 else
  0 for ReLU); each linear layer computes dW = (1/m) dZ A_prev^T, db = (1/m) sum(dZ),
  and then
    --order classic:  updates W and b, and only then returns W^T dZ to the layer below,
                      with the W it has just updated (what the classic code did);
    --order textbook: returns W^T dZ with the W of the forward pass, and updates after
                      (plain gradient descent, what tapegrad's `--loss clipped` does).

"Accuracy" is reported both ways: thresholded (p > 0.5 means 1, tapegrad's accuracy)
and the classic 100 - 100 mean|y - p| on unthresholded probabilities (tapegrad's "soft").

Data and weights come from `tapegrad grads --init SPEC --seed K --json FILE` (the
training set, the seed's test set and every initial parameter); the script runs that
command itself when given the binary:

    cargo build --release
    # the textbook order against tapegrad's clipped cost log, every epoch:
    python3 benches/classic_replica.py --tapegrad target/release/tapegrad --check
    # the classic order over seeds 0-9 (mean and sample std, in percent; --per-run for
    # every run's numbers):
    python3 benches/classic_replica.py --tapegrad target/release/tapegrad --seeds 10
    # one run from a JSON file written by `tapegrad grads ... --json g.json`:
    python3 benches/classic_replica.py --json g.json --order textbook

Needs NumPy only.
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np

EPS = 1e-5


def load(path):
    """X, Y, X_test, Y_test (features by samples) and [(W, b)] in the classic layout."""
    with open(path) as f:
        doc = json.load(f)
    acts = doc["model"]["activations"]
    if acts[:-1] != ["relu"] * (len(acts) - 1) or acts[-1] != "identity":
        raise SystemExit(f"{path}: expected ReLU hidden layers and a logit output, got {acts}")
    X = np.array(doc["x"], dtype=np.float64).T.copy()
    Y = np.array(doc["y"], dtype=np.float64).reshape(1, -1)
    X_test = np.array(doc["test"]["x"], dtype=np.float64).T.copy()
    Y_test = np.array(doc["test"]["y"], dtype=np.float64).reshape(1, -1)
    params = doc["parameters"]
    layers = []
    for w, b in zip(params[0::2], params[1::2]):
        # tapegrad stores W as (inputs, outputs), row-major, and b as (1, outputs).
        W = np.array(w["values"], dtype=np.float64).reshape(w["shape"]).T.copy()
        B = np.array(b["values"], dtype=np.float64).reshape(b["shape"]).T.copy()
        layers.append((W, B))
    return X, Y, X_test, Y_test, layers


def sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def forward(layers, X):
    """Returns the inputs of every layer, their pre-activations and the probabilities."""
    inputs, zs = [], []
    A = X
    for i, (W, b) in enumerate(layers):
        inputs.append(A)
        Z = W @ A + b
        zs.append(Z)
        A = sigmoid(Z) if i == len(layers) - 1 else np.maximum(0.0, Z)
    return inputs, zs, A


def train(layers, X, Y, lr, epochs, order):
    """Full-batch gradient descent as the classic code does it; returns the cost log."""
    layers = [(W.copy(), b.copy()) for W, b in layers]
    m = X.shape[1]
    costs = []
    for _ in range(epochs):
        inputs, zs, P = forward(layers, X)
        costs.append(float(-np.sum(Y * np.log(P + EPS) + (1 - Y) * np.log(1 - P + EPS)) / m))
        dA = -(Y / (P + EPS) - (1 - Y) / (1 - P + EPS))
        for i in reversed(range(len(layers))):
            W, b = layers[i]
            dZ = dA * P * (1 - P) if i == len(layers) - 1 else dA * (zs[i] > 0)
            dW = dZ @ inputs[i].T / m
            db = np.sum(dZ, axis=1, keepdims=True) / m
            if order == "textbook":
                dA = W.T @ dZ
            W -= lr * dW
            b -= lr * db
            if order == "classic":
                dA = W.T @ dZ
    return layers, costs


def metrics(layers, X, Y):
    """(thresholded accuracy %, classic 100 - 100 mean|y - p| %)."""
    P = forward(layers, X)[2]
    return 100.0 * np.mean((P > 0.5) == (Y > 0.5)), 100.0 - 100.0 * np.mean(np.abs(Y - P))


def export(tapegrad, init, seed, folder):
    path = os.path.join(folder, f"{init.replace(':', '_')}-{seed}.json")
    cmd = [tapegrad, "grads", "--init", init, "--seed", str(seed), "--loss", "clipped", "--json", path]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return path


def tapegrad_costs(tapegrad, init, seed, epochs, lr, folder):
    cmd = [tapegrad, "compare", "--json", "--loss", "clipped", "--init", init, "--seed", str(seed),
           "--epochs", str(epochs), "--lr", str(lr), "--out", os.path.join(folder, "out")]
    doc = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return doc["runs"][0]["costs"]


def agree(a, b, tol=1e-9):
    """How many epochs two cost logs stay within `tol` of each other from the start."""
    for i, (p, q) in enumerate(zip(a, b)):
        if abs(p - q) > tol:
            return i
    return min(len(a), len(b))


def mean_std(values):
    v = np.array(values)
    return v.mean(), (v.std(ddof=1) if len(v) > 1 else 0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="one run from this `tapegrad grads --json` file")
    ap.add_argument("--tapegrad", help="the tapegrad binary, to export data and weights per seed")
    ap.add_argument("--init", default="zeros,normal:10,he", help="hidden initializers (with --tapegrad)")
    ap.add_argument("--seed", type=int, default=0, help="first seed (with --tapegrad)")
    ap.add_argument("--seeds", type=int, default=1, help="number of seeds (with --tapegrad)")
    ap.add_argument("--order", choices=["classic", "textbook"], default="classic")
    ap.add_argument("--epochs", type=int, default=15000)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--per-run", action="store_true", help="also print every run's numbers")
    ap.add_argument("--check", action="store_true",
                    help="compare the textbook order's cost log with `tapegrad compare --loss clipped`")
    a = ap.parse_args()

    if a.json:
        X, Y, Xt, Yt, layers = load(a.json)
        trained, costs = train(layers, X, Y, a.lr, a.epochs, a.order)
        (acc, soft), (tacc, tsoft) = metrics(trained, X, Y), metrics(trained, Xt, Yt)
        print(f"order {a.order}: train acc {acc:.2f} %, test acc {tacc:.2f} %, "
              f"soft train {soft:.2f} %, soft test {tsoft:.2f} %, final cost {costs[-1]:.10f}")
        return
    if not a.tapegrad:
        ap.error("give --json FILE or --tapegrad BINARY")

    inits = a.init.split(",")
    seeds = range(a.seed, a.seed + a.seeds)
    with tempfile.TemporaryDirectory() as folder:
        if a.check:
            worst = {}
            print(f"{'hidden init':<11} {'seed':>4} {'max |replica - tapegrad|':>25} {'agree to 1e-9 for':>18}"
                  f" {'ulp twin agrees for':>20}")
            for init in inits:
                for seed in seeds:
                    X, Y, _, _, layers = load(export(a.tapegrad, init, seed, folder))
                    mine = train(layers, X, Y, a.lr, a.epochs, "textbook")[1]
                    theirs = tapegrad_costs(a.tapegrad, init, seed, a.epochs, a.lr, folder)
                    assert len(mine) == len(theirs)
                    # The same replica from weights one ulp away: how long rounding alone
                    # keeps two runs of this network within 1e-9 of each other.
                    nudged = [(np.nextafter(W, np.inf), b) for W, b in layers]
                    twin = train(nudged, X, Y, a.lr, a.epochs, "textbook")[1]
                    diff = max(abs(p - q) for p, q in zip(mine, theirs))
                    worst[init] = max(worst.get(init, 0.0), diff)
                    print(f"{init:<11} {seed:>4} {diff:>25.3e} {agree(mine, theirs):>11} epochs"
                          f" {agree(mine, twin):>13} epochs")
            for init, diff in worst.items():
                verdict = "within" if diff <= 1e-9 else "NOT within"
                print(f"{init}: textbook order vs tapegrad --loss clipped, every epoch: "
                      f"max difference {diff:.3e} ({verdict} 1e-9)")
            return

        print(f"order {a.order}, {a.epochs} epochs, lr {a.lr}, eps {EPS}, seeds {seeds.start}-{seeds.stop - 1}"
              " (mean ± sample std, %)")
        print(f"{'hidden init':<12} {'train acc':>15} {'test acc':>15} {'soft train':>15} {'soft test':>15}"
              f" {'final cost':>17}")
        for init in inits:
            rows = []
            for seed in seeds:
                X, Y, Xt, Yt, layers = load(export(a.tapegrad, init, seed, folder))
                trained, costs = train(layers, X, Y, a.lr, a.epochs, a.order)
                rows.append((*metrics(trained, X, Y), *metrics(trained, Xt, Yt), costs[-1]))
                if a.per_run:
                    print(f"  {init} seed {seed}: train {rows[-1][0]:.2f} test {rows[-1][2]:.2f} soft train"
                          f" {rows[-1][1]:.4f} soft test {rows[-1][3]:.4f} final cost {costs[-1]:.10f}")
            cols = list(zip(*rows))
            cells = [mean_std(c) for c in (cols[0], cols[2], cols[1], cols[3])]
            cost = mean_std(cols[4])
            line = " ".join(f"{m:7.2f} ± {s:5.2f}" for m, s in cells)
            print(f"{init:<12} {line} {cost[0]:8.4f} ± {cost[1]:6.4f}")


if __name__ == "__main__":
    main()
