#!/usr/bin/python3
"""make_tree_inputs.py - tree datasets ("recur-trees") for tests/test_treedata.c
and the `trees` kind of scripts/fuzz-inputs.

    /usr/bin/python3 tests/make_tree_inputs.py DIR

Writes with h5py, the way an external tool does:
  DIR/good_*.h5  valid files in h5py's own types (str attributes, int64
                 arrays, variable-length string vocabularies);
  DIR/bad_*.h5   each the good file with exactly one thing broken, so a
                 failure can only be about that one thing (test_treedata.c
                 lists the field each message must name).
Prints one line per file written.
"""
import os
import sys

import h5py
import numpy as np

STR = h5py.string_dtype()

# Trees as (tokens, children lists, node labels, root label), nodes local.
# "the cat sat": sat is the root, cat its child, the cat's.
TRAIN = [
    ([1, 2, 3], [[], [0], [1]], [0, 1, 2], 0),
    ([2, 4, -1], [[], [], [0, 1]], [1, 1, -1], 1),  # a binary tree: an internal node without a token
    ([3], [[]], [2], 0),                            # a single node
    ([1, 2, 3, 4], [[], [], [0, 1, 3], []], [0, 1, 2, 1], 1),  # n-ary: node 2 has three children
]
VAL = [([4, 3], [[1], []], [1, 2], 1)]


def split_arrays(trees):
    tree_off, child_off, children, tokens, nlab, rlab = [0], [0], [], [], [], []
    for tok, kids, nl, rl in trees:
        for k in kids:
            children.extend(k)
            child_off.append(len(children))
        tokens.extend(tok)
        nlab.extend(nl)
        rlab.append(rl)
        tree_off.append(len(tokens))
    i64 = lambda v: np.array(v, dtype=np.int64)
    return {"tree_offsets": i64(tree_off), "child_offsets": i64(child_off), "children": i64(children),
            "tokens": i64(tokens), "node_labels": i64(nlab), "root_labels": i64(rlab)}


def good(path, edit=None, names=True):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "recur-trees"
        f.attrs["version"] = 1
        f["vocab_words"] = np.array(["<unk>", "the", "cat", "sat", "mat"], dtype=object).astype(STR)
        if names:
            f["node_label_names"] = np.array(["DET", "NOUN", "VERB"], dtype=object).astype(STR)
            f["root_label_names"] = np.array(["email", "weblog"], dtype=object).astype(STR)
        for split, trees in (("train", TRAIN), ("val", VAL)):
            for k, v in split_arrays(trees).items():
                f[f"{split}/{k}"] = v
        if edit:
            edit(f)


def replace(name, value):
    def edit(f):
        del f[name]
        f[name] = value
    return edit


def setitem(name, index, value):
    def edit(f):
        v = f[name][()]
        v[index] = value
        del f[name]
        f[name] = v
    return edit


def delete(name):
    def edit(f):
        del f[name]
    return edit


def huge_unstored(name, n):
    """Declares n elements with no storage behind them."""
    def edit(f):
        del f[name]
        f.create_dataset(name, shape=(n,), dtype=np.int32)
    return edit


def attr(name, value):
    def edit(f):
        f.attrs[name] = value
    return edit


def child_offsets_bad(f):
    # node 1 of tree 0 claims children 1..0: offsets go down
    v = f["train/child_offsets"][()]
    v[3] = 0
    del f["train/child_offsets"]
    f["train/child_offsets"] = v


BAD = {
    # tree shapes (train tree 0 is nodes 0..2, children[0] = 0 of node 1, children[1] = 1 of node 2)
    "cycle": setitem("train/children", 0, 2),          # 1 -> 2 -> 1, apart from the root 0
    "self_child": setitem("train/children", 1, 2),     # node 2 its own child
    "two_roots": lambda f: (replace("train/children", np.array([0, 0, 1, 0, 1, 3], dtype=np.int64))(f),
                            replace("train/child_offsets",
                                    np.array([0, 0, 1, 1, 1, 1, 3, 3, 3, 3, 6, 6], dtype=np.int64))(f)),
    "child_range": setitem("train/children", 1, 3),    # tree 0 has nodes 0..2
    "child_twice": setitem("train/children", 1, 0),    # node 0 a child of nodes 1 and 2
    "tree_offsets_order": setitem("train/tree_offsets", 2, 2),
    "tree_offsets_end": setitem("train/tree_offsets", 4, 10),
    "child_offsets_order": child_offsets_bad,
    "leaf_without_token": setitem("train/tokens", 0, -1),
    "token_range": setitem("train/tokens", 1, 5),
    "node_label_range": setitem("train/node_labels", 0, 3),
    "root_label_range": setitem("train/root_labels", 0, 2),
    "root_label_negative": setitem("val/root_labels", 0, -1),
    "tokens_float": replace("train/tokens", np.array([1, 2, 3, 2, 4, -1, 3, 1, 2, 3, 4], dtype=np.float32)),
    "children_rank2": replace("train/children", np.zeros((7, 1), dtype=np.int32)),
    "children_missing": delete("train/children"),
    "child_offsets_short": replace("train/child_offsets", np.array([0, 0, 1, 2], dtype=np.int64)),
    "huge_tokens": huge_unstored("train/tokens", 3000000000),
    "huge_tree_offsets": huge_unstored("train/tree_offsets", 2147483648),
    "huge_children": huge_unstored("train/children", 1000000),
    "labels_neither": lambda f: (delete("train/node_labels")(f), delete("train/root_labels")(f),
                                 delete("val/node_labels")(f), delete("val/root_labels")(f)),
    "labels_one_split": delete("val/node_labels"),
    "format_wrong": attr("format", "recur-sequences"),
    "version_wrong": attr("version", 2),
    "train_missing": delete("train"),
    "vocab_both": lambda f: f.create_dataset("vocab", data=np.arange(5, dtype=np.uint8)),
    "vocab_missing": delete("vocab_words"),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    good(os.path.join(out, "good_trees.h5"))
    print("good_trees.h5")
    good(os.path.join(out, "good_unnamed.h5"), names=False)
    print("good_unnamed.h5")
    for name, edit in BAD.items():
        good(os.path.join(out, f"bad_{name}.h5"), edit)
        print(f"bad_{name}.h5")


if __name__ == "__main__":
    main()
