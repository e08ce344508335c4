#!/usr/bin/python3
"""torch_tree_reference.py OUTDIR - PyTorch "truth" for recur's recursive
(tree) networks (core/tree.h, issue 11 section 2).

The models are written the usual way, one node at a time by recursion over
each tree (as treelstm.pytorch's ChildSumTreeLSTM):

  rnn_tanh  h_j = nn.RNNCell(x_j, sum_k h_k)   (tanh)
  lstm      child-sum Tree-LSTM (Tai et al. 2015) with the Linear layers
            ioux, iouh (3H: i, o, u), fx, fh; a leaf is given one zero child
            as in treelstm.pytorch (its terms vanish)
  x_j       nn.Embedding(V, E) of the node's token, zeros for token -1
  heads     root: nn.Linear(H, Cr) on each root's h; node: nn.Linear(H, Cn)
            on every node's h; label -1 = no loss
  loss      mean cross-entropy over the labelled roots and labelled nodes
            of the batch

For each case it draws a forest (8 trees of 1..10 nodes, n-ary nodes up to
4 children, nodes listed in random order so roots are not node 0, some
internal nodes without a token, some unlabelled nodes; roots are always
labelled, as recur-trees requires: tests/test_tree_gradcheck.c covers
unlabelled roots), random
initial weights (torch's init), and runs 3 SGD steps (torch.optim.SGD, no
clipping) on batches of 3 trees as `recur train --no-shuffle --batch 3`
cuts them (batch k of an epoch: trees 3k .. 3k+2 in file order, the last
one short: [0 1 2] [3 4 5] [6 7]), float32 with one thread.  A case is only
shipped if the float32 results are within half the C test's tolerances of
the same run in float64 (else another seed is drawn).

Each case also gets OUTDIR/<case>/data.h5, the forest as a "recur-trees"
dataset (/train, and the same trees as /val; a character /vocab; label
names so the class counts are the model's), and OUTDIR/<case>/init.h5, the
initial weights as a "recur-checkpoint" (task tree), for
  recur eval  --model init.h5 --data data.h5 --split val --json
  recur train --data data.h5 --init init.h5 --steps 3 --no-shuffle --batch 3
              --optimizer sgd --lr LR --clip 0

OUTDIR/cases.txt, whitespace separated, numbers by repr() (exact):
  case <name> <rnn_tanh|lstm> <V> <E> <H> <Cr> <Cn> <lr> <steps>
  forest <n> <nodes> <edges>
  tree_offsets <n+1 ints> / child_offsets <nodes+1> / children <edges> /
  tokens <nodes> / node_labels <nodes> / root_labels <n> / roots <n>
  init <tensor name> <count> <values...>      (recur's names, e.g. tree/ioux/weight)
  eval <loss>                                 (the initial weights, every tree)
  batch <step> <count> <tree ids...>
  loss <step> <loss>                          (before that step's update)
  final <tensor name> <count> <values...>
  end
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)

LOSS_RTOL = 1e-4
W_ATOL = 1e-5
W_RTOL = 1e-4
CONDITION_MARGIN = 0.5
MAX_SEED_TRIES = 6

# name, cell, V, E, H, Cr, Cn, lr
CASES = [
    ("tanh_both", "rnn_tanh", 9, 5, 6, 3, 4, 0.5),
    ("lstm_both", "lstm", 9, 5, 6, 3, 4, 0.5),
    ("lstm_root", "lstm", 7, 4, 8, 2, 0, 1.0),
    ("tanh_node", "rnn_tanh", 7, 6, 5, 0, 3, 1.0),
]
NTREES, BATCH, STEPS = 8, 3, 3


class ChildSumTreeLSTM(nn.Module):
    def __init__(self, in_dim, mem_dim):
        super().__init__()
        self.ioux = nn.Linear(in_dim, 3 * mem_dim)
        self.iouh = nn.Linear(mem_dim, 3 * mem_dim)
        self.fx = nn.Linear(in_dim, mem_dim)
        self.fh = nn.Linear(mem_dim, mem_dim)

    def node_forward(self, x, child_c, child_h):
        child_h_sum = torch.sum(child_h, dim=0, keepdim=True)
        iou = self.ioux(x) + self.iouh(child_h_sum)
        i, o, u = torch.split(iou, iou.size(1) // 3, dim=1)
        i, o, u = torch.sigmoid(i), torch.sigmoid(o), torch.tanh(u)
        f = torch.sigmoid(self.fh(child_h) + self.fx(x).repeat(len(child_h), 1))
        c = i * u + torch.sum(f * child_c, dim=0, keepdim=True)
        return c, o * torch.tanh(c)


class ChildSumTanh(nn.Module):
    def __init__(self, in_dim, mem_dim):
        super().__init__()
        self.cell = nn.RNNCell(in_dim, mem_dim)

    def node_forward(self, x, child_c, child_h):
        return child_c[:1], self.cell(x, torch.sum(child_h, dim=0, keepdim=True))


class TreeModel(nn.Module):
    def __init__(self, cell, V, E, H, Cr, Cn):
        super().__init__()
        self.H, self.E = H, E
        self.embedding = nn.Embedding(V, E)
        self.tree = ChildSumTreeLSTM(E, H) if cell == "lstm" else ChildSumTanh(E, H)
        self.root = nn.Linear(H, Cr) if Cr else None
        self.node = nn.Linear(H, Cn) if Cn else None

    def recur(self, t, j, hs):
        """(c, h) of node j of tree t (a dict), every node's h into hs."""
        kids = t["children"][j]
        zero = self.embedding.weight.new_zeros(1, self.H)
        states = [self.recur(t, k, hs) for k in kids] or [(zero, zero)]
        child_c = torch.cat([c for c, _ in states])
        child_h = torch.cat([h for _, h in states])
        tok = t["tokens"][j]
        x = self.embedding.weight[tok:tok + 1] if tok >= 0 else self.embedding.weight.new_zeros(1, self.E)
        c, h = self.tree.node_forward(x, child_c, child_h)
        hs[j] = h
        return c, h

    def loss(self, trees):
        total, count = 0, 0
        for t in trees:
            hs = {}
            _, h = self.recur(t, t["root"], hs)
            if self.root is not None and t["root_label"] >= 0:
                total = total + F.cross_entropy(self.root(h), torch.tensor([t["root_label"]]), reduction="sum")
                count += 1
            if self.node is not None:
                for j, y in enumerate(t["node_labels"]):
                    if y >= 0:
                        total = total + F.cross_entropy(self.node(hs[j]), torch.tensor([y]), reduction="sum")
                        count += 1
        return total / count


