#!/usr/bin/python3
"""grad_distance.py - how much of the loss gradient reaches each input position,
as a function of its distance from the output: a chain RNN (depth tau) against
a recursive net over a balanced binary tree of the same sentences (depth
ceil(log2 tau)), reference §10-§11.  Used by scripts/grad-distance.

Both models are recur checkpoints: a one-layer rnn_tanh sentence classifier
(the output reads the last step) and a `--tree-cell tanh` recursive net (the
output reads the root).  Their weights are loaded into the textbook equations
written here with PyTorch autograd, an independent evaluation:

    chain: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),       y = head(h_tau)
    tree:  h_j = tanh(W_ih x_j + b_ih + W_hh sum_k h_k + b_hh),     y = head(h_root)

with x the token's embedding (0 at the tree's word-less internal nodes).  For
every test sentence and position t the norm of dL/dx_t is recorded against
the distance d = tau-1-t (steps to the output along the chain) together with
the path length to the output (chain: d; tree: the leaf's depth).  Writes
OUT/grad-distance.json, OUT/grad-distance.svg (log y) and prints a table.

usage: grad_distance.py CHAIN.h5 TREE.h5 SEQ.h5 TREES.h5 OUT_DIR [--max-distance N] [--label TEXT]
"""
import argparse
import json
import math

import h5py
import numpy as np
import torch


def tensor(f, name):
    return torch.tensor(np.asarray(f["model/" + name][...], dtype=np.float64))


def load_chain(path):
    with h5py.File(path, "r") as f:
        if f.attrs.get("cell") not in (b"rnn_tanh", "rnn_tanh"):
            raise SystemExit(f"{path}: expected an rnn_tanh checkpoint, found cell {f.attrs.get('cell')!r}")
        return {k: tensor(f, n) for k, n in [("emb", "embedding/weight"), ("w_ih", "rnn/weight_ih_l0"),
                                              ("b_ih", "rnn/bias_ih_l0"), ("w_hh", "rnn/weight_hh_l0"),
                                              ("b_hh", "rnn/bias_hh_l0"), ("hw", "head/weight"), ("hb", "head/bias")]}


def load_tree(path):
    with h5py.File(path, "r") as f:
        names = TREE_NAMES
        missing = [n for n in names.values() if "model/" + n not in f]
        if missing:
            raise SystemExit(f"{path}: expected a --tree-cell tanh checkpoint; missing {', '.join(missing)}")
        return {k: tensor(f, n) for k, n in names.items()}


# recur's names for the tanh recursive net (docs/checkpoints.md).
TREE_NAMES = {"emb": "embedding/weight", "w_ih": "tree/weight_ih", "b_ih": "tree/bias_ih", "w_hh": "tree/weight_hh",
              "b_hh": "tree/bias_hh", "hw": "root/weight", "hb": "root/bias"}


def chain_grads(p, tokens, label):
    x = p["emb"][tokens].clone().requires_grad_(True)
    h = torch.zeros(p["w_hh"].shape[1], dtype=torch.float64)
    for t in range(len(tokens)):
        h = torch.tanh(p["w_ih"] @ x[t] + p["b_ih"] + p["w_hh"] @ h + p["b_hh"])
    loss = torch.nn.functional.cross_entropy((p["hw"] @ h + p["hb"])[None], torch.tensor([label]))
    loss.backward()
    return x.grad.norm(dim=1).numpy(), loss.item()


