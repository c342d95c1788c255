// Peak single-precision FMA throughput of CPUs without AVX-512 (AVX2 + FMA: 8 lanes x 2 flops per
// FMA), for benches/compare.py; on AVX-512 machines compare.py uses ../shared/bench/peak.c.
// Each thread keeps 12 independent accumulator chains in registers (enough to cover the FMA
// latency x throughput of current cores), so the loop is bound by the FMA units alone.
// Build: gcc -O3 -mavx2 -mfma -fopenmp peak_avx2.c -o peak_avx2
// Run:   OMP_NUM_THREADS=2 ./peak_avx2   ->   PEAK_FMA256_GFLOPS 2 threads: median M min A max B
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// `iters` rounds of CHAINS independent FMAs; the sum keeps the compiler from dropping them.
static float fma_chains(long iters) {
    __m256 acc[CHAINS];
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_set1_ps((float)c * 1e-3f);
    const __m256 scale = _mm256_set1_ps(0.999999f), shift = _mm256_set1_ps(1e-6f);
    for (long i = 0; i < iters; i++) {
#pragma GCC unroll 12
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_fmadd_ps(acc[c], scale, shift);
    }
    float lanes[8], total = 0;
    for (int c = 0; c < CHAINS; c++) {
        _mm256_storeu_ps(lanes, acc[c]);
        for (int l = 0; l < 8; l++) total += lanes[l];
    }
    return total;
}

// GFLOP/s of all threads running the chains for about `target` seconds.
static double gflops(int threads, double target) {
    long iters = 1 << 20;
    for (;;) {
        volatile float sink = 0;
        double start = seconds();
#pragma omp parallel num_threads(threads)
        {
            float s = fma_chains(iters);
#pragma omp atomic
            sink += s;
        }
        double elapsed = seconds() - start;
        if (elapsed >= target) return (double)CHAINS * 16 * iters * threads / elapsed / 1e9;
        iters = (long)(iters * 1.2 * target / (elapsed > 1e-3 ? elapsed : 1e-3));
    }
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    int threads = omp_get_max_threads();
    gflops(threads, 0.5); // warm-up: clock ramp
    double runs[3];
    for (int r = 0; r < 3; r++) runs[r] = gflops(threads, 2.0);
    qsort(runs, 3, sizeof runs[0], by_value);
    printf("PEAK_FMA256_GFLOPS %d threads: median %.1f min %.1f max %.1f\n", threads, runs[1],
           runs[0], runs[2]);
    return 0;
}
