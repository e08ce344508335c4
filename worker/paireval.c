#include "paireval.h"

#include <string.h>

#include "../core/seq2seq.h"
#include "pairbatch.h"

int pair_evaluate(const model *m, const pair_split *sp, int batch, int ranks, int rank, double *sums, recur_err *err) {
    memset(sums, 0, PAIR_SUMS * sizeof(double));
    pairbatch pb;
    if (pairbatch_init(&pb, sp, "evaluated", m->cfg.vocab_size, m->cfg.end == END_EOS, batch, ranks, rank, 0, 0, err))
        return -1;
    s2s_workspace ws;
    if (s2s_workspace_create(&ws, m, pb.max_n, pb.max_Ts, pb.max_Re, pb.max_Td, pb.max_Rd, 0, err)) {
        pairbatch_free(&pb);
        return -1;
    }
    const int O = ws.O;
    for (long step = 0; step < pb.batches_per_epoch; step++) {
        pairbatch_fill(&pb, step);
        if (pb.n == 0) continue;
        const s2s_batch b = pairbatch_batch(&pb);
        s2s_loss l;
        s2s_forward(&ws, m, m->params, &b, &l);
        sums[PS_TOKEN_LOSS] += l.tokens;
        sums[PS_STOP_LOSS] += l.stop;
        sums[PS_LENGTH_LOSS] += l.length;
        sums[PS_TOKENS] += pb.Rd;
        sums[PS_PAIRS] += pb.n;
        for (int r = 0; r < pb.Rd; r++) { /* the most likely token is the right one */
            const float *p = ws.out + (size_t)r * O;
            int best = 0;
            for (int v = 1; v < O; v++)
                if (p[v] > p[best]) best = v;
            sums[PS_CORRECT] += best == b.dec_out[r];
        }
    }
    s2s_workspace_free(&ws);
    pairbatch_free(&pb);
    return 0;
}
