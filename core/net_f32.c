/* The float engine: what training, eval and sampling run. */
#define REAL float
#define SFX(name) name##_f32
#define GEMM_FN cblas_sgemm
#define EXP fm_expf
#define TANH fm_tanhf
#define USE_RGEMM 1
#include <math.h>
#include <stdint.h>
#include "fastmath.h"
#include "net_impl.h"
#include "seq2seq_impl.h"
#include "tree_impl.h"
