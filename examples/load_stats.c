/* examples/load_stats.c — nktls-load's numbers: the latency histogram, errors
 * by kind, negotiated parameters, merging the workers' statistics, and the
 * final report as text and as JSON. */
#include <string.h>

#include "load.h"

/* Values below 2*SUB are their own bucket; above, a power of two e and the
 * top 6 significant bits below the leading one pick the bucket. */
static unsigned hist_index(uint64_t v)
{
    unsigned e;

    if (v < 2 * LOAD_HIST_SUB)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v) - 6u;        /* v >> e is in [64, 128) */
    if (e > 40)
        return LOAD_HIST_N - 1;
    return 2 * LOAD_HIST_SUB + (e - 1) * LOAD_HIST_SUB + (unsigned)((v >> e) - LOAD_HIST_SUB);
}

/* The middle of a bucket's range: the value a percentile reports. */
static uint64_t hist_value(unsigned i)
{
    unsigned e;
    uint64_t lo;

    if (i < 2 * LOAD_HIST_SUB)
        return i;
    e = (i - 2 * LOAD_HIST_SUB) / LOAD_HIST_SUB + 1;
    lo = (uint64_t)(LOAD_HIST_SUB + (i - 2 * LOAD_HIST_SUB) % LOAD_HIST_SUB) << e;
    return lo + ((1ull << e) >> 1);
}

