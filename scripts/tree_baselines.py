#!/usr/bin/python3
"""tree_baselines.py - baselines for a recur-trees dataset, computed from the
file itself (h5py), so scripts/tree-results can set the tree model's accuracy
beside them:

  root labels:  the majority class of the train split, and a bag-of-words
                multinomial naive Bayes (add-one smoothing) over the tree's
                tokens: what the words alone say, without any structure;
  node labels:  the majority class, and each token's most frequent train
                label (the majority class for unseen tokens).

usage: tree_baselines.py TREES.h5 [--split test]  -> one JSON object on stdout
"""
import argparse
import json
from collections import Counter, defaultdict

import h5py
import numpy as np


def trees(g):
    off, tok = g["tree_offsets"][...], g["tokens"][...]
    for i in range(len(off) - 1):
        yield i, tok[off[i]:off[i + 1]]


def root_baselines(f, split):
    tr, te = f["train"], f[split]
    y_tr, y_te = tr["root_labels"][...], te["root_labels"][...]
    C = int(max(y_tr.max(), y_te.max())) + 1
    if "root_label_names" in f:
        C = max(C, len(f["root_label_names"]))
    V = int(max(tr["tokens"][...].max(), te["tokens"][...].max())) + 1
    majority = Counter(y_tr.tolist()).most_common(1)[0][0]
    counts = np.ones((C, V))  # add-one smoothing
    for i, toks in trees(tr):
        w = toks[toks >= 0]
        np.add.at(counts[y_tr[i]], w, 1)
    logp = np.log(counts / counts.sum(1, keepdims=True))
    prior = np.log(np.bincount(y_tr, minlength=C) + 1.0)
    right_nb = 0
    for i, toks in trees(te):
        w = toks[toks >= 0]
        right_nb += int(np.argmax(prior + logp[:, w].sum(1)) == y_te[i])
    n = len(y_te)
    return {"root_majority_accuracy": float(np.mean(y_te == majority)), "root_naive_bayes_accuracy": right_nb / n,
            "root_test_trees": n}


def node_baselines(f, split):
    tr, te = f["train"], f[split]
    lt, tt = tr["node_labels"][...], tr["tokens"][...]
    le, ts = te["node_labels"][...], te["tokens"][...]
    keep = lt >= 0
    majority = Counter(lt[keep].tolist()).most_common(1)[0][0]
    per = defaultdict(Counter)
    for t, l in zip(tt[keep].tolist(), lt[keep].tolist()):
        per[t][l] += 1
    best = {t: c.most_common(1)[0][0] for t, c in per.items()}
    m = le >= 0
    pred = np.array([best.get(t, majority) for t in ts[m].tolist()])
    return {"node_majority_accuracy": float(np.mean(le[m] == majority)),
            "node_per_token_accuracy": float(np.mean(pred == le[m])), "node_test_labels": int(m.sum())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trees")
    ap.add_argument("--split", default="test")
    a = ap.parse_args()
    out = {}
    with h5py.File(a.trees, "r") as f:
        if "root_labels" in f["train"]:
            out.update(root_baselines(f, a.split))
        if "node_labels" in f["train"]:
            out.update(node_baselines(f, a.split))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
