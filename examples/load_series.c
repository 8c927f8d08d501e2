/* examples/load_series.c — nktls-load's per-second series: what each second
 * after the warm-up saw (operations and errors ended in it, bytes moved in
 * it, the latency of its operations), for plots (--json, --csv) and the
 * progress line's current p50/p99.
 *
 * Each worker records its own seconds in blocks it allocates as the run goes
 * on; the scheduler thread reads them while the workers run, so a block is
 * published with a release store and every count is a relaxed atomic. */
#include <stdlib.h>
#include <string.h>

#include "load_conn.h"

#define SEC_SUB_BITS 3              /* LOAD_SEC_SUB = 1 << SEC_SUB_BITS */

/* The worker's record of the second that holds now; NULL before the warm-up's
 * end, past the last recorded second, or when out of memory. */
struct load_sec *load_sec_at(struct load_worker *w, int64_t now)
{
    int64_t k = (now - g_load.t_meas) / 1000000000;
    struct load_sec *blk;

    if (now < g_load.t_meas || k >= (int64_t)LOAD_SEC_BLOCK * LOAD_SEC_BLOCKS)
        return NULL;
    blk = w->sec[k / LOAD_SEC_BLOCK];
    if (!blk) {
        blk = calloc(LOAD_SEC_BLOCK, sizeof(*blk));
        if (!blk)
            return NULL;
        __atomic_store_n(&w->sec[k / LOAD_SEC_BLOCK], blk, __ATOMIC_RELEASE);
    }
    return &blk[k % LOAD_SEC_BLOCK];
}

void load_sec_add_op(struct load_sec *s, uint64_t ns)
{
    __atomic_fetch_add(&s->ops, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->h[load_bucket_index(ns, SEC_SUB_BITS)], 1, __ATOMIC_RELAXED);
}

uint64_t load_sec_quantile(const struct load_sec *s, double q)
{
    uint64_t want, seen = 0, lo, hi;
    unsigned i;

    if (!s->ops)
        return 0;
    want = (uint64_t)(q * (double)s->ops + 0.5);
    want = want ? want : 1;
    for (i = 0; i < LOAD_SEC_HIST_N - 1; i++) {
        seen += s->h[i];
        if (seen >= want)
            break;
    }
    load_bucket_range(i, SEC_SUB_BITS, &lo, &hi);
    return hi - lo > 1 ? lo + (hi - lo) / 2 : lo;
}

void load_sec_sum(const struct load_worker *w, int n_workers, unsigned k, struct load_sec *out)
{
    memset(out, 0, sizeof(*out));
    if (k >= (unsigned)LOAD_SEC_BLOCK * LOAD_SEC_BLOCKS)
        return;
    for (int i = 0; i < n_workers; i++) {
        const struct load_sec *blk = __atomic_load_n(&w[i].sec[k / LOAD_SEC_BLOCK],
                                                     __ATOMIC_ACQUIRE);
        const struct load_sec *s;
        if (!blk)
            continue;
        s = &blk[k % LOAD_SEC_BLOCK];
        out->ops += __atomic_load_n(&s->ops, __ATOMIC_RELAXED);
        out->errors += __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
        out->bytes_out += __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED);
        out->bytes_in += __atomic_load_n(&s->bytes_in, __ATOMIC_RELAXED);
        for (unsigned b = 0; b < LOAD_SEC_HIST_N; b++)
            out->h[b] += __atomic_load_n(&s->h[b], __ATOMIC_RELAXED);
    }
}

/* One row per second begun within the span (a last part-second gets its
 * row; a few microseconds past a whole second do not). */
struct load_sec *load_series(const struct load_worker *w, int n_workers, double span_s,
                             unsigned *n)
{
    double rows = span_s > 0.001 ? span_s - 0.001 : 0;
    struct load_sec *out;

    *n = rows > 0 ? (unsigned)rows + 1 : 0;
    if (*n > (unsigned)LOAD_SEC_BLOCK * LOAD_SEC_BLOCKS)
        *n = (unsigned)LOAD_SEC_BLOCK * LOAD_SEC_BLOCKS;
    out = calloc(*n ? *n : 1, sizeof(*out));
    if (!out)
        ex_fail("out of memory");
    for (unsigned k = 0; k < *n; k++)
        load_sec_sum(w, n_workers, k, &out[k]);
    return out;
}

void load_series_free(struct load_worker *w, int n_workers)
{
    for (int i = 0; i < n_workers; i++)
        for (unsigned b = 0; b < LOAD_SEC_BLOCKS; b++)
            free(w[i].sec[b]);
}

void load_series_json(FILE *f, const struct load_sec *rows, unsigned n)
{
    fprintf(f, "  \"series\": [");
    for (unsigned k = 0; k < n; k++)
        fprintf(f, "%s\n    {\"second\": %u, \"operations\": %u, \"errors\": %u, "
                "\"bytes_out\": %llu, \"bytes_in\": %llu, \"p50_ms\": %.6f, \"p99_ms\": %.6f}",
                k ? "," : "", k, rows[k].ops, rows[k].errors,
                (unsigned long long)rows[k].bytes_out, (unsigned long long)rows[k].bytes_in,
                (double)load_sec_quantile(&rows[k], 0.50) / 1e6,
                (double)load_sec_quantile(&rows[k], 0.99) / 1e6);
    fprintf(f, "],\n");
}

int load_series_csv(const char *path, const struct load_sec *rows, unsigned n)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f, "second,operations,errors,bytes_out,bytes_in,p50_ms,p99_ms\n");
    for (unsigned k = 0; k < n; k++)
        fprintf(f, "%u,%u,%u,%llu,%llu,%.6f,%.6f\n", k, rows[k].ops, rows[k].errors,
                (unsigned long long)rows[k].bytes_out, (unsigned long long)rows[k].bytes_in,
                (double)load_sec_quantile(&rows[k], 0.50) / 1e6,
                (double)load_sec_quantile(&rows[k], 0.99) / 1e6);
    return fclose(f) == 0 ? 0 : -1;
}
