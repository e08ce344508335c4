#!/usr/bin/python3
"""make_tree_task.py OUT.h5 [--seed S] [--train N] [--heads both|root|node]

A small learnable "recur-trees" dataset (io/treedata.h) for the training
tests (tests/test_tree_train.c): random trees of 1..12 nodes, n-ary (up to 4
children), nodes in random order; V = 8 tokens ('a'..'h'), internal nodes
without a token with probability 0.3.
  root label (2 classes): does token 0 ('a') occur anywhere in the tree?
  node label (3 classes): the node's own token mod 3 (-1 for a node without
                          a token)
/train has N trees (default 300), /val and /test 60 each.  Written with h5py
the way an external tool would.
"""
import argparse
import random

import h5py
import numpy as np


def tree(rng):
    size = rng.randint(1, 12)
    parent, nkids = [-1], [0]
    for p in range(1, size):
        q = rng.choice([q for q in range(p) if nkids[q] < 4])
        parent.append(q)
        nkids[q] += 1
        nkids.append(0)
    perm = list(range(size))
    rng.shuffle(perm)  # shape node p is local node perm[p]
    children = [[] for _ in range(size)]
    for p in range(1, size):
        children[perm[parent[p]]].append(perm[p])
    tokens = [0] * size
    for p in range(size):
        tokens[perm[p]] = -1 if nkids[p] and rng.random() < 0.3 else rng.randrange(8)
    return children, tokens


def split(rng, n):
    a = {k: [] for k in ("tree_offsets", "child_offsets", "children", "tokens", "node_labels", "root_labels")}
    a["tree_offsets"].append(0)
    a["child_offsets"].append(0)
    for _ in range(n):
        children, tokens = tree(rng)
        for kids in children:
            a["children"] += kids
            a["child_offsets"].append(len(a["children"]))
        a["tokens"] += tokens
        a["node_labels"] += [t % 3 if t >= 0 else -1 for t in tokens]
        a["root_labels"].append(int(0 in tokens))
        a["tree_offsets"].append(len(a["tokens"]))
    return a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train", type=int, default=300)
    ap.add_argument("--heads", choices=["both", "root", "node"], default="both")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    with h5py.File(a.out, "w") as f:
        f.attrs["format"] = "recur-trees"
        f.attrs["version"] = 1
        f["vocab"] = np.frombuffer(b"abcdefgh", dtype=np.uint8)
        for name, n in (("train", a.train), ("val", 60), ("test", 60)):
            for k, v in split(rng, n).items():
                if (k == "root_labels" and a.heads == "node") or (k == "node_labels" and a.heads == "root"):
                    continue
                if k == "children" and not v:
                    continue
                f[f"{name}/{k}"] = np.array(v, dtype=np.int64 if k.endswith("offsets") else np.int32)


if __name__ == "__main__":
    main()
