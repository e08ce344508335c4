/* isa.h - the instruction set of the hot loops is chosen at run time.
 *
 * The default build targets plain x86-64 so one binary runs on every node of
 * a cluster whose CPUs differ.  RECUR_HOT functions are compiled three times
 * (x86-64-v4 = AVX-512, v3 = AVX2 + FMA, baseline) and the loader picks the
 * best the CPU has (GCC's target_clones, an ifunc resolved once at start).
 *
 * Bits: outside core/rgemm.c nothing is contracted into FMAs (ISO C mode), and
 * float reductions are never reordered (no -ffast-math), so every variant
 * gives the same bits; rgemm's variants may differ in the last bit, which only
 * reaches a rank's local gradient.  The parameter update (core/optim.c) is
 * not a RECUR_HOT function: it is compiled once for the baseline and applied
 * to the allreduced gradient, identical on every rank, so replicas stay
 * bitwise identical across CPU generations. */
#ifndef RECUR_ISA_H
#define RECUR_ISA_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(RECUR_NO_CLONES)
#define RECUR_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RECUR_HOT
#endif

/* Helpers called from RECUR_HOT functions: always inlined, so they are
 * compiled for the caller's instruction set. */
#define RECUR_INLINE static inline __attribute__((always_inline))

#endif
