#!/usr/bin/python3
"""bench_ddp.py - PyTorch DistributedDataParallel baseline for data-parallel recur.

The same training job as scripts/bench_torch.py
  nn.Embedding(V, E) -> nn.LSTM / nn.GRU / nn.RNN(tanh) (L layers, seq-first)
  -> nn.Linear(H, V) -> CrossEntropyLoss (mean)
with truncated BPTT over random tokens (window k, hidden state carried and
detached between steps; each step zero_grad, forward, backward with DDP's
gradient allreduce, clip_grad_norm_(..., 1.0), SGD step), but run by --ranks
processes (default 2) under torch.nn.parallel.DistributedDataParallel with
the gloo backend on 127.0.0.1.  The GLOBAL batch --batch is split evenly:
each rank carries batch/ranks streams.  Every rank uses one thread
(torch.set_num_threads(1), OPENBLAS/OMP/MKL_NUM_THREADS=1 set before torch is
imported in the children).

After --warmup steps the ranks time whole steps for at least --seconds and
rank 0 prints one JSON line; tokens_per_s counts the global batch
(batch * bptt tokens per step).  Ranks agree on when to stop through a
one-element allreduce per step (negligible next to a step).

  /usr/bin/python3 scripts/bench_ddp.py --cell lstm --layers 2 --hidden 512

Never hangs: the process group has a collective timeout (--timeout), and the
launcher kills every child still alive after a wall-clock deadline.  Exit
status 0 on success, 1 when a rank failed or the deadline passed.
"""
import datetime
import json
import os
import socket
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # inherited by the spawned children before they import torch

# bench_common imports torch only inside its functions: the parent never loads
# it, and each child first runs this file's top (setting the variables above).
from bench_common import (flops_per_token, make_model, parser,  # noqa: E402
                          positive, single_thread, timed_steps, zero_state)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, a, port, results):
    """One rank.  Puts ("ok", rank, record-or-None) or ("error", rank, text)."""
    import torch  # imported here, after the thread variables are set
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    pg = False
    try:
        single_thread()
        dist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
            world_size=a.ranks, timeout=datetime.timedelta(seconds=a.timeout))
        pg = True

        torch.manual_seed(a.seed)  # same init everywhere (DDP also broadcasts rank 0's)
        model = DDP(make_model(a.cell, a.layers, a.hidden, a.embed, a.vocab))
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)

        R = a.ranks
        Bl, k, L, H, V = a.batch // R, a.bptt, a.layers, a.hidden, a.vocab
        g = torch.Generator().manual_seed(a.seed * 1000 + rank)  # own streams per rank
        pool = torch.randint(0, V, (8, k + 1, Bl), dtype=torch.long, generator=g)

        flag = torch.zeros(1)

        def agree(done):  # stop together: anyone done means everyone is
            flag[0] = 1.0 if done else 0.0
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            return bool(flag[0] > 0)

        steps, elapsed = timed_steps(model, opt, torch.nn.CrossEntropyLoss(), pool,
                                     zero_state(a.cell, L, Bl, H), a.warmup, a.seconds,
                                     start=dist.barrier, agree=agree)
        # The slowest rank defines the step rate.
        el = torch.tensor([elapsed], dtype=torch.float64)
        dist.all_reduce(el, op=dist.ReduceOp.MAX)
        elapsed = float(el[0])

        rec = None
        if rank == 0:
            tokens = steps * a.batch * k
            tps = tokens / elapsed
            fpt = flops_per_token(a.cell, L, H, a.embed, V)
            rec = {
                "impl": "pytorch-ddp",
                "ranks": R,
                "cell": a.cell,
                "layers": L,
                "hidden": H,
                "embed": a.embed,
                "vocab": V,
                "batch": a.batch,
                "batch_per_rank": Bl,
                "bptt": k,
                "steps": steps,
                "seconds": round(elapsed, 4),
                "tokens_per_s": round(tps, 1),
                "gflops": round(tps * fpt / 1e9, 3),
                "threads_per_rank": torch.get_num_threads(),
                "backend": "gloo",
                "torch": str(torch.__version__),  # str: the parent unpickles it without torch
            }
        dist.barrier()
        dist.destroy_process_group()
        pg = False
        results.put(("ok", rank, rec))
    except BaseException as e:  # report, then exit non-zero
        results.put(("error", rank, f"{type(e).__name__}: {e}"))
        if pg:
            try:
                dist.destroy_process_group()
            except Exception:
                pass
        sys.exit(1)


def main():
    ap = parser(__doc__, seconds=10.0, batch_help="global batch (split over ranks)")
    ap.add_argument("--ranks", type=positive, default=2)
    ap.add_argument("--timeout", type=positive, default=120,
                    help="seconds a collective may wait before failing (default 120)")
    a = ap.parse_args()
    if a.batch % a.ranks:
        ap.error(f"--batch {a.batch} is not divisible by --ranks {a.ranks}")

    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=worker, args=(r, a, port, results), daemon=True)
             for r in range(a.ranks)]
    for p in procs:
        p.start()

    # Startup (torch import, model build), warm-up and the run, with slack.
    deadline = time.monotonic() + 120 + a.seconds * 3 + a.timeout
    got, rec, errors = 0, None, []
    import queue
    while got < a.ranks and time.monotonic() < deadline:
        try:
            status, rank, payload = results.get(timeout=1.0)
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in procs) and results.empty():
                # A rank died without reporting (e.g. killed); give the rest a moment.
                time.sleep(1.0)
                if results.empty():
                    errors.append("a rank exited without reporting: exit codes "
                                  + str([p.exitcode for p in procs]))
                    break
            continue
        got += 1
        if status == "ok":
            if payload is not None:
                rec = payload
        else:
            errors.append(f"rank {rank}: {payload}")
            break
    if got < a.ranks and not errors:
        errors.append("deadline passed; killing the ranks")

    for p in procs:
        p.join(timeout=10 if not errors else 2)
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join(timeout=5)

    if errors or rec is None:
        for e in errors or ["rank 0 produced no result"]:
            print(f"bench_ddp: {e}", file=sys.stderr)
        return 1
    print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
