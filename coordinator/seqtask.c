/* seqtask.c - see seqtask.h. */
#include "seqtask.h"

#include <stdio.h>
#include <string.h>

#include "../io/checkpoint.h"

const char *seqtask_merge_name(merge_kind m) { return m == MERGE_SUM ? "sum" : "concat"; }

int seqtask_merge_from_name(const char *name, merge_kind *out) {
    if (!strcmp(name, "concat")) *out = MERGE_CONCAT;
    else if (!strcmp(name, "sum")) *out = MERGE_SUM;
    else return -1;
    return 0;
}

void seqtask_config_from_data(model_config *cfg, const seq_dataset *ds) {
    cfg->task = ds->task;
    cfg->input_size = ds->input_size;
    cfg->vocab_size = ds->vocab_size;
    cfg->output_size = ds->task == TASK_REGRESS ? ds->output_size : ds->num_classes;
    cfg->per_step = ds->per_step;
    if (ds->input_size) cfg->embed_size = 0;
}

/* "classify" / "tag" / "regress per step" / "regress per sequence" */
static const char *task_words(task_kind task, int per_step) {
    if (task == TASK_REGRESS) return per_step ? "regress per step" : "regress per sequence";
    return task_name(task);
}

static void describe(task_kind task, int per_step, int V, int F, int O, char *buf, size_t len) {
    if (task == TASK_TREE) { /* F: the node classes */
        snprintf(buf, len, "trees, V=%d, %d root classes, %d node classes", V, O, F);
        return;
    }
    if (task == TASK_SEQ2SEQ) { /* F: the source vocabulary */
        snprintf(buf, len, "seq2seq, source V=%d, target V=%d", F, V);
        return;
    }
    if (task == TASK_LM) {
        snprintf(buf, len, "language modelling, V=%d", V);
        return;
    }
    char inputs[64], outputs[32];
    if (F) snprintf(inputs, sizeof inputs, "features F=%d", F);
    else snprintf(inputs, sizeof inputs, "tokens V=%d", V);
    snprintf(outputs, sizeof outputs, "%s=%d", task == TASK_REGRESS ? "K" : "C", O);
    snprintf(buf, len, "%s, %s, %s", task_words(task, per_step), inputs, outputs);
}

void seqtask_describe_model(const model_config *cfg, char *buf, size_t len) {
    if (cfg->task == TASK_SEQ2SEQ && cfg->condition) {
        snprintf(buf, len, "a conditional language model on %s %d, V=%d", cfg->condition == COND_LABEL ? "labels, C ="
                 : "context features, F =", cfg->condition == COND_LABEL ? cfg->src_vocab_size : cfg->input_size,
                 cfg->vocab_size);
        return;
    }
    describe(cfg->task, cfg->per_step, cfg->vocab_size,
             cfg->task == TASK_SEQ2SEQ ? cfg->src_vocab_size : cfg->task == TASK_TREE ? cfg->node_classes
                                                                                     : cfg->input_size,
             cfg->output_size, buf, len);
}

void seqtask_describe_data(const seq_dataset *ds, char *buf, size_t len) {
    describe(ds->task, ds->per_step, ds->vocab_size, ds->input_size,
             ds->task == TASK_REGRESS ? ds->output_size : ds->num_classes, buf, len);
}

static int mismatch(const model_config *cfg, const char *model_path, const char *role, const char *data_desc,
                    const char *data_path, const char *why, recur_err *err) {
    char have[160];
    seqtask_describe_model(cfg, have, sizeof have);
    return recur_fail(err, RECUR_EXIT_INPUT, "%s %s is a model for %s; dataset %s holds %s: %s", role, model_path, have,
                      data_path, data_desc, why);
}