def tree_grads(p, tokens, children, root, label):
    """tokens: [nodes] (-1 = no word); children: list per node; root: index."""
    leaves = [j for j, t in enumerate(tokens) if t >= 0]
    x = p["emb"][torch.tensor([tokens[j] for j in leaves])].clone().requires_grad_(True)
    slot = {j: i for i, j in enumerate(leaves)}
    H = p["w_hh"].shape[1]
    h, depth = {}, {root: 0}
    order, stack = [], [root]
    while stack:  # parents before children, then evaluate children first
        j = stack.pop()
        order.append(j)
        for k in children[j]:
            depth[k] = depth[j] + 1
            stack.append(k)
    for j in reversed(order):
        s = sum((h[k] for k in children[j]), torch.zeros(H, dtype=torch.float64))
        xin = p["w_ih"] @ x[slot[j]] if j in slot else torch.zeros(H, dtype=torch.float64)
        h[j] = torch.tanh(xin + p["b_ih"] + p["w_hh"] @ s + p["b_hh"])
    loss = torch.nn.functional.cross_entropy((p["hw"] @ h[root] + p["hb"])[None], torch.tensor([label]))
    loss.backward()
    # Leaves in sentence order are the word nodes in node order (the importer's layout).
    return x.grad.norm(dim=1).numpy(), np.array([depth[j] for j in leaves]), loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chain"), ap.add_argument("tree"), ap.add_argument("seq"), ap.add_argument("trees"), ap.add_argument("out")
    ap.add_argument("--max-distance", type=int, default=40)
    ap.add_argument("--label", default="")
    ap.add_argument("--overlay", help="another run's grad-distance.json, drawn dashed (e.g. the initial weights)")
    a = ap.parse_args()
    chain, tree = load_chain(a.chain), load_tree(a.tree)
    D = a.max_distance
    acc = {"chain": [[] for _ in range(D + 1)], "tree": [[] for _ in range(D + 1)]}
    depth_at = [[] for _ in range(D + 1)]
    losses = [0.0, 0.0]
    with h5py.File(a.seq, "r") as s, h5py.File(a.trees, "r") as t:
        so, stok, slab = s["test/offsets"][...], s["test/tokens"][...], s["test/labels"][...]
        to, co, ch, ttok = t["test/tree_offsets"][...], t["test/child_offsets"][...], t["test/children"][...], t["test/tokens"][...]
        rl = t["test/root_labels"][...]
        if len(so) != len(to):
            raise SystemExit(f"{a.seq} and {a.trees}: test splits differ ({len(so) - 1} vs {len(to) - 1} sentences)")
        for i in range(len(so) - 1):
            toks = [int(v) for v in stk(stok, so, i)]
            g, lc = chain_grads(chain, toks, int(slab[i]))
            n0, n1 = int(to[i]), int(to[i + 1])
            tt = [int(v) for v in ttok[n0:n1]]
            kids = [[int(c) for c in ch[co[j]:co[j + 1]]] for j in range(n0, n1)]
            parent = {c for k in kids for c in k}
            root = next(j for j in range(n1 - n0) if j not in parent)
            if [v for v in tt if v >= 0] != toks or int(rl[i]) != int(slab[i]):
                raise SystemExit(f"sentence {i}: the tree's leaves or label differ from the sequence's")
            gt, dep, lt = tree_grads(tree, tt, kids, root, int(rl[i]))
            losses[0] += lc
            losses[1] += lt
            tau = len(toks)
            for pos in range(tau):
                d = tau - 1 - pos
                if d <= D:
                    acc["chain"][d].append(g[pos])
                    acc["tree"][d].append(gt[pos])
                    depth_at[d].append(dep[pos])
    n = len(so) - 1
    # The same numbers recur eval reports: a check that the weights were read as recur uses them.
    print(f"test loss recomputed here from the checkpoints: chain {losses[0] / n:.6f}, tree {losses[1] / n:.6f}")
    rows = []
    for d in range(D + 1):
        if not acc["chain"][d]:
            continue
        gm = {k: float(np.exp(np.mean(np.log(np.maximum(np.array(acc[k][d]), 1e-300))))) for k in acc}
        rows.append({"distance": d, "positions": len(acc["chain"][d]), "chain_norm": gm["chain"], "tree_norm": gm["tree"],
                     "chain_path": d, "tree_path": float(np.mean(depth_at[d]))})
    json.dump({"rows": rows, "label": a.label, "chain_test_loss": losses[0] / n, "tree_test_loss": losses[1] / n}, open(f"{a.out}/grad-distance.json", "w"), indent=1)
    overlay = json.load(open(a.overlay)) if a.overlay else None
    svg(rows, f"{a.out}/grad-distance.svg", a.label, overlay)
    print("distance | positions | chain: path, |dL/dx| | tree: mean path, |dL/dx| | tree / chain")
    for r in rows:
        if r["distance"] in (0, 1, 2, 4, 8, 12, 16, 20, 25, 30, 35, 40) or r is rows[-1]:
            print(f"{r['distance']:8d} | {r['positions']:9d} | {r['chain_path']:4d}, {r['chain_norm']:10.3e} | "
                  f"{r['tree_path']:5.2f}, {r['tree_norm']:10.3e} | {r['tree_norm'] / r['chain_norm']:9.3g}")


def stk(tokens, offsets, i):
    return tokens[offsets[i]:offsets[i + 1]]


def svg(rows, path, label, overlay=None):
    W, H, L, R, T, B = 760, 440, 80, 200, 40, 60
    xs = [r["distance"] for r in rows]
    extra = [r for r in overlay["rows"] if r["distance"] <= xs[-1]] if overlay else []
    ys = [v for r in rows + extra for v in (r["chain_norm"], r["tree_norm"]) if v > 0]
    lo, hi = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    if hi == lo:
        hi += 1
    X = lambda x: L + (W - L - R) * (x - xs[0]) / max(1, xs[-1] - xs[0])
    Y = lambda y: T + (H - T - B) * (hi - math.log10(y)) / (hi - lo)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="14">Gradient reaching each input vs its distance '
           f'from the output</text>']
    for e in range(lo, hi + 1):
        y = Y(10.0 ** e)
        out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">1e{e}</text>')
    step = 5 if xs[-1] > 20 else 1
    for x in range(xs[0], xs[-1] + 1, step):
        out.append(f'<line x1="{X(x):.1f}" y1="{H - B}" x2="{X(x):.1f}" y2="{H - B + 5}" stroke="black"/>')
        out.append(f'<text x="{X(x):.1f}" y="{H - B + 18}" text-anchor="middle">{x}</text>')
    out.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="black"/>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 18}" text-anchor="middle">distance from the output '
               f'(positions before the last word)</text>')
    out.append(f'<text transform="translate(20,{(T + H - B) / 2}) rotate(-90)" text-anchor="middle">'
               f'geometric mean of |dL/dx| (log scale)</text>')
    series = [(rows, "", label or "")] + ([(extra, ' stroke-dasharray="6,4"', overlay.get("label", ""))] if extra else [])
    legend = []
    for data, dash, what in series:
        for key, colour, name in (("chain_norm", "#c0392b", "chain RNN"), ("tree_norm", "#2471a3", "balanced tree")):
            pts = " ".join(f"{X(r['distance']):.1f},{Y(r[key]):.1f}" for r in data if r[key] > 0)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            legend.append((colour, dash, f"{name}{(', ' + what) if what and extra else ''}"))
    for i, (colour, dash, name) in enumerate(legend):
        y = T + 20 + 20 * i
        out.append(f'<line x1="{W - R + 8}" y1="{y}" x2="{W - R + 32}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{W - R + 38}" y="{y + 4}">{name}</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
