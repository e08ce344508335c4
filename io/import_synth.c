/* import_synth.c - the adding problem and the copy task (import_synth.h). */
#include "import_synth.h"

#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "import_common.h"

enum { COPY_SYMBOLS = 10, COPY_DATA = 10, COPY_BLANK = 0, COPY_DELIM = 9 };

int synth_from_name(const char *name, synth_kind *out) {
    if (!strcmp(name, "adding")) *out = SYNTH_ADDING;
    else if (!strcmp(name, "copy")) *out = SYNTH_COPY;
    else return -1;
    return 0;
}

/* One adding-problem sequence: T rows of (value, marker), and its target. */
static int push_adding(import_seqs *s, long T, rng_state *r, recur_err *err) {
    const long half = (T + 1) / 2;
    const long a = (long)(rng_uniform(r) * (double)half), b = half + (long)(rng_uniform(r) * (double)(T - half));
    float target = 0;
    for (long t = 0; t < T; t++) {
        const float step[2] = {(float)rng_uniform(r), (float)(t == a || t == b)};
        if (step[1] != 0) target += step[0];
        if (import_vec_push(&s->features, step, 1, err)) return -1;
    }
    return import_vec_push(&s->seq_targets, &target, 1, err) || import_seqs_end_sequence(s, err) ? -1 : 0;
}

/* One copy-task sequence: T + 20 tokens and their labels. */
static int push_copy(import_seqs *s, long T, rng_state *r, recur_err *err) {
    int32_t data[COPY_DATA];
    for (int i = 0; i < COPY_DATA; i++) data[i] = 1 + (int32_t)(rng_next(r) % 8);
    const long n = T + 2 * COPY_DATA;
    for (long t = 0; t < n; t++) {
        const int32_t tok = t < COPY_DATA ? data[t] : t == COPY_DATA + T - 1 ? COPY_DELIM : COPY_BLANK;
        const int32_t lab = t >= n - COPY_DATA ? data[t - (n - COPY_DATA)] : COPY_BLANK;
        if (import_vec_push(&s->tokens, &tok, 1, err) || import_vec_push(&s->step_labels, &lab, 1, err)) return -1;
    }
    return import_seqs_end_sequence(s, err);
}

int import_synth(const synth_options *o, seq_dataset *ds, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    const int adding = o->kind == SYNTH_ADDING;
    const long min_len = adding ? 2 : 1, steps = o->length + (adding ? 0 : 2 * COPY_DATA);
    if (o->length < min_len || o->length > 1000000)
        return recur_fail(err, RECUR_EXIT_USAGE, "--length: expected an integer in [%ld, 1000000], found %ld", min_len,
                          o->length);
    if (o->count < 1 || (double)o->count * (double)steps > 1e9)
        return recur_fail(err, RECUR_EXIT_USAGE, "--count: expected at least 1 and at most 1e9 steps in all (%ld per "
                          "sequence), found %ld", steps, o->count);
    const char *what = adding ? "the adding problem" : "the copy task";
    import_seqs s;
    import_seqs_init(&s, adding ? 2 : 0, adding ? 1 : 0);
    rng_state r;
    rng_seed(&r, o->seed);
    uint8_t *split_of = malloc((size_t)o->count);
    int rc = split_of ? 0 : recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    for (long i = 0; !rc && i < o->count; i++) rc = adding ? push_adding(&s, o->length, &r, err) : push_copy(&s, o->length, &r, err);
    if (!rc) rc = import_split_shuffled(what, (size_t)o->count, o->val_fraction, o->test_fraction, o->seed, split_of, err);
    if (!rc && !adding) {
        static const char SYMBOLS[COPY_SYMBOLS + 1] = "_abcdefgh:";
        ds->vocab_size = ds->num_classes = COPY_SYMBOLS;
        ds->vocab = malloc(COPY_SYMBOLS);
        ds->label_names = calloc(COPY_SYMBOLS, sizeof(char *));
        if (!ds->vocab || !ds->label_names) rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
        for (int i = 0; !rc && i < COPY_SYMBOLS; i++) {
            ds->vocab[i] = (uint8_t)SYMBOLS[i];
            if (!(ds->label_names[i] = strndup(SYMBOLS + i, 1))) rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
        }
    }
    if (!rc) {
        seq_split all = import_seqs_view(&s);
        ds->task = adding ? TASK_REGRESS : TASK_TAG;
        ds->per_step = !adding;
        ds->input_size = adding ? 2 : 0;
        ds->output_size = adding ? 1 : 0;
        rc = import_partition(&all, ds->input_size, ds->output_size, split_of, ds, err);
    }
    free(split_of);
    import_seqs_free(&s);
    if (rc) seqdata_free(ds);
    return rc;
}
