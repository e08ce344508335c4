#!/usr/bin/python3
"""bench_torch.py - the PyTorch baseline for `make bench`.

--task lm (default): trains the same model recur trains, on CPU with one thread:
  nn.Embedding(V, E) -> nn.LSTM / nn.GRU / nn.RNN(tanh) (L layers, seq-first)
  -> nn.Linear(H, V) -> CrossEntropyLoss (mean)
with truncated BPTT over random tokens: B streams, window k, hidden state
carried and detached between steps; each step is zero_grad, forward, backward,
clip_grad_norm_(..., 1.0), SGD step.  After a short warm-up it times whole
steps for at least --seconds and prints one JSON line.

--task tree (issue 11 section 2): the per-node recursive module of
tests/torch_tree_reference.py (child-sum Tree-LSTM with treelstm.pytorch's
Linear layers, or nn.RNNCell over the child sum), --batch random binary parse
trees of --min-len..--max-len leaves (internal nodes without a token), root and
node heads of --classes classes; each step zero_grad, the mean cross-entropy
over every node and root, backward, clip_grad_norm_(..., 1.0), SGD.
tokens_per_s = nodes_per_s.

--task classify | tag (issue 9's sequence rows): B sequences a batch, lengths
drawn uniformly from --min-len..--max-len (random tokens, random labels), on
PyTorch's packed path:
  nn.Embedding(V, E) -> pack_padded_sequence(enforce_sorted=False)
  -> nn.LSTM / nn.GRU / nn.RNN(tanh) (L layers, H per direction,
     --bidirectional: D = 2, outputs concatenated)
  classify: --pooling last = cat(h_n[-2], h_n[-1]) (h_n[-1] unidirectional),
            mean / max over each sequence's own steps -> nn.Linear(D*H, C)
            -> CrossEntropyLoss over the batch's sequences
  tag:      nn.Linear(D*H, C) on every step of the packed output
            -> CrossEntropyLoss over the batch's steps
  --recurrence output (tag, rnn_tanh, one direction): no nn.RNN; each packed
            row is h = tanh(Linear(x) + W_oh[:, y_prev]) (W_oh an nn.Embedding
            of the previous label, teacher-forced), layers above
            tanh(Linear(h)): the whole batch at once, as recur computes it
Each step: zero_grad, pack, forward, backward, clip_grad_norm_(..., 1.0), SGD
step, exactly as the lm rows.  A pool of 8 batches is drawn once (not timed)
and cycled.  tokens_per_s counts input steps (the sum of the batch's lengths),
as recur's metrics do for every task.  The issue's two rows:
  --task classify --cell lstm --layers 2 --hidden 256 --bidirectional --batch 64
  --task tag      --cell lstm --layers 2 --hidden 256 --bidirectional --batch 64
(with --min-len 20 --max-len 200, the defaults; E=64, V=65, C=17 as the other
rows' defaults).

Run it single-threaded end to end (scripts/bench does this):
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
      /usr/bin/python3 scripts/bench_torch.py --cell lstm --layers 2 --hidden 512

FLOPs per token: forward per layer and direction 2*(D+H)*G*H (D = E for
layer 0, else H, or 2H above a bidirectional layer; G = 4 lstm, 3 gru, 1 rnn)
plus the head (lm 2*H*V, tag 2*D*H*C per token, classify 2*D*H*C per
sequence); training = 3x forward.  The classify/tag rows also report
sgemm_gflops (torch.mm 1024^3, one thread, measured just before and after the
timed steps) and sgemm_fraction = gflops / sgemm_gflops, and
sys_cpu_fraction / minor_faults_per_step: with glibc's default malloc (the
default here, as for the lm rows) the packed rows' >32 MB per-step buffers
are unmapped on free and faulted in again every step; on a VM that can be
most of the time (measured: 2.8M vs 72k faults, 12x slower).  --malloc tuned
reruns with GLIBC_TUNABLES set so glibc keeps that memory.
"""
import argparse
import json
import os
import resource
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

# --malloc tuned: glibc keeps large freed blocks instead of unmapping them, so
# the per-step activation buffers (> 32 MB in the packed rows) are not faulted
# in again every step.  The tunables are read when the process starts, so the
# script re-executes itself with them (before torch is imported).
MALLOC_TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296"


def _wants_tuned_malloc(argv):
    for i, v in enumerate(argv):
        if v == "--malloc=tuned" or (v == "--malloc" and i + 1 < len(argv) and argv[i + 1] == "tuned"):
            return True
    return False


if _wants_tuned_malloc(sys.argv[1:]) and MALLOC_TUNABLES not in os.environ.get("GLIBC_TUNABLES", ""):
    _t = os.environ.get("GLIBC_TUNABLES")
    os.environ["GLIBC_TUNABLES"] = (_t + ":" if _t else "") + MALLOC_TUNABLES
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from bench_common import (GATES, flops_per_token, make_model, parser,  # noqa: E402
                          positive, single_thread, timed_steps, zero_state)