int seqtask_check_fit(const model_config *cfg, const char *model_path, const char *role, const seq_dataset *ds,
                      const char *data_path, recur_err *err) {
    char data[160];
    seqtask_describe_data(ds, data, sizeof data);
    const int O = ds->task == TASK_REGRESS ? ds->output_size : ds->num_classes;
    const char *why = NULL;
    if (cfg->task != ds->task || (ds->task == TASK_REGRESS && cfg->per_step != ds->per_step))
        why = "a task the checkpoint was not trained for";
    else if (!cfg->input_size != !ds->input_size)
        why = ds->input_size ? "the model reads tokens, the dataset has feature inputs"
                             : "the model reads features, the dataset has token inputs";
    else if (ds->input_size && cfg->input_size != ds->input_size)
        why = "the number of features per step differs";
    else if (!ds->input_size && cfg->vocab_size != ds->vocab_size)
        why = "the vocabulary sizes differ";
    else if (cfg->output_size != O)
        why = ds->task == TASK_REGRESS ? "the number of targets differs" : "the number of classes differs";
    return why ? mismatch(cfg, model_path, role, data, data_path, why, err) : 0;
}

int seqtask_check_fit_tokens(const model_config *cfg, const char *model_path, const char *role, int vocab_size,
                             const char *data_path, recur_err *err) {
    char data[96];
    snprintf(data, sizeof data, "tokens for language modelling, V=%d", vocab_size);
    if (cfg->task != TASK_LM) return mismatch(cfg, model_path, role, data, data_path, "a task the checkpoint was not trained for", err);
    if (cfg->vocab_size != vocab_size) return mismatch(cfg, model_path, role, data, data_path, "the vocabulary sizes differ", err);
    return 0;
}

int seqtask_check_fit_pairs(const model_config *cfg, const char *model_path, const char *role, const pair_dataset *ds,
                            const char *data_path, recur_err *err) {
    char data[128];
    const int F = ds->split[SPLIT_TRAIN].src_width;
    if (ds->condition == COND_LABEL)
        snprintf(data, sizeof data, "sequences conditioned on %d labels, V=%d", ds->src.size, ds->tgt.size);
    else if (ds->condition == COND_FEATURES)
        snprintf(data, sizeof data, "sequences conditioned on %d context features, V=%d", F, ds->tgt.size);
    else
        snprintf(data, sizeof data, "pairs, source V=%d, target V=%d", ds->src.size, ds->tgt.size);
    const char *why = cfg->task != TASK_SEQ2SEQ                      ? "a task the checkpoint was not trained for"
                      : cfg->condition != (condition_kind)ds->condition ? "the checkpoint is conditioned on something else"
                      : cfg->src_vocab_size != ds->src.size           ? "the source vocabulary (or label) sizes differ"
                      : cfg->condition == COND_FEATURES && cfg->input_size != F ? "the context widths differ"
                      : cfg->vocab_size != ds->tgt.size               ? "the target vocabulary sizes differ"
                                                                      : NULL;
    if (why) return mismatch(cfg, model_path, role, data, data_path, why, err);
    if (cfg->end != END_LENGTH) return 0;
    for (int k = 0; k < SPLIT_COUNT; k++) { /* the length head predicts 1..max_len */
        const pair_split *sp = &ds->split[k];
        for (size_t i = 0; sp->present && i < sp->n; i++)
            if (pair_tgt_length(sp, i) > (size_t)cfg->max_len)
                return recur_fail(err, RECUR_EXIT_INPUT,
                                  "%s: /%s pair %zu: a target of %zu tokens, longer than max_len %d of %s %s (its "
                                  "length head predicts 1..%d): train with a larger --max-len",
                                  data_path, SEQ_SPLIT_NAMES[k], i, pair_tgt_length(sp, i), cfg->max_len, role,
                                  model_path, cfg->max_len);
    }
    return 0;
}

int seqtask_longest_target(const pair_dataset *ds) {
    size_t most = 1;
    for (int k = 0; k < SPLIT_COUNT; k++) {
        const pair_split *sp = &ds->split[k];
        for (size_t i = 0; sp->present && i < sp->n; i++)
            if (pair_tgt_length(sp, i) > most) most = pair_tgt_length(sp, i);
    }
    return most > (1u << 16) ? 1 << 16 : (int)most;
}

int seqtask_tree_cell_from_name(const char *name, cell_kind *out) {
    if (!strcmp(name, "tanh")) *out = CELL_RNN_TANH;
    else if (!strcmp(name, "lstm")) *out = CELL_LSTM;
    else return -1;
    return 0;
}

