#!/usr/bin/python3
"""bench_torch.py - the PyTorch baseline for `make bench`.

Trains the same model recur trains, on CPU with one thread:
  nn.Embedding(V, E) -> nn.LSTM / nn.GRU / nn.RNN(tanh) (L layers, seq-first)
  -> nn.Linear(H, V) -> CrossEntropyLoss (mean)
with truncated BPTT over random tokens: B streams, window k, hidden state
carried and detached between steps; each step is zero_grad, forward, backward,
clip_grad_norm_(..., 1.0), SGD step.  After a short warm-up it times whole
steps for at least --seconds and prints one JSON line.

Run it single-threaded end to end (scripts/bench does this):
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
      /usr/bin/python3 scripts/bench_torch.py --cell lstm --layers 2 --hidden 512

FLOPs per token: forward per layer 2*(D+H)*G*H (D = E for layer 0, else H;
G = 4 lstm, 3 gru, 1 rnn) plus the head 2*H*V; training = 3x forward.
"""
import argparse
import json
import os
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1}


def flops_per_token(cell, layers, hidden, embed, vocab):
    g = GATES[cell]
    fwd = 0
    for layer in range(layers):
        d = embed if layer == 0 else hidden
        fwd += 2 * (d + hidden) * g * hidden
    fwd += 2 * hidden * vocab
    return 3 * fwd


class Model(nn.Module):
    def __init__(self, cell, layers, hidden, embed, vocab):
        super().__init__()
        self.emb = nn.Embedding(vocab, embed)
        if cell == "lstm":
            self.rnn = nn.LSTM(embed, hidden, num_layers=layers)
        elif cell == "gru":
            self.rnn = nn.GRU(embed, hidden, num_layers=layers)
        else:
            self.rnn = nn.RNN(embed, hidden, num_layers=layers, nonlinearity="tanh")
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state):
        out, state = self.rnn(self.emb(x), state)
        return self.head(out), state


def positive(s):
    v = int(s)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {s}")
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cell", choices=sorted(GATES), default="lstm")
    ap.add_argument("--layers", type=positive, default=2)
    ap.add_argument("--hidden", type=positive, default=512)
    ap.add_argument("--embed", type=positive, default=64)
    ap.add_argument("--vocab", type=positive, default=65)
    ap.add_argument("--batch", type=positive, default=64)
    ap.add_argument("--bptt", type=positive, default=64)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(a.seed)

    model = Model(a.cell, a.layers, a.hidden, a.embed, a.vocab)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()

    B, k, L, H, V = a.batch, a.bptt, a.layers, a.hidden, a.vocab
    # A pool of random token windows, cycled so data generation is not timed.
    pool = torch.randint(0, V, (8, k + 1, B), dtype=torch.long)

    def zero_state():
        h = torch.zeros(L, B, H)
        return (h, torch.zeros(L, B, H)) if a.cell == "lstm" else h

    def detach(s):
        return tuple(t.detach() for t in s) if isinstance(s, tuple) else s.detach()

    state = zero_state()
    step_i = 0

    def step():
        nonlocal state, step_i
        win = pool[step_i % pool.shape[0]]
        step_i += 1
        x, y = win[:-1], win[1:]
        opt.zero_grad(set_to_none=True)
        logits, new_state = model(x, state)
        loss = loss_fn(logits.reshape(-1, V), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state = detach(new_state)
        return loss.item()

    for _ in range(max(0, a.warmup)):
        step()

    steps = 0
    t0 = time.perf_counter()
    elapsed = 0.0
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= a.seconds and steps >= 2:
            break

    tokens = steps * B * k
    tps = tokens / elapsed
    fpt = flops_per_token(a.cell, L, H, a.embed, V)
    rec = {
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
    print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