POOL = 8


def main_lm(a):
    model = make_model(a.cell, a.layers, a.hidden, a.embed, a.vocab)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    B, k, L, H, V = a.batch, a.bptt, a.layers, a.hidden, a.vocab
    # A pool of random token windows, cycled so data generation is not timed.
    pool = torch.randint(0, V, (POOL, k + 1, B), dtype=torch.long)
    steps, elapsed = timed_steps(model, opt, nn.CrossEntropyLoss(), pool,
                                 zero_state(a.cell, L, B, H), a.warmup, a.seconds)

    tokens = steps * B * k
    tps = tokens / elapsed
    fpt = flops_per_token(a.cell, L, H, a.embed, V)
    return {
        "impl": "pytorch",
        "cell": a.cell,
        "layers": L,
        "hidden": H,
        "embed": a.embed,
        "vocab": V,
        "batch": B,
        "bptt": k,
        "steps": steps,
        "seconds": round(elapsed, 4),
        "tokens_per_s": round(tps, 1),
        "gflops": round(tps * fpt / 1e9, 3),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


# --------------------------------------------------------------------------
# Sequence tasks (packed, ragged batches)
# --------------------------------------------------------------------------
def seq_flops(a, lengths):
    """Training FLOPs of one batch (3x forward)."""
    D = 2 if a.bidirectional else 1
    G, H = GATES[a.cell], a.hidden
    per_token = 0
    for layer in range(a.layers):
        d_in = a.embed if layer == 0 else D * H
        # --recurrence output: no W_hh product (the fed-back label is a lookup)
        per_token += D * 2 * (d_in + (H if a.recurrence == "hidden" else 0)) * G * H
    tokens = sum(lengths)
    head = 2 * D * H * a.classes * (tokens if a.task == "tag" else len(lengths))
    return 3 * (per_token * tokens + head)


class SeqModel(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        D = 2 if a.bidirectional else 1
        self.emb = nn.Embedding(a.vocab, a.embed)
        kw = dict(num_layers=a.layers, bidirectional=a.bidirectional)
        if a.recurrence == "output":
            # Output-to-hidden recurrence, teacher-forced, as PyTorch would write
            # it: h = tanh(W_ih x + b + W_oh onehot(y_prev)) over the packed rows,
            # W_oh an embedding of the previous label (row C: none, at step 0).
            self.ih = nn.ModuleList(nn.Linear(a.embed if l == 0 else a.hidden, a.hidden) for l in range(a.layers))
            self.oh = nn.Embedding(a.classes + 1, a.hidden, padding_idx=a.classes)
        elif a.cell == "lstm":
            self.rnn = nn.LSTM(a.embed, a.hidden, **kw)
        elif a.cell == "gru":
            self.rnn = nn.GRU(a.embed, a.hidden, **kw)
        else:
            self.rnn = nn.RNN(a.embed, a.hidden, nonlinearity="tanh", **kw)
        self.head = nn.Linear(D * a.hidden, a.classes)

    def forward(self, tokens, lengths, prev=None):
        """tokens [T,B] padded, lengths [B] (CPU int64).  classify: logits [B,C];
        tag: logits [sum(lengths), C] in packed order.  --recurrence output:
        prev, the previous step's labels in packed order."""
        a = self.a
        packed = nn.utils.rnn.pack_padded_sequence(self.emb(tokens), lengths,
                                                   enforce_sorted=False)
        if a.recurrence == "output":
            h = torch.tanh(self.ih[0](packed.data) + self.oh(prev))
            for lin in self.ih[1:]:
                h = torch.tanh(lin(h))
            return self.head(h)
        out, hn = self.rnn(packed)
        if a.task == "tag":
            return self.head(out.data)
        if a.pooling == "last":
            h = hn[0] if a.cell == "lstm" else hn
            feat = torch.cat([h[-2], h[-1]], dim=1) if a.bidirectional else h[-1]
        else:
            pad, _ = nn.utils.rnn.pad_packed_sequence(out)  # [T,B,D*H], zeros past the end
            if a.pooling == "mean":
                feat = pad.sum(0) / lengths.to(pad.dtype).unsqueeze(1)
            else:
                T = pad.shape[0]
                past = torch.arange(T).unsqueeze(1) >= lengths.unsqueeze(0)  # [T,B]
                feat = pad.masked_fill(past.unsqueeze(-1), float("-inf")).max(0).values
        return self.head(feat)


def make_pool(a, gen):
    """POOL batches: (padded tokens [T,B], lengths [B], targets); targets are
    labels [B] (classify) or step labels in packed order (tag)."""
    pool = []
    for _ in range(POOL):
        lengths = torch.randint(a.min_len, a.max_len + 1, (a.batch,), generator=gen)
        T = int(lengths.max())
        tokens = torch.randint(0, a.vocab, (T, a.batch), generator=gen)
        prev = None
        if a.task == "tag":
            labels = torch.randint(0, a.classes, (T, a.batch), generator=gen)
            y = nn.utils.rnn.pack_padded_sequence(labels, lengths, enforce_sorted=False).data
            shifted = torch.cat([torch.full((1, a.batch), a.classes), labels[:-1]])
            prev = nn.utils.rnn.pack_padded_sequence(shifted, lengths, enforce_sorted=False).data
        else:
            y = torch.randint(0, a.classes, (a.batch,), generator=gen)
        pool.append((tokens, lengths, y, prev))
    return pool


def sgemm_gflops(seconds=1.0, n=1024):
    """torch's single-thread float32 GEMM rate (n x n x n), for scale: the
    packed rows also report their GFLOP/s as a fraction of it, measured in
    the same run (the core may be shared; the fraction moves less)."""
    x, y = torch.randn(n, n), torch.randn(n, n)
    torch.mm(x, y)
    reps, t0 = 0, time.perf_counter()
    while True:
        torch.mm(x, y)
        reps += 1
        el = time.perf_counter() - t0
        if el >= seconds and reps >= 2:
            return 2.0 * n ** 3 * reps / el / 1e9


def main_seq(a):
    if a.min_len > a.max_len:
        raise SystemExit(f"bench_torch.py: --min-len {a.min_len} > --max-len {a.max_len}")
    gen = torch.Generator().manual_seed(a.seed)
    model = SeqModel(a)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    pool = make_pool(a, gen)

    step_i = 0

    def step():
        nonlocal step_i
        tokens, lengths, y, prev = pool[step_i % POOL]
        step_i += 1
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(tokens, lengths, prev), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return int(lengths.sum()), seq_flops(a, lengths.tolist())

    for _ in range(max(0, a.warmup)):
        step()
    sg_before = sgemm_gflops()
    steps = tokens = flops = 0
    r0, c0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
    t0 = time.perf_counter()
    while True:
        n, f = step()
        steps += 1
        tokens += n
        flops += f
        elapsed = time.perf_counter() - t0
        if elapsed >= a.seconds and steps >= 2:
            break
    cpu = time.process_time() - c0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    sys_s = r1.ru_stime - r0.ru_stime
    sgemm = 0.5 * (sg_before + sgemm_gflops())
    gflops = flops / elapsed / 1e9
    return {
        "impl": "pytorch",
        "task": a.task,
        "cell": a.cell,
        "layers": a.layers,
        "hidden": a.hidden,
        "bidirectional": int(a.bidirectional),
        "recurrence": a.recurrence,
        "embed": a.embed,
        "vocab": a.vocab,
        "classes": a.classes,
        "pooling": a.pooling if a.task == "classify" else None,
        "batch": a.batch,
        "min_len": a.min_len,
        "max_len": a.max_len,
        "packed": True,
        "steps": steps,
        "tokens": tokens,
        "seconds": round(elapsed, 4),
        "cpu_seconds": round(cpu, 4),  # of the timed steps; below "seconds" when the core was shared
        # Page faults: a high system share means the row measures the kernel (see --malloc).
        "sys_cpu_fraction": round(sys_s / cpu, 3) if cpu > 0 else None,
        "minor_faults_per_step": (r1.ru_minflt - r0.ru_minflt) // steps,
        "malloc": a.malloc,
        "tokens_per_s": round(tokens / elapsed, 1),
        "gflops": round(gflops, 3),
        "sgemm_gflops": round(sgemm, 3),  # torch.mm 1024^3, mean of before and after
        "sgemm_fraction": round(gflops / sgemm, 4),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


# --------------------------------------------------------------------------
# --task tree: the per-node recursive module of tests/torch_tree_reference.py
# --------------------------------------------------------------------------
def random_parse_tree(gen, V, C, min_len, max_len):
    """k leaves with tokens, merged by random adjacent pairs (as recur bench --task tree)."""
    k = int(torch.randint(min_len, max_len + 1, (1,), generator=gen))
    children, front = [[] for _ in range(k)], list(range(k))
    while len(front) > 1:
        p = int(torch.randint(0, len(front) - 1, (1,), generator=gen))
        children.append([front[p], front[p + 1]])
        front[p:p + 2] = [len(children) - 1]
    n = len(children)
    tokens = torch.randint(0, V, (k,), generator=gen).tolist() + [-1] * (n - k)
    return {"children": children, "tokens": tokens, "root": front[0],
            "node_labels": torch.randint(0, C, (n,), generator=gen).tolist(),
            "root_label": int(torch.randint(0, C, (1,), generator=gen))}


def main_tree(a):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from torch_tree_reference import TreeModel
    gen = torch.Generator().manual_seed(a.seed)
    model = TreeModel(a.cell, a.vocab, a.embed, a.hidden, a.classes, a.classes)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    pool = [[random_parse_tree(gen, a.vocab, a.classes, a.min_len, a.max_len) for _ in range(a.batch)]
            for _ in range(POOL)]
    H, E, C = a.hidden, a.embed, a.classes
    G = 3 if a.cell == "lstm" else 1

    def flops(trees):  # the model's products per node and per edge (as recur counts them), training = 3x forward
        f = 0
        for t in trees:
            n, edges = len(t["children"]), sum(len(c) for c in t["children"])
            f += n * 2 * (G * H * (E + H) + (H * E if G == 3 else 0) + H * C) + edges * (2 * H * H if G == 3 else 0)
            f += 2 * H * C
        return 3 * f

    step_i = 0

    def step():
        nonlocal step_i
        trees = pool[step_i % POOL]
        step_i += 1
        opt.zero_grad(set_to_none=True)
        loss = model.loss(trees)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return sum(len(t["children"]) for t in trees), flops(trees)

    for _ in range(max(0, a.warmup)):
        step()
    sg_before = sgemm_gflops()
    steps = nodes = fl = 0
    t0 = time.perf_counter()
    while True:
        n, f = step()
        steps += 1
        nodes += n
        fl += f
        elapsed = time.perf_counter() - t0
        if elapsed >= a.seconds and steps >= 2:
            break
    sgemm = 0.5 * (sg_before + sgemm_gflops())
    gflops = fl / elapsed / 1e9
    return {"impl": "pytorch", "task": "tree", "cell": a.cell, "path": "per-node recursion", "hidden": H,
            "embed": E, "vocab": a.vocab, "classes": C, "batch": a.batch, "min_len": a.min_len,
            "max_len": a.max_len, "steps": steps, "nodes": nodes, "seconds": round(elapsed, 4),
            "nodes_per_s": round(nodes / elapsed, 1), "tokens_per_s": round(nodes / elapsed, 1),
            "gflops": round(gflops, 3), "sgemm_gflops": round(sgemm, 3),
            "sgemm_fraction": round(gflops / sgemm, 4), "threads": torch.get_num_threads(),
            "torch": torch.__version__}


def main():
    ap = parser(__doc__, seconds=5.0)
    ap.formatter_class = argparse.RawDescriptionHelpFormatter
    ap.epilog = "\n".join(__doc__.split("\n")[2:])
    ap.add_argument("--task", choices=["lm", "classify", "tag", "tree"], default="lm",
                    help="lm: TBPTT language model (default); classify / tag: packed ragged "
                         "batches of --batch sequences; tree: --batch parse trees of --min-len.."
                         "--max-len leaves, per-node recursive module (tests/torch_tree_reference.py)")
    ap.add_argument("--one-node", action="store_true", help=argparse.SUPPRESS)  # recur's path flag; PyTorch has one
    ap.add_argument("--bidirectional", action="store_true", help="classify/tag: D = 2")
    ap.add_argument("--recurrence", choices=["hidden", "output"], default="hidden",
                    help="tag, rnn_tanh: output = output-to-hidden recurrence, teacher-forced (no W_hh)")
    ap.add_argument("--min-len", type=positive, default=20, help="classify/tag: shortest sequence")
    ap.add_argument("--max-len", type=positive, default=200, help="classify/tag: longest sequence")
    ap.add_argument("--classes", type=positive, default=17, help="classify/tag: C")
    ap.add_argument("--pooling", choices=["last", "mean", "max"], default="last",
                    help="classify: how the head reads the top layer")
    ap.add_argument("--malloc", choices=["default", "tuned"], default="default",
                    help="tuned: rerun with GLIBC_TUNABLES=" + MALLOC_TUNABLES + " (glibc keeps "
                         "freed memory; the default, as the other rows, unmaps blocks over 32 MB "
                         "and faults them in again every step)")
    ap.set_defaults(warmup=None)  # lm: 3 untimed steps; classify/tag: 1 (a step is seconds long)
    a = ap.parse_args()
    if a.warmup is None:
        a.warmup = 3 if a.task == "lm" else 1
    if a.recurrence == "output" and (a.task != "tag" or a.bidirectional or a.cell != "rnn_tanh"):
        ap.error("--recurrence output needs --task tag, --cell rnn_tanh and one direction")
    if a.task == "lm" and a.bidirectional:
        ap.error("--bidirectional needs --task classify or tag (the language model is unidirectional)")

    single_thread()
    torch.manual_seed(a.seed)
    rec = main_lm(a) if a.task == "lm" else main_tree(a) if a.task == "tree" else main_seq(a)
    if a.task == "lm" and a.malloc != "default":
        rec["malloc"] = a.malloc
    print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