const char *seqtask_tree_cell_name(cell_kind cell) { return cell == CELL_RNN_TANH ? "tanh" : cell_name(cell); }

tree_forest seqtask_forest(const tree_split *s) {
    if (!s->present) return (tree_forest){0};
    return (tree_forest){.n = s->n, .tree_offsets = s->tree_offsets, .child_offsets = s->child_offsets,
                         .children = s->children, .tokens = s->tokens, .node_labels = s->node_labels,
                         .root_labels = s->root_labels, .roots = s->roots};
}

void seqtask_config_from_trees(model_config *cfg, const tree_dataset *ds) {
    cfg->task = TASK_TREE;
    cfg->vocab_size = ds->vocab_size;
    cfg->output_size = ds->num_root_classes;
    cfg->node_classes = ds->num_node_classes;
    cfg->num_layers = 1;
}

int seqtask_check_fit_trees(const model_config *cfg, const char *model_path, const char *role, const tree_dataset *ds,
                            const char *data_path, recur_err *err) {
    char data[160];
    snprintf(data, sizeof data, "trees, V=%d, %d root classes, %d node classes", ds->vocab_size, ds->num_root_classes,
             ds->num_node_classes);
    const int roots = ds->num_root_classes && cfg->output_size, nodes = ds->num_node_classes && cfg->node_classes;
    const char *why = cfg->task != TASK_TREE                                    ? "a task the checkpoint was not trained for"
                      : cfg->vocab_size != ds->vocab_size                       ? "the vocabulary sizes differ"
                      : roots && cfg->output_size != ds->num_root_classes       ? "the root classes differ"
                      : nodes && cfg->node_classes != ds->num_node_classes      ? "the node classes differ"
                      : !roots && !nodes ? "none of the model's heads has labels in the dataset"
                                         : NULL;
    return why ? mismatch(cfg, model_path, role, data, data_path, why, err) : 0;
}

/* The split a sequence command names: train, val or test. */
int seqtask_split_from_name(const char *name) {
    for (int i = 0; i < SPLIT_COUNT; i++)
        if (!strcmp(name, SEQ_SPLIT_NAMES[i])) return i;
    return -1;
}

/* Model and sequence dataset, loaded and checked against each other (both
 * files named when they do not fit), and the split to use. */
int seqtask_load(const char *model_path, const char *data_path, const char *split_name, checkpoint_in *ck,
                 seq_dataset *ds, int *which, recur_err *err) {
    *which = seqtask_split_from_name(split_name);
    if (*which < 0)
        return recur_fail(err, RECUR_EXIT_USAGE, "--split: expected train, val or test, found '%s'", split_name);
    if (checkpoint_load(model_path, ck, err) || seqdata_load(data_path, ds, err)) return -1;
    if (seqtask_check_fit(&ck->m.cfg, model_path, "--model", ds, data_path, err)) return -1;
    const seq_split *sp = &ds->split[*which];
    if (!sp->present || sp->n == 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: group '/%s': expected for --split %s, found none", data_path,
                          SEQ_SPLIT_NAMES[*which], SEQ_SPLIT_NAMES[*which]);
    return 0;
}


int seqtask_load_trees(const char *model_path, const char *data_path, const char *split_name, checkpoint_in *ck,
                       tree_dataset *ds, int *which, recur_err *err) {
    *which = seqtask_split_from_name(split_name);
    if (*which < 0)
        return recur_fail(err, RECUR_EXIT_USAGE, "--split: expected train, val or test, found '%s'", split_name);
    if (checkpoint_load(model_path, ck, err) || treedata_load(data_path, ds, err)) return -1;
    if (seqtask_check_fit_trees(&ck->m.cfg, model_path, "--model", ds, data_path, err)) return -1;
    const tree_split *sp = &ds->split[*which];
    if (!sp->present || sp->n == 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: group '/%s': expected for --split %s, found none", data_path,
                          SEQ_SPLIT_NAMES[*which], SEQ_SPLIT_NAMES[*which]);
    return 0;
}