void load_hist_add(struct load_hist *h, uint64_t ns)
{
    if (h->n == 0 || ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
    h->n++;
    h->b[hist_index(ns)]++;
}

uint64_t load_hist_quantile(const struct load_hist *h, double q)
{
    uint64_t want, seen = 0, v;
    unsigned i;

    if (h->n == 0)
        return 0;
    want = (uint64_t)(q * (double)h->n + 0.5);
    if (want < 1)
        want = 1;
    for (i = 0; i < LOAD_HIST_N; i++) {
        seen += h->b[i];
        if (seen >= want)
            break;
    }
    v = hist_value(i < LOAD_HIST_N ? i : LOAD_HIST_N - 1);
    /* A bucket's middle may lie outside what was seen. */
    return v < h->min ? h->min : v > h->max ? h->max : v;
}

void load_hist_merge(struct load_hist *into, const struct load_hist *h)
{
    unsigned i;

    if (!h->n)
        return;
    if (into->n == 0 || h->min < into->min)
        into->min = h->min;
    if (h->max > into->max)
        into->max = h->max;
    into->n += h->n;
    for (i = 0; i < LOAD_HIST_N; i++)
        into->b[i] += h->b[i];
}

void load_err_add(struct load_stats *st, const char *kind, const char *detail, uint64_t n)
{
    unsigned i;

    for (i = 0; i < st->n_err; i++)
        if (!strcmp(st->err[i].kind, kind) && !strcmp(st->err[i].detail, detail))
            break;
    if (i == st->n_err) {
        if (st->n_err == LOAD_MAX_ERR) {
            i = LOAD_MAX_ERR - 1;                   /* the last row collects the rest */
            snprintf(st->err[i].kind, sizeof(st->err[i].kind), "other");
            snprintf(st->err[i].detail, sizeof(st->err[i].detail), "more kinds");
        } else {
            st->n_err++;
            snprintf(st->err[i].kind, sizeof(st->err[i].kind), "%s", kind);
            snprintf(st->err[i].detail, sizeof(st->err[i].detail), "%s", detail);
            st->err[i].n = 0;
        }
    }
    st->err[i].n += n;
}

void load_param_add(struct load_stats *st, ubyte4 version, ubyte2 cipher, ubyte2 group,
                    uint64_t n)
{
    unsigned i;

    for (i = 0; i < st->n_par; i++) {
        struct load_param *p = &st->par[i];
        if (p->version == version && p->cipher == cipher && p->group == group) {
            p->n += n;
            return;
        }
    }
    if (st->n_par == LOAD_MAX_PARAM)
        return;                                     /* more combinations than anyone asks for */
    st->par[st->n_par++] = (struct load_param){ version, cipher, group, n };
}

void load_stats_merge(struct load_stats *into, const struct load_stats *s)
{
    unsigned i;

    into->ops += s->ops;
    into->errors += s->errors;
    into->handshakes += s->handshakes;
    into->resumed += s->resumed;
    into->bytes_out += s->bytes_out;
    into->bytes_in += s->bytes_in;
    into->replies_ok += s->replies_ok;
    into->replies_other += s->replies_other;
    into->ktls_tx += s->ktls_tx;
    into->ktls_rx += s->ktls_rx;
    into->idle_open += s->idle_open;
    if (!into->ktls_why[0])
        memcpy(into->ktls_why, s->ktls_why, sizeof(into->ktls_why));
    load_hist_merge(&into->lat, &s->lat);
    for (i = 0; i < s->n_err; i++)
        load_err_add(into, s->err[i].kind, s->err[i].detail, s->err[i].n);
    for (i = 0; i < s->n_par; i++)
        load_param_add(into, s->par[i].version, s->par[i].cipher, s->par[i].group, s->par[i].n);
}

const char *load_mode_name(enum load_mode m)
{
    static const char *const names[] = { "handshake", "resume", "bulk", "request", "idle" };
    return names[m];
}

static const char *version_name(ubyte4 v)
{
    switch (v & 0xff) {
    case 4: return "TLSv1.3";
    case 3: return "TLSv1.2";
    default: return "unknown";
    }
}

static const char *name_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

/* Quantiles every report shows, with their labels. */
static const struct { double q; const char *text, *json; } quantiles[] = {
    { 0.50, "p50", "p50" }, { 0.90, "p90", "p90" }, { 0.99, "p99", "p99" },
    { 0.999, "p99.9", "p99_9" },
};

static void text_latency(FILE *f, const struct load_hist *h)
{
    unsigned i;

    if (!h->n) {
        fprintf(f, "latency:      no samples\n");
        return;
    }
    fprintf(f, "latency:      min %.3f ms", (double)h->min / 1e6);
    for (i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++)
        fprintf(f, ", %s %.3f ms", quantiles[i].text,
                (double)load_hist_quantile(h, quantiles[i].q) / 1e6);
    fprintf(f, ", max %.3f ms\n", (double)h->max / 1e6);
}

static void text_params(FILE *f, const struct load_stats *st)
{
    unsigned i;

    for (i = 0; i < st->n_par; i++) {
        const struct load_param *p = &st->par[i];
        fprintf(f, "negotiated:   %s, %s, %s (%llu handshakes)\n", version_name(p->version),
                name_or(NKTLS_cipherName(p->cipher), "?"),
                p->group ? name_or(NKTLS_groupName(p->group), "?") : "no group",
                (unsigned long long)p->n);
    }
    if (st->handshakes)
        fprintf(f, "resumed:      %llu of %llu handshakes (%.1f%%)\n",
                (unsigned long long)st->resumed, (unsigned long long)st->handshakes,
                100.0 * (double)st->resumed / (double)st->handshakes);
}

/* How many connections the kernel carried, and why not where it did not. */
static void text_ktls(FILE *f, const struct load_cfg *cfg, const struct load_stats *st)
{
    if (!st->handshakes)
        return;
    fprintf(f, "kernel tls:   tx %llu, rx %llu of %llu connections",
            (unsigned long long)st->ktls_tx, (unsigned long long)st->ktls_rx,
            (unsigned long long)st->handshakes);
    if (!cfg->ktls_auto)
        fprintf(f, " (--ktls off)");
    else if (st->ktls_tx < st->handshakes && st->ktls_why[0])
        fprintf(f, " (software: %s)", st->ktls_why);
    fputc('\n', f);
}

void load_report_text(FILE *f, const struct load_cfg *cfg, const struct load_stats *st,
                      double elapsed)
{
    double t = elapsed > 0 ? elapsed : 1e-9;
    unsigned i;

    fprintf(f, "target:       %s, mode %s, %d connections, %d threads, %s\n", cfg->target,
            load_mode_name(cfg->mode), cfg->concurrency, cfg->threads,
            cfg->rate > 0 ? "open loop" : "closed loop");
    fprintf(f, "io:           %s%s%s%s\n", cfg->backend ? cfg->backend : "?",
            cfg->backend_why && cfg->backend_why[0] ? " (" : "",
            cfg->backend_why ? cfg->backend_why : "",
            cfg->backend_why && cfg->backend_why[0] ? ")" : "");
    fprintf(f, "elapsed:      %.3f s\n", elapsed);
    fprintf(f, "operations:   %llu ok, %llu errors, %.1f ops/s\n", (unsigned long long)st->ops,
            (unsigned long long)st->errors, (double)st->ops / t);
    fprintf(f, "handshakes:   %llu, %.1f /s\n", (unsigned long long)st->handshakes,
            (double)st->handshakes / t);
    fprintf(f, "bytes:        %llu out, %llu in, %.3f MB/s\n",
            (unsigned long long)st->bytes_out, (unsigned long long)st->bytes_in,
            (double)(st->bytes_out + st->bytes_in) / t / 1e6);
    if (cfg->mode == LOAD_REQUEST)
        fprintf(f, "replies:      %llu ok (2xx or non-HTTP), %llu other status\n",
                (unsigned long long)st->replies_ok, (unsigned long long)st->replies_other);
    if (cfg->mode == LOAD_IDLE)
        fprintf(f, "idle:         %llu connections held open for %.3f s\n",
                (unsigned long long)st->idle_open, cfg->idle_held_s);
    text_latency(f, &st->lat);
    text_params(f, st);
    text_ktls(f, cfg, st);
    for (i = 0; i < st->n_err; i++)
        fprintf(f, "error:        %s: %s: %llu\n", st->err[i].kind, st->err[i].detail,
                (unsigned long long)st->err[i].n);
}

/* Names in the report are ours or the library's: no character needs escaping
 * beyond these. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_latency(FILE *f, const struct load_hist *h)
{
    unsigned i;

    fprintf(f, "  \"latency_ms\": {\"samples\": %llu, \"min\": %.6f", (unsigned long long)h->n,
            (double)h->min / 1e6);
    for (i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++)
        fprintf(f, ", \"%s\": %.6f", quantiles[i].json,
                (double)load_hist_quantile(h, quantiles[i].q) / 1e6);
    fprintf(f, ", \"max\": %.6f},\n", (double)h->max / 1e6);
}

static void json_errors(FILE *f, const struct load_stats *st)
{
    unsigned i;

    fprintf(f, "  \"errors\": {\"total\": %llu, \"by_kind\": [", (unsigned long long)st->errors);
    for (i = 0; i < st->n_err; i++) {
        fprintf(f, "%s\n    {\"kind\": ", i ? "," : "");
        json_str(f, st->err[i].kind);
        fprintf(f, ", \"detail\": ");
        json_str(f, st->err[i].detail);
        fprintf(f, ", \"count\": %llu}", (unsigned long long)st->err[i].n);
    }
    fprintf(f, "]},\n");
}

static void json_params(FILE *f, const struct load_stats *st)
{
    unsigned i;

    fprintf(f, "  \"negotiated\": [");
    for (i = 0; i < st->n_par; i++) {
        const struct load_param *p = &st->par[i];
        fprintf(f, "%s\n    {\"version\": \"%s\", \"cipher\": ", i ? "," : "",
                version_name(p->version));
        json_str(f, name_or(NKTLS_cipherName(p->cipher), "?"));
        fprintf(f, ", \"group\": ");
        json_str(f, p->group ? name_or(NKTLS_groupName(p->group), "?") : "");
        fprintf(f, ", \"handshakes\": %llu}", (unsigned long long)p->n);
    }
    fprintf(f, "],\n");
}

static void json_counts(FILE *f, const struct load_cfg *cfg, const struct load_stats *st,
                        double t)
{
    fprintf(f, "  \"operations\": %llu,\n  \"ops_per_s\": %.3f,\n", (unsigned long long)st->ops,
            (double)st->ops / t);
    fprintf(f, "  \"handshakes\": %llu,\n  \"handshakes_per_s\": %.3f,\n",
            (unsigned long long)st->handshakes, (double)st->handshakes / t);
    fprintf(f, "  \"resumed\": %llu,\n  \"resumed_fraction\": %.6f,\n",
            (unsigned long long)st->resumed,
            st->handshakes ? (double)st->resumed / (double)st->handshakes : 0.0);
    fprintf(f, "  \"bytes_out\": %llu,\n  \"bytes_in\": %llu,\n  \"bytes_per_s\": %.3f,\n",
            (unsigned long long)st->bytes_out, (unsigned long long)st->bytes_in,
            (double)(st->bytes_out + st->bytes_in) / t);
    fprintf(f, "  \"replies_ok\": %llu,\n  \"replies_other\": %llu,\n",
            (unsigned long long)st->replies_ok, (unsigned long long)st->replies_other);
    fprintf(f, "  \"ktls_tx\": %llu,\n  \"ktls_rx\": %llu,\n", (unsigned long long)st->ktls_tx,
            (unsigned long long)st->ktls_rx);
    fprintf(f, "  \"ktls_software_reason\": ");
    json_str(f, st->ktls_tx < st->handshakes ? st->ktls_why : "");
    fprintf(f, ",\n  \"idle_open\": %llu,\n  \"idle_held_s\": %.6f,\n",
            (unsigned long long)st->idle_open, cfg->idle_held_s);
}

int load_report_json(const char *path, const struct load_cfg *cfg, const struct load_stats *st,
                     double elapsed)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    double t = elapsed > 0 ? elapsed : 1e-9;

    if (!f)
        return -1;
    fprintf(f, "{\n  \"target\": ");
    json_str(f, cfg->target);
    fprintf(f, ",\n  \"mode\": \"%s\",\n  \"concurrency\": %d,\n  \"threads\": %d,\n",
            load_mode_name(cfg->mode), cfg->concurrency, cfg->threads);
    fprintf(f, "  \"rate\": %.3f,\n  \"elapsed_s\": %.6f,\n", cfg->rate, elapsed);
    fprintf(f, "  \"backend\": ");
    json_str(f, cfg->backend ? cfg->backend : "");
    fprintf(f, ",\n  \"backend_reason\": ");
    json_str(f, cfg->backend_why ? cfg->backend_why : "");
    fprintf(f, ",\n  \"ktls\": \"%s\",\n", cfg->ktls_auto ? "auto" : "off");
    json_counts(f, cfg, st, t);
    json_latency(f, &st->lat);
    json_errors(f, st);
    json_params(f, st);
    fprintf(f, "  \"version\": 1\n}\n");
    if (f == stdout)
        return fflush(f) == 0 ? 0 : -1;
    return fclose(f) == 0 ? 0 : -1;
}
