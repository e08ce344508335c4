#!/usr/bin/python3
"""make_pair_inputs.py - pair datasets ("recur-pairs") for tests/test_pairdata.c.

    /usr/bin/python3 tests/make_pair_inputs.py DIR

Writes with h5py, the way an external checker does:
  DIR/good_*.h5  valid files in h5py's own types (str attributes, int64
                 offsets, narrower or unsigned token types, variable- and
                 fixed-length string vocabularies);
  DIR/bad_*.h5   each a good file with exactly one thing broken, so a failure
                 can only be about that one thing (test_pairdata.c lists the
                 field each message must name).
Prints one line per file written.
"""
import os
import sys

import h5py
import numpy as np

STR = h5py.string_dtype()  # variable-length UTF-8, what h5py writes for str

# G2P-like pairs: character sources, phoneme-word targets.
CHARS = b"abcdefg"
PHONES = ["AA", "B", "K", "D", "EH1", "zzqqphone"]
PAIRS = {"train": ([3, 1, 4, 2, 5], [2, 1, 3, 3, 1]), "val": ([2, 3], [1, 2])}


def offsets(lengths, dtype=np.int64):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(dtype)


def base(f):
    f.attrs["format"] = "recur-pairs"
    f.attrs["version"] = 1


def chars_words(path, edit=None):
    """Chars -> words: uint8 /src_vocab, str /tgt_vocab; train and val."""
    with h5py.File(path, "w") as f:
        base(f)
        f["src_vocab"] = np.frombuffer(CHARS, dtype=np.uint8)
        f["tgt_vocab"] = np.array(PHONES, dtype=object).astype(STR)
        for split, (ls, lt) in PAIRS.items():
            so, to = offsets(ls), offsets(lt)
            f[f"{split}/src_offsets"] = so
            f[f"{split}/src_tokens"] = (np.arange(so[-1]) % len(CHARS)).astype(np.int64)  # any width is accepted
            f[f"{split}/tgt_offsets"] = to
            f[f"{split}/tgt_tokens"] = (np.arange(to[-1]) % len(PHONES)).astype(np.uint16)
        if edit:
            edit(f)


def shared_words(path, edit=None):
    """Words on both sides, one vocabulary (shared_vocab = 1), fixed-length
    byte strings, int32 offsets; train and test."""
    words = np.array([b"the", b"cat", b"le", b"chat", b"sat"], dtype="S4")
    with h5py.File(path, "w") as f:
        base(f)
        f.attrs["shared_vocab"] = np.int32(1)
        f["src_vocab"] = words
        f["tgt_vocab"] = words
        for split, (ls, lt) in (("train", ([2, 3], [2, 1])), ("test", ([1], [4]))):
            so, to = offsets(ls, np.int32), offsets(lt, np.int32)
            f[f"{split}/src_offsets"] = so
            f[f"{split}/src_tokens"] = (np.arange(so[-1]) % 5).astype(np.int32)
            f[f"{split}/tgt_offsets"] = to
            f[f"{split}/tgt_tokens"] = (4 - np.arange(to[-1]) % 5).astype(np.int8)
        if edit:
            edit(f)


def replace(f, name, data=None, **kw):
    if name in f:
        del f[name]
    if data is None:
        f.create_dataset(name, **kw)
    else:
        f.create_dataset(name, data=data, **kw)


def put(f, name, index, value):
    a = f[name][...]
    a[index] = value
    replace(f, name, a)


