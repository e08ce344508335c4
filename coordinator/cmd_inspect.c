/* recur inspect CKPT - what a checkpoint holds: shape, progress, optimizer,
 * and per-tensor statistics. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../io/checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "json.h"

int cmd_inspect(int argc, char **argv) {
    int as_json = 0;
    opt_spec tab[] = {{"json", OPT_FLAG, &as_json, NULL, "JSON lines: a summary, then one per tensor", 0, 0, 0}};
    recur_err err = {0};
    char *pos[1];
    int npos, rc = cli_parse("inspect", "CKPT.h5 [--json]", tab, 1, argc, argv, pos, 1, &npos, &err);
    if (rc) return rc > 0 ? 0 : report_error("inspect", &err);
    if (npos != 1) {
        recur_fail(&err, RECUR_EXIT_USAGE, "usage: recur inspect CKPT.h5 [--json]");
        return report_error("inspect", &err);
    }
    checkpoint_in ck;
    if (checkpoint_load(pos[0], &ck, &err)) return report_error("inspect", &err);
    const model *m = &ck.m;
    json_line j;
    json_begin(&j);
    json_str(&j, "file", pos[0]);
    json_str(&j, "format", "recur-checkpoint");
    json_int(&j, "version", 1);
    json_str(&j, "cell", cell_name(m->cfg.cell));
    json_int(&j, "vocab_size", m->cfg.vocab_size);
    json_int(&j, "embed_size", m->cfg.embed_size);
    json_int(&j, "hidden_size", m->cfg.hidden_size);
    json_int(&j, "num_layers", m->cfg.num_layers);
    json_int(&j, "parameters", (long long)m->num_params);
    if (ck.has_progress) {
        json_int(&j, "step", ck.step);
        json_int(&j, "epoch", ck.epoch);
        json_int(&j, "tokens_seen", ck.tokens_seen);
    }
    json_str(&j, "optimizer", ck.has_optimizer ? optim_name(ck.opt.cfg.kind) : "none");
    json_int(&j, "has_vocab", ck.vocab != NULL);
    json_int(&j, "has_state", ck.state_h != NULL);
    json_int(&j, "has_config", ck.config_text != NULL);
    if (as_json) printf("%s\n", json_end(&j));
    else {
        printf("%s: recur-checkpoint v1, %s, %d layer(s) x %d hidden, embed %d, vocab %d, %zu parameters\n", pos[0],
               cell_name(m->cfg.cell), m->cfg.num_layers, m->cfg.hidden_size, m->cfg.embed_size, m->cfg.vocab_size,
               m->num_params);
        if (ck.has_progress) printf("progress: step %ld, epoch %ld, %ld tokens seen\n", ck.step, ck.epoch, ck.tokens_seen);
        printf("optimizer: %s%s; vocab %s; carried states %s\n", ck.has_optimizer ? optim_name(ck.opt.cfg.kind) : "none",
               ck.has_optimizer ? " (state stored)" : "", ck.vocab ? "stored" : "absent",
               ck.state_h ? "stored" : "absent");
        if (ck.config_text) printf("config:\n%s", ck.config_text);
        printf("%-28s %-12s %12s %12s %12s %12s %12s %6s\n", "tensor", "shape", "mean", "std", "min", "max", "l2", "nan/inf");
    }
    for (int t = 0; t < m->num_tensors; t++) {
        const tensor_info *ti = &m->tensors[t];
        const float *x = m->params + ti->offset;
        double s = 0, ss = 0, mn = INFINITY, mx = -INFINITY;
        long bad = 0;
        for (size_t i = 0; i < ti->count; i++) {
            if (!isfinite(x[i])) { bad++; continue; }
            s += x[i]; ss += (double)x[i] * x[i];
            mn = x[i] < mn ? x[i] : mn; mx = x[i] > mx ? x[i] : mx;
        }
        double cnt = (double)(ti->count - (size_t)bad), mean = s / cnt, sd = sqrt(fmax(0, ss / cnt - mean * mean));
        char shape[32];
        if (ti->ndim == 2) snprintf(shape, sizeof shape, "[%zu,%zu]", ti->shape[0], ti->shape[1]);
        else snprintf(shape, sizeof shape, "[%zu]", ti->shape[0]);
        if (as_json) {
            char path[64];
            snprintf(path, sizeof path, "/model/%s", ti->name);
            json_begin(&j);
            json_str(&j, "tensor", path);
            json_raw(&j, "shape", shape);
            json_str(&j, "dtype", "float32");
            json_num(&j, "mean", mean); json_num(&j, "std", sd);
            json_num(&j, "min", mn); json_num(&j, "max", mx);
            json_num(&j, "l2", sqrt(ss)); json_int(&j, "nonfinite", bad);
            printf("%s\n", json_end(&j));
        } else {
            printf("/model/%-21s %-12s %12.5g %12.5g %12.5g %12.5g %12.5g %6ld\n", ti->name, shape, mean, sd, mn, mx,
                   sqrt(ss), bad);
        }
    }
    checkpoint_in_free(&ck);
    return 0;
}
