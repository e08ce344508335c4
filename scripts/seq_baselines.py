#!/usr/bin/python3
"""Baselines for scripts/seq-results, computed on the very splits recur trains
and tests on (read from the recur-sequences HDF5 file, see io/seqdata.h).

  seq_baselines.py logreg DATA.h5 [--split test]
      classify: multinomial logistic regression (L2, full-batch gradient
      descent) on a bag of words (token ids, presence) for token inputs, or on
      the flattened features (every step's F values side by side) for feature
      inputs of equal length (e.g. the 8x8 digits).
  seq_baselines.py most-frequent-tag DATA.h5 [--split test]
      tag: each token's most frequent tag in the train split; tokens never
      seen in train get the most frequent tag overall.
  seq_baselines.py seasonal-naive DATA.h5 --season S --horizon H [--split test]
      regress (one target per window, from `recur data csv`): the value S
      steps before the target, read from the window itself (needs S >= H and
      a window of at least S - H + 1 steps), in original units; RMSE and MAE.

Prints one JSON object: {"baseline": ..., "split": ..., "accuracy"|"rmse","mae": ...}.
"""
import argparse
import json
import sys

import h5py
import numpy as np


def split_arrays(f, name):
    if name not in f:
        sys.exit(f"{f.filename}: no /{name} split")
    g = f[name]
    return {k: g[k][()] for k in g.keys()}


def design(f, sp):
    """Rows of the logistic regression: bag of words, or flattened features."""
    off = sp["offsets"]
    n = len(off) - 1
    if "tokens" in sp:
        V = len(f["vocab_words"]) if "vocab_words" in f else len(f["vocab"])
        X = np.zeros((n, V), dtype=np.float32)
        for i in range(n):
            X[i, np.unique(sp["tokens"][off[i]:off[i + 1]])] = 1
        return X
    lens = np.diff(off)
    if lens.min() != lens.max():
        sys.exit("logreg on features needs sequences of one length")
    return sp["features"].reshape(n, -1).astype(np.float32)


def logreg(args):
    with h5py.File(args.data, "r") as f:
        tr, te = split_arrays(f, "train"), split_arrays(f, args.split)
        Xtr, Xte = design(f, tr), design(f, te)
        ytr, yte = tr["labels"].astype(np.int64), te["labels"].astype(np.int64)
        C = len(f["label_names"]) if "label_names" in f else int(max(ytr.max(), yte.max())) + 1
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
    Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    W = np.zeros((Xtr.shape[1], C))
    b = np.zeros(C)
    Y = np.eye(C)[ytr]
    lam, lr = args.l2, args.lr
    for _ in range(args.iters):  # full-batch gradient descent on the mean cross-entropy + L2
        Z = Xtr @ W + b
        Z -= Z.max(1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(1, keepdims=True)
        G = (P - Y) / len(ytr)
        W -= lr * (Xtr.T @ G + lam * W)
        b -= lr * G.sum(0)
    acc = float(((Xte @ W + b).argmax(1) == yte).mean())
    print(json.dumps({"baseline": "logistic regression (%s)" % ("bag of words" if Xtr.shape[1] != 64 else "pixels"),
                      "split": args.split, "accuracy": acc}))


def most_frequent_tag(args):
    with h5py.File(args.data, "r") as f:
        tr, te = split_arrays(f, "train"), split_arrays(f, args.split)
    counts = {}
    for t, y in zip(tr["tokens"].tolist(), tr["step_labels"].tolist()):
        counts.setdefault(t, {}).setdefault(y, 0)
        counts[t][y] += 1
    overall = np.bincount(tr["step_labels"]).argmax()
    best = {t: max(c.items(), key=lambda kv: (kv[1], -kv[0]))[0] for t, c in counts.items()}
    pred = np.array([best.get(t, overall) for t in te["tokens"].tolist()])
    acc = float((pred == te["step_labels"]).mean())
    print(json.dumps({"baseline": "most frequent tag per word", "split": args.split, "accuracy": acc}))


def seasonal_naive(args):
    with h5py.File(args.data, "r") as f:
        sp = split_arrays(f, args.split)
        fm = f["norm/feature_mean"][()] if "norm/feature_mean" in f else None
        fs = f["norm/feature_std"][()] if "norm/feature_std" in f else None
        tm = f["norm/target_mean"][()] if "norm/target_mean" in f else None
        ts = f["norm/target_std"][()] if "norm/target_std" in f else None
        logged = f.attrs.get("target_transform", b"none")
        logged = (logged.decode() if isinstance(logged, bytes) else str(logged)) == "log"
    off, X, y = sp["offsets"], sp["features"], sp["seq_targets"][:, 0].astype(np.float64)
    if tm is not None:
        y = y * ts[0] + tm[0]
    if "seq_base" in sp:
        y = y + sp["seq_base"][:, 0]
    if logged:
        y = np.exp(y)
    lag = args.season - args.horizon  # steps before the window's last step
    preds = []
    for i in range(len(off) - 1):
        w = X[off[i]:off[i + 1], args.column].astype(np.float64)
        if fm is not None:
            w = w * fs[args.column] + fm[args.column]
        if logged:
            w = np.exp(w)
        if lag < 0 or lag >= len(w):
            sys.exit("seasonal-naive needs --season >= --horizon and a window of at least season-horizon+1 steps")
        preds.append(w[len(w) - 1 - lag])
    e = np.array(preds) - y
    print(json.dumps({"baseline": "seasonal naive (season %d)" % args.season, "split": args.split,
                      "rmse": float(np.sqrt((e ** 2).mean())), "mae": float(np.abs(e).mean())}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["logreg", "most-frequent-tag", "seasonal-naive"])
    ap.add_argument("data")
    ap.add_argument("--split", default="test")
    ap.add_argument("--season", type=int, default=12)
    ap.add_argument("--horizon", type=int, default=1)
    ap.add_argument("--column", type=int, default=0, help="seasonal-naive: the feature column holding the series")
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--iters", type=int, default=500)
    args = ap.parse_args()
    {"logreg": logreg, "most-frequent-tag": most_frequent_tag, "seasonal-naive": seasonal_naive}[args.kind](args)


if __name__ == "__main__":
    main()