def bad_cases():
    c = {}
    # attributes
    c["format_wrong"] = (chars_words, lambda f: f.attrs.__setitem__("format", "recur-sequences"))
    c["format_missing"] = (chars_words, lambda f: f.attrs.__delitem__("format"))
    c["version_wrong"] = (chars_words, lambda f: f.attrs.__setitem__("version", 2))
    c["version_string"] = (chars_words, lambda f: f.attrs.__setitem__("version", "1"))
    c["shared_vocab_2"] = (chars_words, lambda f: f.attrs.__setitem__("shared_vocab", 2))
    c["shared_vocab_differs"] = (shared_words, lambda f: replace(
        f, "tgt_vocab", np.array(["the", "cat", "le", "chien", "sat"], dtype=object).astype(STR)))
    c["shared_vocab_kinds"] = (chars_words, lambda f: f.attrs.__setitem__("shared_vocab", 1))
    # offsets
    c["src_offsets_start"] = (chars_words, lambda f: replace(f, "train/src_offsets", np.array([1, 3, 4, 8, 10, 15])))
    c["src_offsets_decrease"] = (chars_words, lambda f: replace(f, "train/src_offsets", np.array([0, 3, 4, 2, 10, 15])))
    c["src_offsets_end_short"] = (chars_words, lambda f: put(f, "train/src_offsets", 5, 14))
    c["src_offsets_end_long"] = (chars_words, lambda f: put(f, "train/src_offsets", 5, 16))
    c["tgt_offsets_empty_target"] = (chars_words, lambda f: put(f, "train/tgt_offsets", 2, 2))
    c["tgt_offsets_end_short"] = (chars_words, lambda f: put(f, "val/tgt_offsets", 2, 2))
    c["n_mismatch"] = (chars_words, lambda f: replace(f, "train/tgt_offsets", np.array([0, 2, 3, 6, 9])))
    c["src_offsets_float"] = (chars_words, lambda f: replace(f, "train/src_offsets", np.array([0, 3, 4, 8, 10, 15.0])))
    c["tgt_offsets_rank2"] = (chars_words, lambda f: replace(f, "val/tgt_offsets", np.array([[0, 1, 3]])))
    c["tgt_offsets_missing"] = (chars_words, lambda f: f.__delitem__("val/tgt_offsets"))
    c["src_offsets_one"] = (chars_words, lambda f: replace(f, "val/src_offsets", np.array([0])))
    # tokens
    c["src_token_ge_V"] = (chars_words, lambda f: put(f, "train/src_tokens", 4, 7))
    c["tgt_token_ge_V"] = (chars_words, lambda f: put(f, "val/tgt_tokens", 2, 6))
    c["tgt_token_negative"] = (shared_words, lambda f: put(f, "test/tgt_tokens", 3, -1))
    c["src_token_huge_uint64"] = (chars_words,
                                  lambda f: replace(f, "train/src_tokens", np.full(15, 2**63 + 5, dtype=np.uint64)))
    c["src_tokens_float"] = (chars_words, lambda f: replace(f, "train/src_tokens", np.zeros(15, np.float32)))
    c["tgt_tokens_rank2"] = (chars_words, lambda f: replace(f, "train/tgt_tokens", np.zeros((10, 1), np.int32)))
    c["tgt_tokens_strings"] = (chars_words, lambda f: replace(
        f, "train/tgt_tokens", np.array(["a"] * 10, dtype=object).astype(STR)))
    c["tgt_tokens_missing"] = (chars_words, lambda f: f.__delitem__("train/tgt_tokens"))
    # vocabularies
    c["src_vocab_missing"] = (chars_words, lambda f: f.__delitem__("src_vocab"))
    c["tgt_vocab_float"] = (chars_words, lambda f: replace(f, "tgt_vocab", np.zeros(6)))
    c["src_vocab_byte_300"] = (chars_words, lambda f: replace(f, "src_vocab", np.arange(7, dtype=np.int32) + 294))
    c["src_vocab_too_long"] = (chars_words, lambda f: replace(f, "src_vocab", np.zeros(300, np.uint8)))
    c["tgt_vocab_not_utf8"] = (chars_words, lambda f: replace(
        f, "tgt_vocab", np.array([b"AA", b"B\xff", b"K", b"D", b"E", b"F"], dtype=object),
        dtype=h5py.string_dtype("ascii")))
    c["tgt_vocab_rank2"] = (chars_words, lambda f: replace(
        f, "tgt_vocab", np.array([PHONES], dtype=object).astype(STR)))
    # splits
    c["train_missing"] = (chars_words, lambda f: f.__delitem__("train"))
    c["val_dataset"] = (chars_words, lambda f: (f.__delitem__("val"), f.__setitem__("val", [1, 2])))
    c["link_soft_group"] = (chars_words, lambda f: (f.__delitem__("val"), f.__setitem__("val", h5py.SoftLink("/train"))))
    c["link_external"] = (chars_words, lambda f: (f.__delitem__("train/src_tokens"), f.__setitem__(
        "train/src_tokens", h5py.ExternalLink("good_chars_words.h5", "/train/src_tokens"))))
    # huge declared extents (no storage behind them)
    c["huge_src_tokens"] = (chars_words, lambda f: replace(f, "train/src_tokens", shape=(2**40,), dtype=np.int32,
                                                           chunks=(4096,)))
    c["huge_tgt_tokens_unstored"] = (chars_words, lambda f: replace(f, "val/tgt_tokens", shape=(3 * 10**9,),
                                                                    dtype=np.int32))
    c["huge_src_offsets"] = (chars_words, lambda f: replace(f, "train/src_offsets", shape=(2**31,), dtype=np.int64,
                                                            chunks=(4096,)))
    c["huge_tgt_vocab"] = (chars_words, lambda f: replace(f, "tgt_vocab", shape=(2**30,), dtype=STR, chunks=(4096,)))
    return c


def damage_heap(path, word):
    """Forges the global-heap length of the heap object holding `word` (a
    vocabulary entry): libhdf5 reads variable-length strings from there."""
    with open(path, "r+b") as fh:
        data = bytearray(fh.read())
        at = data.find(word.encode())
        assert at >= 16, "word not found in the file"
        data[at - 8:at] = (2**40).to_bytes(8, "little")
        fh.seek(0)
        fh.write(data)


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, make in (("chars_words", chars_words), ("shared_words", shared_words)):
        make(os.path.join(d, f"good_{name}.h5"))
        print(f"good_{name}.h5")
    for name, (make, edit) in bad_cases().items():
        make(os.path.join(d, f"bad_{name}.h5"), edit)
        print(f"bad_{name}.h5")
    p = os.path.join(d, "bad_heap_tgt_vocab.h5")
    chars_words(p)
    damage_heap(p, "zzqqphone")
    print("bad_heap_tgt_vocab.h5")


if __name__ == "__main__":
    main()