def recur_name(key):
    """state_dict key -> recur's tensor name."""
    return key.replace("tree.cell.", "tree.").replace(".", "/")


def tensors_in_order(model, cell):
    """recur's registration order (core/model.c create_tree)."""
    order = ["embedding.weight"]
    if cell == "lstm":
        for l in ("ioux", "iouh", "fx", "fh"):
            order += ["tree.%s.weight" % l, "tree.%s.bias" % l]
    else:
        order += ["tree.cell.weight_ih", "tree.cell.weight_hh", "tree.cell.bias_ih", "tree.cell.bias_hh"]
    if model.root is not None:
        order += ["root.weight", "root.bias"]
    if model.node is not None:
        order += ["node.weight", "node.bias"]
    return order


def random_tree(g, V, Cr, Cn):
    size = int(torch.randint(1, 11, (1,), generator=g))
    # Shape: node p's parent is a random earlier node with fewer than 4 children.
    parent, nkids = [-1], [0]
    for p in range(1, size):
        while True:
            q = int(torch.randint(0, p, (1,), generator=g))
            if nkids[q] < 4:
                break
        parent.append(q)
        nkids[q] += 1
        nkids.append(0)
    perm = torch.randperm(size, generator=g).tolist()  # shape node p is local node perm[p]
    children = [[] for _ in range(size)]
    for p in range(1, size):
        children[perm[parent[p]]].append(perm[p])
    tokens, labels = [0] * size, [0] * size
    for p in range(size):
        internal = nkids[p] > 0
        no_tok = internal and float(torch.rand(1, generator=g)) < 0.4
        tokens[perm[p]] = -1 if no_tok else int(torch.randint(0, V, (1,), generator=g))
        unl = float(torch.rand(1, generator=g)) < 0.25
        labels[perm[p]] = -1 if unl or not Cn else int(torch.randint(0, Cn, (1,), generator=g))
    root_label = int(torch.randint(0, Cr, (1,), generator=g)) if Cr else -1
    return {"children": children, "tokens": tokens, "node_labels": labels, "root": perm[0], "root_label": root_label}


def run(case, seed, dtype):
    name, cell, V, E, H, Cr, Cn, lr = case
    g = torch.Generator().manual_seed(seed)
    trees = [random_tree(g, V, Cr, Cn) for _ in range(NTREES)]
    torch.manual_seed(seed)
    model = TreeModel(cell, V, E, H, Cr, Cn)
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model = model.to(dtype)
    with torch.no_grad():
        eval_loss = float(model.loss(trees))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    batches, losses = [], []
    per_epoch = (NTREES + BATCH - 1) // BATCH
    for s in range(STEPS):
        k = s % per_epoch
        ids = list(range(k * BATCH, min(NTREES, k * BATCH + BATCH)))
        batches.append(ids)
        opt.zero_grad()
        loss = model.loss([trees[i] for i in ids])
        loss.backward()
        losses.append(float(loss))
        opt.step()
    final = {k: v.detach().to(torch.float32 if dtype == torch.float32 else torch.float64).clone()
             for k, v in model.state_dict().items()}
    return trees, model, init, batches, losses, final, eval_loss


