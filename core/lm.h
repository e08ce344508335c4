/* lm.h - forward and backward of the whole language model over one window.
 *
 * embedding (V,E) -> L stacked recurrent layers -> head (V,H) -> softmax
 * cross-entropy.  The engine is written once (lm_impl.h) over a scalar type and
 * compiled twice: `_f32` is what training runs, `_f64` exists so the tests can
 * check gradients by finite differences in double precision against the very
 * same code.  Plain names (lm_forward, ...) mean the float version.
 *
 * Layout of activations: time-major rows, row r = t*B + b (B streams, window
 * T).  Tokens passed in are time-major too: inputs[t*B + b].
 */
#ifndef RECUR_LM_H
#define RECUR_LM_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"
#include "rgemm.h"

#define LM_REAL float
#define LM_SFX(name) name##_f32
#include "lm_decl.h"
#undef LM_REAL
#undef LM_SFX

#define LM_REAL double
#define LM_SFX(name) name##_f64
#include "lm_decl.h"
#undef LM_REAL
#undef LM_SFX

typedef lm_workspace_f32 lm_workspace;
#define lm_workspace_create lm_workspace_create_f32
#define lm_workspace_free lm_workspace_free_f32
#define lm_reset_state lm_reset_state_f32
#define lm_forward lm_forward_f32
#define lm_backward lm_backward_f32

#endif
