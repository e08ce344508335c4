/* The same engine in double precision, for finite-difference gradient checks. */
#define REAL double
#define SFX(name) name##_f64
#define GEMM_FN cblas_dgemm
#define EXP exp
#define TANH tanh
#include <math.h>
#include <stdint.h>
#include "net_impl.h"
#include "seq2seq_impl.h"
#include "tree_impl.h"