def well_conditioned(r32, r64):
    if abs(r32[6] - r64[6]) > CONDITION_MARGIN * LOSS_RTOL * abs(r64[6]):
        return False
    for a, b in zip(r32[4], r64[4]):
        if abs(a - b) > CONDITION_MARGIN * LOSS_RTOL * abs(b):
            return False
    for k, a in r32[5].items():
        b = r64[5][k]
        if ((a.double() - b).abs() > CONDITION_MARGIN * (W_ATOL + W_RTOL * b.abs())).any():
            return False
    return True


def forest_arrays(trees):
    tree_off, child_off, children, tokens, labels = [0], [0], [], [], []
    for t in trees:
        for kids in t["children"]:
            children += kids
            child_off.append(len(children))
        tokens += t["tokens"]
        labels += t["node_labels"]
        tree_off.append(len(tokens))
    return tree_off, child_off, children, tokens, labels


def write_files(d, case, trees, init):
    """d/data.h5 (recur-trees) and d/init.h5 (recur-checkpoint) for the CLI half of the test."""
    name, cell, V, E, H, Cr, Cn, lr = case
    os.makedirs(d, exist_ok=True)
    tree_off, child_off, children, tokens, labels = forest_arrays(trees)
    with h5py.File(os.path.join(d, "data.h5"), "w") as f:
        f.attrs["format"] = "recur-trees"
        f.attrs["version"] = 1
        f["vocab"] = np.frombuffer(bytes(range(ord("a"), ord("a") + V)), dtype=np.uint8)
        names = h5py.string_dtype()
        if Cr:
            f["root_label_names"] = np.array(["r%d" % i for i in range(Cr)], dtype=object).astype(names)
        if Cn:
            f["node_label_names"] = np.array(["n%d" % i for i in range(Cn)], dtype=object).astype(names)
        for split in ("train", "val"):
            f[split + "/tree_offsets"] = np.array(tree_off, dtype=np.int64)
            f[split + "/child_offsets"] = np.array(child_off, dtype=np.int64)
            f[split + "/children"] = np.array(children, dtype=np.int32)
            f[split + "/tokens"] = np.array(tokens, dtype=np.int32)
            if Cn:
                f[split + "/node_labels"] = np.array(labels, dtype=np.int32)
            if Cr:
                f[split + "/root_labels"] = np.array([t["root_label"] for t in trees], dtype=np.int32)
    with h5py.File(os.path.join(d, "init.h5"), "w") as f:
        a = f.attrs
        a["format"] = "recur-checkpoint"
        a["version"] = 1
        a["cell"] = cell
        a["task"] = "tree"
        a["vocab_size"], a["embed_size"], a["hidden_size"], a["num_layers"] = V, E, H, 1
        a["num_root_classes"], a["num_node_classes"] = Cr, Cn
        for k, v in init.items():
            f["model/" + recur_name(k)] = v.numpy().astype(np.float32)


def ints(tag, xs):
    return tag + " " + " ".join(str(int(x)) for x in xs)


def floats(tag, name, t):
    vals = t.reshape(-1).tolist()
    return "%s %s %d %s" % (tag, name, len(vals), " ".join(repr(float(v)) for v in vals))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = []
    for case in CASES:
        for seed in range(1000, 1000 + MAX_SEED_TRIES):
            r32 = run(case, seed, torch.float32)
            r64 = run(case, seed, torch.float64)
            if well_conditioned(r32, r64):
                break
        else:
            sys.exit("%s: no seed gives a float32 truth within %g of the tolerances" % (case[0], CONDITION_MARGIN))
        trees, model, init, batches, losses, final, eval_loss = r32
        name, cell, V, E, H, Cr, Cn, lr = case
        write_files(os.path.join(out, name), case, trees, init)
        lines.append("case %s %s %d %d %d %d %d %r %d" % (name, cell, V, E, H, Cr, Cn, lr, STEPS))
        tree_off, child_off, children, tokens, labels = forest_arrays(trees)
        lines.append("forest %d %d %d" % (len(trees), len(tokens), len(children)))
        lines += [ints("tree_offsets", tree_off), ints("child_offsets", child_off), ints("children", children),
                  ints("tokens", tokens), ints("node_labels", labels),
                  ints("root_labels", [t["root_label"] for t in trees]), ints("roots", [t["root"] for t in trees])]
        for k in tensors_in_order(model, cell):
            lines.append(floats("init", recur_name(k), init[k]))
        lines.append("eval %r" % eval_loss)
        for s, (ids, loss) in enumerate(zip(batches, losses)):
            lines.append("batch %d %d %s" % (s, len(ids), " ".join(map(str, ids))))
            lines.append("loss %d %r" % (s, loss))
        for k in tensors_in_order(model, cell):
            lines.append(floats("final", recur_name(k), final[k]))
        lines.append("end")
        print("%s: seed %d, losses %s" % (name, seed, " ".join("%.6f" % l for l in losses)))
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
