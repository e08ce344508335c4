/* fastmath.h - exp and tanh for float that the compiler can vectorize.
 *
 * The gate loops call exp/tanh once per unit; glibc's scalar expf/tanhf keep
 * those loops scalar and cost ~7% of an LSTM training step.  These are
 * branch-free (Cephes' polynomial, |rel err| < 2 ulp for exp), so GCC turns
 * the loops into AVX code.  They are used by the float engine only; the
 * double engine (gradient checks) keeps libm.  No -ffast-math: results stay
 * reproducible. */
#ifndef RECUR_FASTMATH_H
#define RECUR_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "isa.h"

RECUR_INLINE float fm_expf(float x) {
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365447504f ? -87.3365447504f : x;
    /* x = n ln2 + r, |r| <= ln2/2, ln2 split in two for an exact reduction. */
    /* round to nearest by the 1.5*2^23 trick (floorf would not vectorize). */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    /* times 2^n, built in the exponent bits (n in [-126, 127] after the clamp;
     * a NaN input slips past the clamp, hence the unsigned shift: y is NaN then). */
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

/* tanh(x) = sign(x) (1 - 2/(exp(2|x|) + 1)); for |x| < 0.0625 an odd
 * polynomial keeps the relative error small near 0. */
RECUR_INLINE float fm_tanhf(float x) {
    float a = fabsf(x);
    float e = fm_expf(2.0f * (a < 9.0f ? a : 9.0f));
    float big = 1.0f - 2.0f / (e + 1.0f);
    float x2 = x * x;
    float small = a * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
    float t = a < 0.0625f ? small : big;
    return copysignf(t, x);
}

#endif
