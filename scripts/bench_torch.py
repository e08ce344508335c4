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
import json
import os
import sys

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from bench_common import (flops_per_token, make_model, parser,  # noqa: E402
                          single_thread, timed_steps, zero_state)


def main():
    a = parser(__doc__, seconds=5.0).parse_args()

    single_thread()
    torch.manual_seed(a.seed)

    model = make_model(a.cell, a.layers, a.hidden, a.embed, a.vocab)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    B, k, L, H, V = a.batch, a.bptt, a.layers, a.hidden, a.vocab
    # A pool of random token windows, cycled so data generation is not timed.
    pool = torch.randint(0, V, (8, k + 1, B), dtype=torch.long)
    steps, elapsed = timed_steps(model, opt, nn.CrossEntropyLoss(), pool,
                                 zero_state(a.cell, L, B, H), a.warmup, a.seconds)

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
