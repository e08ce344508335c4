#!/usr/bin/python3
"""make_seq_inputs.py - sequence datasets ("recur-sequences") for tests/test_seqdata.c.

    /usr/bin/python3 tests/make_seq_inputs.py DIR

Writes with h5py, the way an external checker does:
  DIR/good_*.h5  valid files in h5py's own types (str attributes, int64 and
                 float64 arrays, variable-length string vocabularies);
  DIR/bad_*.h5   each a good file with exactly one thing broken, so a failure
                 can only be about that one thing (test_seqdata.c lists the
                 field each message must name).
Prints one line per file written.
"""
import os
import sys

import h5py
import numpy as np

STR = h5py.string_dtype()  # variable-length UTF-8, what h5py writes for str


def offsets(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def base(f, task):
    f.attrs["format"] = "recur-sequences"
    f.attrs["version"] = 1
    f.attrs["task"] = task


def classify_tokens(path, edit=None):
    """5 train sequences over a 6-word vocabulary, 3 classes; a val split."""
    with h5py.File(path, "w") as f:
        base(f, "classify")
        f["vocab_words"] = np.array(["the", "cat", "sat", "on", "mat", "zzqqword"], dtype=object).astype(STR)
        f["label_names"] = np.array(["neg", "neu", "pos"], dtype=object).astype(STR)
        for split, lens in (("train", [3, 1, 4, 2, 5]), ("val", [2, 3])):
            off = offsets(lens)
            f[f"{split}/offsets"] = off
            f[f"{split}/tokens"] = (np.arange(off[-1]) % 6).astype(np.int64)  # int64: any width is accepted
            f[f"{split}/labels"] = (np.arange(len(lens)) % 3).astype(np.int32)
        if edit:
            edit(f)


def classify_features(path, edit=None):
    """Features F=3 (float64 on disk), 2 classes from num_classes."""
    with h5py.File(path, "w") as f:
        base(f, "classify")
        f.attrs["num_classes"] = np.int32(2)
        rng = np.random.default_rng(1)
        for split, lens in (("train", [2, 3, 1]), ("val", [4]), ("test", [1, 1])):
            off = offsets(lens)
            f[f"{split}/offsets"] = off
            f[f"{split}/features"] = rng.standard_normal((off[-1], 3))
            f[f"{split}/labels"] = np.array([i % 2 for i in range(len(lens))], dtype=np.uint8)
        f["norm/feature_mean"] = np.array([0.5, -1.0, 2.0], dtype=np.float32)
        f["norm/feature_std"] = np.array([1.0, 2.0, 0.5], dtype=np.float32)
        if edit:
            edit(f)


def tag_chars(path, edit=None):
    """Character tokens (uint8 /vocab), 4 tags, C = 1 + largest label."""
    with h5py.File(path, "w") as f:
        base(f, "tag")
        f["vocab"] = np.frombuffer(b"abcdefgh", dtype=np.uint8)
        for split, lens in (("train", [4, 2, 6]), ("val", [3])):
            off = offsets(lens)
            f[f"{split}/offsets"] = off
            f[f"{split}/tokens"] = (np.arange(off[-1]) % 8).astype(np.int32)
            f[f"{split}/step_labels"] = (np.arange(off[-1]) % 4).astype(np.int16)
        if edit:
            edit(f)


def tag_context(path, edit=None):
    """tag_chars with a context vector per sequence (F = 2, float64 on disk)."""
    def add(f):
        f["train/context"] = np.array([[1.0, -1.0], [0.5, 0.25], [0.0, 2.0]])
        f["val/context"] = np.array([[3.0, 4.0]])
        if edit:
            edit(f)
    tag_chars(path, add)


def regress_steps(path, edit=None):
    """Features F=2, a target per step K=2, normalised targets."""
    with h5py.File(path, "w") as f:
        base(f, "regress")
        rng = np.random.default_rng(2)
        for split, lens in (("train", [5, 5, 3]), ("val", [5])):
            off = offsets(lens)
            f[f"{split}/offsets"] = off
            f[f"{split}/features"] = rng.standard_normal((off[-1], 2)).astype(np.float32)
            f[f"{split}/targets"] = rng.standard_normal((off[-1], 2)).astype(np.float32)
        f["norm/target_mean"] = np.array([10.0, -3.0], dtype=np.float32)
        f["norm/target_std"] = np.array([2.0, 0.25], dtype=np.float32)
        if edit:
            edit(f)


def regress_base(path, edit=None):
    """Per-step targets as changes from a base per sequence (seq_base), normalised."""
    def add(f):
        f["train/seq_base"] = np.array([[10.0, 1.0], [20.0, 2.0], [30.0, 3.0]], dtype=np.float32)
        f["val/seq_base"] = np.array([[50.0, 5.0]])
        if edit:
            edit(f)
    regress_steps(path, add)


def regress_seq(path, edit=None):
    """Word tokens, one target per sequence K=1."""
    with h5py.File(path, "w") as f:
        base(f, "regress")
        f["vocab_words"] = np.array(["<unk>", "up", "down"], dtype=object).astype(STR)
        for split, lens in (("train", [2, 2, 3, 1]), ("test", [2])):
            off = offsets(lens)
            f[f"{split}/offsets"] = off
            f[f"{split}/tokens"] = (np.arange(off[-1]) % 3).astype(np.int32)
            f[f"{split}/seq_targets"] = np.arange(len(lens), dtype=np.float64).reshape(-1, 1)
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
    # offsets
    c["offsets_decrease"] = (classify_tokens, lambda f: replace(f, "train/offsets", np.array([0, 3, 4, 2, 10, 15])))
    c["offsets_start"] = (classify_tokens, lambda f: replace(f, "train/offsets", np.array([1, 3, 4, 8, 10, 15])))
    c["offsets_end_short"] = (classify_tokens, lambda f: put(f, "train/offsets", 5, 14))
    c["offsets_end_long"] = (classify_tokens, lambda f: put(f, "train/offsets", 5, 16))
    c["offsets_empty_seq"] = (classify_tokens, lambda f: put(f, "train/offsets", 2, 3))
    c["offsets_float"] = (classify_tokens, lambda f: replace(f, "train/offsets", np.array([0, 3, 4, 8, 10, 15.0])))
    c["offsets_rank2"] = (classify_tokens, lambda f: replace(f, "train/offsets", np.array([[0, 3, 4], [8, 10, 15]])))
    c["offsets_missing"] = (classify_tokens, lambda f: f.__delitem__("val/offsets"))
    # labels
    c["label_ge_C"] = (classify_tokens, lambda f: put(f, "train/labels", 1, 3))
    c["label_negative"] = (classify_tokens, lambda f: put(f, "train/labels", 0, -1))
    c["label_ge_num_classes"] = (classify_features, lambda f: put(f, "val/labels", 0, 2))
    c["step_label_negative"] = (tag_chars, lambda f: put(f, "train/step_labels", 5, -2))
    c["labels_missing"] = (classify_tokens, lambda f: f.__delitem__("train/labels"))
    c["labels_wrong_length"] = (classify_tokens, lambda f: replace(f, "train/labels", np.zeros(4, np.int32)))
    c["labels_strings"] = (classify_tokens,
                           lambda f: replace(f, "train/labels", np.array(["a"] * 5, dtype=object).astype(STR)))
    c["label_names_vs_num_classes"] = (classify_tokens, lambda f: f.attrs.__setitem__("num_classes", 4))
    c["step_labels_short"] = (tag_chars, lambda f: replace(f, "val/step_labels", np.zeros(2, np.int32)))
    # tokens and vocabularies
    c["token_ge_V"] = (classify_tokens, lambda f: put(f, "train/tokens", 4, 6))
    c["token_huge_uint64"] = (classify_tokens,
                              lambda f: replace(f, "train/tokens", np.full(15, 2**63 + 5, dtype=np.uint64)))
    c["tokens_float"] = (classify_tokens, lambda f: replace(f, "train/tokens", np.zeros(15, np.float32)))
    c["tokens_rank2"] = (classify_tokens, lambda f: replace(f, "train/tokens", np.zeros((15, 1), np.int32)))
    c["vocab_missing"] = (classify_tokens, lambda f: f.__delitem__("vocab_words"))
    c["vocab_both"] = (classify_tokens, lambda f: f.__setitem__("vocab", np.zeros(6, np.uint8)))
    c["vocab_words_ints"] = (classify_tokens, lambda f: replace(f, "vocab_words", np.arange(6)))
    c["vocab_words_not_utf8"] = (classify_tokens, lambda f: replace(
        f, "vocab_words", np.array([b"a", b"b\xff", b"c", b"d", b"e", b"f"], dtype=object),
        dtype=h5py.string_dtype("ascii")))
    c["vocab_byte_300"] = (tag_chars, lambda f: replace(f, "vocab", np.arange(8, dtype=np.int32) + 293))
    c["vocab_too_long"] = (tag_chars, lambda f: replace(f, "vocab", np.zeros(300, np.uint8)))
    # features and targets
    c["features_nan"] = (classify_features, lambda f: put(f, "train/features", (2, 1), np.nan))
    c["features_inf"] = (classify_features, lambda f: put(f, "val/features", (0, 2), np.inf))
    c["features_overflow"] = (classify_features, lambda f: put(f, "train/features", (0, 0), 1e300))
    c["features_int"] = (classify_features, lambda f: replace(f, "train/features", np.zeros((6, 3), np.int32)))
    c["features_rank1"] = (classify_features, lambda f: replace(f, "train/features", np.zeros(6)))
    c["features_F_mismatch"] = (classify_features, lambda f: replace(f, "val/features", np.zeros((4, 4))))
    c["features_short"] = (classify_features, lambda f: replace(f, "test/features", np.zeros((1, 3))))
    c["targets_nan"] = (regress_steps, lambda f: put(f, "train/targets", (7, 1), np.nan))
    c["targets_inf"] = (regress_steps, lambda f: put(f, "val/targets", (4, 0), -np.inf))
    c["seq_targets_nan"] = (regress_seq, lambda f: put(f, "train/seq_targets", (3, 0), np.nan))
    c["seq_targets_inf"] = (regress_seq, lambda f: put(f, "test/seq_targets", (0, 0), np.inf))
    c["targets_K_mismatch"] = (regress_steps, lambda f: replace(f, "val/targets", np.zeros((5, 3), np.float32)))
    c["targets_and_seq_targets"] = (regress_steps, lambda f: f.__setitem__("train/seq_targets", np.zeros((3, 2))))
    c["targets_kind_mismatch"] = (regress_steps, lambda f: (f.__delitem__("val/targets"),
                                                           f.__setitem__("val/seq_targets", np.zeros((1, 2)))))
    c["targets_missing"] = (regress_seq, lambda f: f.__delitem__("train/seq_targets"))
    c["seq_base_nan"] = (regress_base, lambda f: put(f, "val/seq_base", (0, 0), np.nan))
    c["seq_base_rows"] = (regress_seq, lambda f: (f.__setitem__("train/seq_base", np.zeros((3, 1))),
                                                  f.__setitem__("test/seq_base", np.zeros((1, 1)))))
    c["seq_base_missing"] = (regress_seq, lambda f: f.__setitem__("train/seq_base", np.zeros((4, 1))))
    c["seq_base_K"] = (regress_seq, lambda f: (f.__setitem__("train/seq_base", np.zeros((4, 2))),
                                               f.__setitem__("test/seq_base", np.zeros((1, 2)))))
    c["context_nan"] = (tag_context, lambda f: put(f, "val/context", (0, 1), np.nan))
    c["context_rows"] = (tag_context, lambda f: replace(f, "train/context", np.zeros((2, 2))))
    c["context_missing"] = (tag_context, lambda f: f.__delitem__("val/context"))
    c["context_width"] = (tag_context, lambda f: replace(f, "val/context", np.zeros((1, 3))))
    c["context_rank"] = (tag_context, lambda f: replace(f, "train/context", np.zeros(3)))
    c["norm_std_zero"] = (classify_features, lambda f: put(f, "norm/feature_std", 1, 0.0))
    c["norm_std_missing"] = (regress_steps, lambda f: f.__delitem__("norm/target_std"))
    c["norm_mean_nan"] = (regress_steps, lambda f: put(f, "norm/target_mean", 0, np.nan))
    c["norm_wrong_length"] = (classify_features, lambda f: replace(f, "norm/feature_mean", np.zeros(2)))
    # splits and inputs
    c["train_missing"] = (classify_tokens, lambda f: f.__delitem__("train"))
    c["train_dataset"] = (classify_tokens, lambda f: (f.__delitem__("train"), f.__setitem__("train", [1, 2])))
    c["inputs_missing"] = (classify_tokens, lambda f: f.__delitem__("val/tokens"))
    c["inputs_kind_mismatch"] = (classify_tokens, lambda f: (f.__delitem__("val/tokens"),
                                                            f.__setitem__("val/features", np.zeros((5, 3)))))
    c["inputs_both"] = (classify_tokens, lambda f: f.__setitem__("train/features", np.zeros((15, 3))))
    # links: only hard links are followed (a soft or external one leads where the probe never looked)
    c["link_external"] = (classify_tokens, lambda f: (f.__delitem__("train/tokens"), f.__setitem__(
        "train/tokens", h5py.ExternalLink("good_classify_tokens.h5", "/train/tokens"))))
    c["link_soft_group"] = (classify_tokens, lambda f: (f.__delitem__("val"), f.__setitem__("val", h5py.SoftLink("/train"))))
    # attributes
    c["format_wrong"] = (classify_tokens, lambda f: f.attrs.__setitem__("format", "recur-tokens"))
    c["version_wrong"] = (classify_tokens, lambda f: f.attrs.__setitem__("version", 2))
    c["task_wrong"] = (classify_tokens, lambda f: f.attrs.__setitem__("task", "lm"))
    c["task_int"] = (classify_tokens, lambda f: f.attrs.__setitem__("task", 1))
    c["num_classes_zero"] = (classify_features, lambda f: f.attrs.__setitem__("num_classes", 0))
    # huge declared extents (no storage behind them)
    c["huge_tokens"] = (classify_tokens, lambda f: replace(f, "train/tokens", shape=(2**40,), dtype=np.int32,
                                                           chunks=(4096,)))
    c["huge_tokens_unstored"] = (classify_tokens, lambda f: replace(f, "train/tokens", shape=(3 * 10**9,),
                                                                    dtype=np.int32))
    c["huge_offsets"] = (classify_tokens, lambda f: replace(f, "train/offsets", shape=(2**31,), dtype=np.int64,
                                                            chunks=(4096,)))
    c["huge_features"] = (classify_features, lambda f: replace(f, "train/features", shape=(6, 2**20), dtype=np.float32,
                                                               chunks=(1, 4096)))
    c["huge_vocab_words"] = (classify_tokens, lambda f: replace(f, "vocab_words", shape=(2**30,), dtype=STR,
                                                                chunks=(4096,)))
    c["transform_unknown"] = (regress_seq, lambda f: f.attrs.__setitem__("target_transform", "sqrt"))
    c["transform_not_regress"] = (classify_tokens, lambda f: f.attrs.__setitem__("target_transform", "log"))
    c["huge_labels"] = (classify_tokens, lambda f: replace(f, "train/labels", shape=(2**36,), dtype=np.int8,
                                                           chunks=(4096,)))
    return c


def damage_heap(path, word):
    """Forges the global-heap length of the heap object holding `word` (a
    vocabulary entry): libhdf5 reads variable-length strings from there."""
    with open(path, "r+b") as fh:
        data = bytearray(fh.read())
        at = data.find(word.encode())
        assert at >= 16, "word not found in the file"
        # object header: index u16, refcount u16, reserved u32, size u64, then the data
        data[at - 8:at] = (2**40).to_bytes(8, "little")
        fh.seek(0)
        fh.write(data)


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, make in (("classify_tokens", classify_tokens), ("classify_features", classify_features),
                       ("tag_chars", tag_chars), ("regress_steps", regress_steps), ("regress_seq", regress_seq),
                       ("regress_base", regress_base), ("tag_context", tag_context)):
        make(os.path.join(d, f"good_{name}.h5"))
        print(f"good_{name}.h5")
    for name, (make, edit) in bad_cases().items():
        make(os.path.join(d, f"bad_{name}.h5"), edit)
        print(f"bad_{name}.h5")
    p = os.path.join(d, "bad_heap_vocab_words.h5")
    classify_tokens(p)
    damage_heap(p, "zzqqword")
    print("bad_heap_vocab_words.h5")


if __name__ == "__main__":
    main()
