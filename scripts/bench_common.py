"""bench_common.py - what scripts/bench_torch.py and scripts/bench_ddp.py share.

The model, its FLOP count, the common flags and the timed training loop.
torch is imported only inside the functions that need it, so importing this
module does not import torch: bench_ddp.py's parent never loads it, and its
children set the thread variables before their first torch import.
"""
import argparse
import time

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1}


def flops_per_token(cell, layers, hidden, embed, vocab):
    """Training FLOPs per token: 3x forward; forward per layer 2*(D+H)*G*H
    (D = embed for layer 0, else hidden) plus the head 2*H*V."""
    g = GATES[cell]
    fwd = 0
    for layer in range(layers):
        d = embed if layer == 0 else hidden
        fwd += 2 * (d + hidden) * g * hidden
    fwd += 2 * hidden * vocab
    return 3 * fwd


def positive(s):
    v = int(s)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {s}")
    return v


def parser(doc, seconds, batch_help=None):
    """An ArgumentParser described by doc's first line, with the common flags."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--cell", choices=sorted(GATES), default="lstm")
    ap.add_argument("--layers", type=positive, default=2)
    ap.add_argument("--hidden", type=positive, default=512)
    ap.add_argument("--embed", type=positive, default=64)
    ap.add_argument("--vocab", type=positive, default=65)
    ap.add_argument("--batch", type=positive, default=64, help=batch_help)
    ap.add_argument("--bptt", type=positive, default=64)
    ap.add_argument("--seconds", type=float, default=seconds)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    return ap


def single_thread():
    import torch
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def make_model(cell, layers, hidden, embed, vocab):
    """nn.Embedding(V, E) -> nn.LSTM / nn.GRU / nn.RNN(tanh) (seq-first) -> nn.Linear(H, V)."""
    import torch.nn as nn

    class Model(nn.Module):
        def __init__(self):
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

    return Model()


def zero_state(cell, layers, batch, hidden):
    import torch
    h = torch.zeros(layers, batch, hidden)
    return (h, torch.zeros(layers, batch, hidden)) if cell == "lstm" else h


def timed_steps(model, opt, loss_fn, pool, state, warmup, seconds, start=None, agree=None):
    """Truncated BPTT over the token windows pool[i] (k+1, B), cycled, the hidden
    state carried from `state` and detached between steps; each step zero_grad,
    forward, backward, clip_grad_norm_(..., 1.0), opt.step.  Runs `warmup`
    untimed steps, calls start() if given, then times whole steps until at
    least `seconds` passed and 2 steps ran.  agree(done) -> done, if given, is
    called after every timed step (DDP: the ranks agree to stop together).
    Returns (steps, elapsed seconds)."""
    import torch.nn as nn

    def detach(s):
        return tuple(t.detach() for t in s) if isinstance(s, tuple) else s.detach()

    step_i = 0

    def step():
        nonlocal state, step_i
        win = pool[step_i % pool.shape[0]]
        step_i += 1
        x, y = win[:-1], win[1:]
        opt.zero_grad(set_to_none=True)
        logits, new_state = model(x, state)
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()  # under DDP this also allreduces (averages) the gradients
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state = detach(new_state)
        return loss.item()

    for _ in range(max(0, warmup)):
        step()
    if start is not None:
        start()
    steps = 0
    t0 = time.perf_counter()
    while True:
        step()
        steps += 1
        done = time.perf_counter() - t0 >= seconds and steps >= 2
        if agree is not None:
            done = agree(done)
        if done:
            return steps, time.perf_counter() - t0
