#!/usr/bin/python3
"""torch_output_recurrence.py - PyTorch's view of a recur model with
output-to-hidden recurrence (train --recurrence output), for
tests/test_output_recurrence_train.c.

    torch_output_recurrence.py eval CKPT.h5 DATA.h5 SPLIT
        prints {"loss": teacher-forced, "loss_free_running": ...} on SPLIT
        (the losses recur eval reports, in stored units)
    torch_output_recurrence.py train INIT.h5 DATA.h5 STEPS B LR RESULT.h5
        runs STEPS plain SGD steps (no clipping) from INIT's weights on the
        train split's sequences in file order, B at a time (recur train
        --no-shuffle --batch B --optimizer sgd --lr LR --clip 0), and prints
        {"max_rel_diff": ...} between its weights and RESULT.h5's

The model is written here from the definition, one sequence and one step at
a time, in float64 with autograd (nothing shared with recur's engine):
    layer 0   h_t = act(W_ih x_t + b_ih + W_oh y_{t-1}), y_{-1} = 0
    above     h_t = act(W_ih h_below + b_ih)
    head      W_head h + b_head; tag: cross-entropy (mean over the batch's
              steps), regress: squared error (mean over the elements)
y_{t-1} is the truth (teacher forcing: the one-hot of the label, or the
target vector) or the model's own previous output (free-running: the one-hot
of its most likely label, or its prediction).
Needs Debian's torch, h5py and numpy.
"""
import json
import sys

import h5py
import numpy as np
import torch


def load_model(path):
    with h5py.File(path, "r") as f:
        a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        P = {}
        f["model"].visititems(lambda n, d: P.__setitem__(n, torch.tensor(d[()], dtype=torch.float64))
                              if isinstance(d, h5py.Dataset) else None)
    assert a.get("recurrence") == "output", a
    return a, P


def load_split(path, split):
    with h5py.File(path, "r") as f:
        g = f[split]
        off = g["offsets"][()]
        seqs = []
        for i in range(len(off) - 1):
            s = {}
            for k in ("tokens", "features", "step_labels", "targets"):
                if k in g:
                    s[k] = g[k][off[i]:off[i + 1]]
            seqs.append(s)
    return seqs


def run(a, P, s, free_running):
    """One sequence: its summed loss (a tensor) and its number of loss terms."""
    L, tag = int(a["num_layers"]), a["task"] == "tag"
    act = torch.tanh if a["cell"] == "rnn_tanh" else torch.relu
    n = len(s["step_labels"] if tag else s["targets"])
    O = P["head/bias"].shape[0]
    y_prev, loss = torch.zeros(O, dtype=torch.float64), 0
    for t in range(n):
        x = P["embedding/weight"][int(s["tokens"][t])] if "tokens" in s else torch.tensor(s["features"][t], dtype=torch.float64)
        h = act(P["rnn/weight_ih_l0"] @ x + P["rnn/bias_ih_l0"] + P["rnn/weight_oh"] @ y_prev)
        for l in range(1, L):
            h = act(P[f"rnn/weight_ih_l{l}"] @ h + P[f"rnn/bias_ih_l{l}"])
        out = P["head/weight"] @ h + P["head/bias"]
        if tag:
            label = int(s["step_labels"][t])
            loss = loss + torch.logsumexp(out, 0) - out[label]
            y_prev = torch.zeros(O, dtype=torch.float64)
            y_prev[int(out.argmax()) if free_running else label] = 1
        else:
            truth = torch.tensor(s["targets"][t], dtype=torch.float64)
            loss = loss + ((out - truth) ** 2).sum()
            y_prev = out.detach() if free_running else truth
    return loss, n * (1 if tag else O)


def evaluate(a, P, seqs, free_running):
    total, count = 0.0, 0
    with torch.no_grad():
        for s in seqs:
            l, c = run(a, P, s, free_running)
            total, count = total + float(l), count + c
    return total / count


def main():
    mode = sys.argv[1]
    if mode == "eval":
        a, P = load_model(sys.argv[2])
        seqs = load_split(sys.argv[3], sys.argv[4])
        print(json.dumps({"loss": evaluate(a, P, seqs, False), "loss_free_running": evaluate(a, P, seqs, True)}))
        return
    a, P = load_model(sys.argv[2])
    seqs = load_split(sys.argv[3], "train")
    steps, B, lr = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    for p in P.values():
        p.requires_grad_(True)
    per_epoch = (len(seqs) + B - 1) // B
    for step in range(steps):
        k = step % per_epoch
        total, count = 0, 0
        for s in seqs[k * B:(k + 1) * B]:
            l, c = run(a, P, s, False)
            total, count = total + l, count + c
        for p in P.values():
            p.grad = None
        (total / count).backward()
        with torch.no_grad():
            for p in P.values():
                p -= lr * p.grad
    _, R = load_model(sys.argv[7])
    worst = max(float(((P[k] - R[k]).abs() / (1e-3 + P[k].abs())).max()) for k in P)
    print(json.dumps({"max_rel_diff": worst}))


if __name__ == "__main__":
    main()
