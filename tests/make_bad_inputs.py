#!/usr/bin/python3
"""make_bad_inputs.py - the malformed HDF5 files for tests/test_cli_errors.c.

    /usr/bin/python3 tests/make_bad_inputs.py DIR SNIPPET.txt

Each bad file is a copy of a good one with exactly one thing broken, so a
failure can only be about that one thing.  The good files are DIR/good.h5 (a
"recur-tokens" dataset) and DIR/good_ckpt.h5 (a "recur-checkpoint", LSTM E=16
H=32 L=2).  The test normally makes them with `recur data text` and
`recur train --steps 1` so their attribute types are recur's own; whichever
is missing is written here with h5py from SNIPPET.txt instead.

Prints one line per file written.
"""
import os
import shutil
import sys

import h5py
import numpy as np

E, H, L, G = 16, 32, 2, 4  # the good checkpoint: LSTM 2x32, embed 16
BAD_TOKEN = 200            # token_oob.h5 puts this id at position 7


def write_good_data(path, text):
    vocab = np.array(sorted(set(text)), dtype=np.uint8)
    index = {b: i for i, b in enumerate(vocab.tolist())}
    tokens = np.array([index[b] for b in text], dtype=np.int32)
    with h5py.File(path, "w") as f:
        f.attrs["format"] = np.bytes_(b"recur-tokens")
        f.attrs["version"] = np.int32(1)
        f.create_dataset("tokens", data=tokens)
        f.create_dataset("vocab", data=vocab)


def write_good_ckpt(path, vocab):
    V = len(vocab)
    rng = np.random.default_rng(1)

    def t(*shape):
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    with h5py.File(path, "w") as f:
        f.attrs["format"] = np.bytes_(b"recur-checkpoint")
        f.attrs["version"] = np.int32(1)
        f.attrs["cell"] = np.bytes_(b"lstm")
        for k, v in (("vocab_size", V), ("embed_size", E), ("hidden_size", H), ("num_layers", L)):
            f.attrs[k] = np.int32(v)
        f["model/embedding/weight"] = t(V, E)
        for k in range(L):
            f[f"model/rnn/weight_ih_l{k}"] = t(G * H, E if k == 0 else H)
            f[f"model/rnn/weight_hh_l{k}"] = t(G * H, H)
            f[f"model/rnn/bias_ih_l{k}"] = t(G * H)
            f[f"model/rnn/bias_hh_l{k}"] = t(G * H)
        f["model/head/weight"] = t(V, H)
        f["model/head/bias"] = t(V)
        f["vocab"] = np.asarray(vocab, dtype=np.uint8)


def set_attr(f, name, value):
    """Change an attribute keeping recur's own type (and shape) for it."""
    if name in f.attrs:
        try:
            f.attrs.modify(name, value)
            return
        except (TypeError, ValueError):
            del f.attrs[name]
    f.attrs[name] = value


def replace(f, name, data):
    if name in f:
        del f[name]
    f.create_dataset(name, data=data)


def main():
    d, snippet = sys.argv[1], sys.argv[2]
    with open(snippet, "rb") as fh:
        text = fh.read()
    good, ckpt = os.path.join(d, "good.h5"), os.path.join(d, "good_ckpt.h5")
    if not os.path.exists(good):
        write_good_data(good, text)
        print("wrote", good, "(h5py fallback)")
    with h5py.File(good, "r") as f:
        vocab = f["vocab"][()]
        tokens = f["tokens"][()]
    if not os.path.exists(ckpt):
        write_good_ckpt(ckpt, vocab)
        print("wrote", ckpt, "(h5py fallback)")
    V = len(vocab)
    assert V < BAD_TOKEN, V

    def mutate(src, name, fn):
        p = os.path.join(d, name)
        shutil.copyfile(src, p)
        with h5py.File(p, "r+") as f:
            fn(f)
        print("wrote", p)

    # Not HDF5 at all: text bytes under an .h5 name.
    with open(os.path.join(d, "not_hdf5.h5"), "wb") as fh:
        fh.write(text[:4096])

    # Datasets.
    mutate(good, "no_tokens.h5", lambda f: f.__delitem__("tokens"))
    mutate(good, "no_format.h5", lambda f: f.attrs.__delitem__("format"))
    mutate(good, "tokens_f32.h5", lambda f: replace(f, "tokens", tokens.astype(np.float32)))
    mutate(good, "tokens_i64.h5", lambda f: replace(f, "tokens", tokens.astype(np.int64)))
    n2 = len(tokens) // 2 * 2
    mutate(good, "tokens_2d.h5", lambda f: replace(f, "tokens", tokens[:n2].reshape(-1, 2)))
    oob = tokens.copy()
    oob[7] = BAD_TOKEN
    mutate(good, "token_oob.h5", lambda f: replace(f, "tokens", oob))
    mutate(good, "short.h5", lambda f: replace(f, "tokens", tokens[:100]))

    # A self-consistent dataset whose vocabulary (all 256 bytes, ids = byte
    # values) is larger than the good checkpoint's vocab_size.
    def vocab256(f):
        replace(f, "tokens", np.frombuffer(text, dtype=np.uint8).astype(np.int32))
        replace(f, "vocab", np.arange(256, dtype=np.uint8))
        if "val_tokens" in f:
            del f["val_tokens"]
    mutate(good, "vocab256.h5", vocab256)

    # Checkpoints.
    mutate(ckpt, "ckpt_no_format.h5", lambda f: f.attrs.__delitem__("format"))
    mutate(ckpt, "ckpt_cell_foo.h5", lambda f: set_attr(f, "cell", "foo"))
    mutate(ckpt, "ckpt_hidden0.h5", lambda f: set_attr(f, "hidden_size", 0))
    mutate(ckpt, "ckpt_missing_tensor.h5", lambda f: f.__delitem__("model/rnn/weight_hh_l1"))

    def bad_shape(f):
        w = f["model/rnn/weight_ih_l0"][()]
        assert w.shape == (G * H, E), w.shape
        replace(f, "model/rnn/weight_ih_l0", np.zeros((G * H, E + 1), dtype=np.float32))
    mutate(ckpt, "ckpt_bad_shape.h5", bad_shape)

    mutate(ckpt, "ckpt_f64_tensor.h5",
           lambda f: replace(f, "model/head/bias", f["model/head/bias"][()].astype(np.float64)))
    mutate(ckpt, "ckpt_version2.h5", lambda f: set_attr(f, "version", 2))
    mutate(good, "data_version2.h5", lambda f: set_attr(f, "version", 2))

    # HDF5 signature present, rest cut off: the library itself fails deep
    # inside, which must still come out as one message (no error stack).
    for src, name in ((good, "data_truncated.h5"), (ckpt, "ckpt_truncated.h5")):
        with open(src, "rb") as fh:
            blob = fh.read()
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(blob[: len(blob) // 2])
        print("wrote", os.path.join(d, name))

    with h5py.File(os.path.join(d, "ckpt_cell_foo.h5"), "r") as f:
        c = f.attrs["cell"]
        assert (c.decode() if isinstance(c, bytes) else str(c)) == "foo", c
    return 0


if __name__ == "__main__":
    sys.exit(main())
