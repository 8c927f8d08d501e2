/* examples/load_stats.c — nktls-load's numbers: the latency histogram, errors
 * by kind, negotiated parameters, merging the workers' statistics, and the
 * final report as text and as JSON. */
#include <string.h>

#include "load.h"

#define SUB_BITS 6                  /* LOAD_HIST_SUB = 1 << SUB_BITS */

/* Values below 2*SUB are their own bucket; above, a power of two e and the
 * top sub_bits significant bits below the leading one pick the bucket. Both
 * histograms (SUB 64 and the series' 8) end after 40 powers of two. */
unsigned load_bucket_index(uint64_t v, unsigned sub_bits)
{
    uint64_t sub = 1ull << sub_bits;
    unsigned e;

    if (v < 2 * sub)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v) - sub_bits;  /* v >> e is in [sub, 2 sub) */
    if (e > 40)
        return (unsigned)(2 * sub + 40 * sub - 1);
    return (unsigned)(2 * sub + (e - 1) * sub + ((v >> e) - sub));
}

void load_bucket_range(unsigned i, unsigned sub_bits, uint64_t *lo, uint64_t *hi)
{
    uint64_t sub = 1ull << sub_bits;
    unsigned e;

    if (i < 2 * sub) {
        *lo = i;
        *hi = i + 1ull;
        return;
    }
    e = (unsigned)((i - 2 * sub) / sub + 1);
    *lo = (sub + (i - 2 * sub) % sub) << e;
    *hi = *lo + (1ull << e);
}

/* The middle of a bucket's range: the value a percentile reports. */
static uint64_t hist_value(unsigned i)
{
    uint64_t lo, hi;

    load_bucket_range(i, SUB_BITS, &lo, &hi);
    return hi - lo > 1 ? lo + (hi - lo) / 2 : lo;
}

void load_hist_add(struct load_hist *h, uint64_t ns)
{
    if (h->n == 0 || ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
    h->n++;
    h->b[load_bucket_index(ns, SUB_BITS)]++;
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

void load_param_add(struct load_stats *st, const struct load_param *p)
{
    unsigned i;

    for (i = 0; i < st->n_par; i++) {
        struct load_param *q = &st->par[i];
        if (q->version == p->version && q->cipher == p->cipher && q->group == p->group &&
            !strcmp(q->alpn, p->alpn)) {
            q->n += p->n;
            return;
        }
    }
    if (st->n_par == LOAD_MAX_PARAM)
        return;                                     /* more combinations than anyone asks for */
    st->par[st->n_par++] = *p;
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
    for (i = 0; i < 6; i++)
        into->status_class[i] += s->status_class[i];
    into->started += s->started;
    into->ktls_tx += s->ktls_tx;
    into->ktls_rx += s->ktls_rx;
    into->idle_open += s->idle_open;
    into->early_accepted += s->early_accepted;
    into->early_rejected += s->early_rejected;
    into->early_not_sent += s->early_not_sent;
    into->srtp += s->srtp;
    if (!into->ktls_why[0])
        memcpy(into->ktls_why, s->ktls_why, sizeof(into->ktls_why));
    load_hist_merge(&into->lat, &s->lat);
    load_hist_merge(&into->first_byte, &s->first_byte);
    for (i = 0; i < s->n_err; i++)
        load_err_add(into, s->err[i].kind, s->err[i].detail, s->err[i].n);
    for (i = 0; i < s->n_par; i++)
        load_param_add(into, &s->par[i]);
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
    case DTLS12_MINORVERSION: return "DTLSv1.2";
    default: return "unknown";
    }
}

static const char *name_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

/* The version every handshake negotiated, "mixed", or "" with none. */
static const char *run_version(const struct load_stats *st)
{
    for (unsigned i = 1; i < st->n_par; i++)
        if ((st->par[i].version & 0xff) != (st->par[0].version & 0xff))
            return "mixed";
    return st->n_par ? version_name(st->par[0].version) : "";
}

/* Operations begun but neither done nor failed: the hard stop cut them off. */
static uint64_t in_flight(const struct load_stats *st)
{
    return st->started > st->ops + st->errors ? st->started - st->ops - st->errors : 0;
}

/* Open loop: the rate reached in operations begun per second of --duration,
 * and by how much (percent) it fell short of --rate. */
static double rate_started(const struct load_cfg *cfg, const struct load_stats *st)
{
    return cfg->duration > 0 ? (double)st->started / cfg->duration : 0;
}

static double rate_short_pct(const struct load_cfg *cfg, const struct load_stats *st)
{
    if (cfg->rate <= 0 || !cfg->scheduled || st->started >= cfg->scheduled)
        return 0;
    return 100.0 * (double)(cfg->scheduled - st->started) / (double)cfg->scheduled;
}

/* Quantiles every report shows, with their labels. */
static const struct { double q; const char *text, *json; } quantiles[] = {
    { 0.50, "p50", "p50" }, { 0.90, "p90", "p90" }, { 0.99, "p99", "p99" },
    { 0.999, "p99.9", "p99_9" },
};

/* label: "latency:" padded to the report's column. */
static void text_latency(FILE *f, const char *label, const struct load_hist *h)
{
    unsigned i;

    if (!h->n) {
        fprintf(f, "%-13s no samples\n", label);
        return;
    }
    fprintf(f, "%-13s min %.3f ms", label, (double)h->min / 1e6);
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
        fprintf(f, "negotiated:   %s, %s, %s%s%s (%llu handshakes)\n", version_name(p->version),
                name_or(NKTLS_cipherName(p->cipher), "?"),
                p->group ? name_or(NKTLS_groupName(p->group), "?") : "no group",
                p->alpn[0] ? ", alpn " : "", p->alpn, (unsigned long long)p->n);
    }
    if (st->handshakes)
        fprintf(f, "resumed:      %llu of %llu handshakes (%.1f%%)\n",
                (unsigned long long)st->resumed, (unsigned long long)st->handshakes,
                100.0 * (double)st->resumed / (double)st->handshakes);
}

/* How many connections the kernel carried, and why not where it did not. */
static void text_ktls(FILE *f, const struct load_cfg *cfg, const struct load_stats *st)
{
    if (!st->handshakes || cfg->dtls.on)   /* DTLS records stay in userspace */
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

/* The warm-up, the hard stop and an open loop that fell behind. */
static void text_run(FILE *f, const struct load_cfg *cfg, const struct load_stats *st)
{
    if (cfg->warmup > 0)
        fprintf(f, "warm-up:      %.3f s before the figures, not counted\n", cfg->warmup);
    if (in_flight(st))
        fprintf(f, "stopped:      %llu operations in flight at the end of --duration, "
                "not counted\n", (unsigned long long)in_flight(st));
    if (rate_short_pct(cfg, st) > 0)
        fprintf(f, "rate:         --rate %.1f/s not reached: %.1f/s begun, %.1f%% short "
                "(%llu of %llu scheduled operations never began)\n",
                cfg->rate, rate_started(cfg, st), rate_short_pct(cfg, st),
                (unsigned long long)(cfg->scheduled - st->started),
                (unsigned long long)cfg->scheduled);
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
    fprintf(f, "bytes:        %llu out (%.3f MB/s), %llu in (%.3f MB/s)\n",
            (unsigned long long)st->bytes_out, (double)st->bytes_out / t / 1e6,
            (unsigned long long)st->bytes_in, (double)st->bytes_in / t / 1e6);
    if (cfg->mode == LOAD_REQUEST)
        fprintf(f, "replies:      %llu ok (2xx or non-HTTP), %llu other status; "
                "1xx %llu, 2xx %llu, 3xx %llu, 4xx %llu, 5xx %llu\n",
                (unsigned long long)st->replies_ok, (unsigned long long)st->replies_other,
                (unsigned long long)st->status_class[1], (unsigned long long)st->status_class[2],
                (unsigned long long)st->status_class[3], (unsigned long long)st->status_class[4],
                (unsigned long long)st->status_class[5]);
    text_run(f, cfg, st);
    if (cfg->mode == LOAD_IDLE)
        fprintf(f, "idle:         %llu connections held open for %.3f s\n",
                (unsigned long long)st->idle_open, cfg->idle_held_s);
    text_latency(f, "latency:", &st->lat);
    if (cfg->mode == LOAD_REQUEST)
        text_latency(f, "first byte:", &st->first_byte);
    if (cfg->early_data)
        fprintf(f, "early data:   %llu accepted, %llu rejected (sent again after the handshake), "
                "%llu not sent (no ticket allowing it)\n",
                (unsigned long long)st->early_accepted, (unsigned long long)st->early_rejected,
                (unsigned long long)st->early_not_sent);
    if (st->n_par && cfg->dtls.on)
        fprintf(f, "tls:          --dtls, negotiated %s\n", run_version(st));
    else if (st->n_par)
        fprintf(f, "tls:          --tls %s, negotiated %s\n", cfg->tls_name, run_version(st));
    if (cfg->dtls.n_srtp)
        fprintf(f, "srtp:         %llu of %llu handshakes agreed a profile\n",
                (unsigned long long)st->srtp, (unsigned long long)st->handshakes);
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

static void json_latency(FILE *f, const char *name, const struct load_hist *h)
{
    unsigned i;

    fprintf(f, "  \"%s\": {\"samples\": %llu, \"min\": %.6f", name, (unsigned long long)h->n,
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
        fprintf(f, ", \"alpn\": ");
        json_str(f, p->alpn);
        fprintf(f, ", \"handshakes\": %llu}", (unsigned long long)p->n);
    }
    fprintf(f, "],\n");
}

/* The run's shape: warm-up, hard stop, open-loop shortfall, TLS version. */
static void json_run(FILE *f, const struct load_cfg *cfg, const struct load_stats *st)
{
    fprintf(f, "  \"duration_s\": %.6f,\n  \"warmup_s\": %.6f,\n", cfg->duration,
            cfg->warmup);
    fprintf(f, "  \"started\": %llu,\n  \"in_flight\": %llu,\n",
            (unsigned long long)st->started, (unsigned long long)in_flight(st));
    fprintf(f, "  \"scheduled\": %llu,\n  \"rate_started\": %.3f,\n",
            (unsigned long long)cfg->scheduled, rate_started(cfg, st));
    fprintf(f, "  \"rate_reached\": %s,\n  \"rate_short_pct\": %.3f,\n",
            rate_short_pct(cfg, st) > 0 ? "false" : "true", rate_short_pct(cfg, st));
    fprintf(f, "  \"reconnect\": %s,\n  \"accept_status\": %s,\n",
            cfg->reconnect ? "true" : "false", cfg->accept_status ? "true" : "false");
    fprintf(f, "  \"resume\": %s,\n  \"early_data\": %s,\n",
            cfg->resume ? "true" : "false", cfg->early_data ? "true" : "false");
    fprintf(f, "  \"early_data_accepted\": %llu,\n  \"early_data_rejected\": %llu,\n"
            "  \"early_data_not_sent\": %llu,\n", (unsigned long long)st->early_accepted,
            (unsigned long long)st->early_rejected, (unsigned long long)st->early_not_sent);
    fprintf(f, "  \"dtls\": %s,\n  \"srtp_agreed\": %llu,\n", cfg->dtls.on ? "true" : "false",
            (unsigned long long)st->srtp);
    fprintf(f, "  \"tls\": ");
    json_str(f, cfg->tls_name);
    fprintf(f, ",\n  \"tls_version\": ");
    json_str(f, run_version(st));
    fprintf(f, ",\n");
}

/* The latency histogram's buckets that hold samples: [from, to) in ms. */
static void json_buckets(FILE *f, const struct load_hist *h)
{
    int first = 1;

    fprintf(f, "  \"latency_buckets\": [");
    for (unsigned i = 0; i < LOAD_HIST_N; i++) {
        uint64_t lo, hi;
        if (!h->b[i])
            continue;
        load_bucket_range(i, SUB_BITS, &lo, &hi);
        fprintf(f, "%s\n    {\"from_ms\": %.6f, \"to_ms\": %.6f, \"count\": %llu}",
                first ? "" : ",", (double)lo / 1e6, (double)hi / 1e6,
                (unsigned long long)h->b[i]);
        first = 0;
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
    fprintf(f, "  \"mb_per_s_out\": %.6f,\n  \"mb_per_s_in\": %.6f,\n",
            (double)st->bytes_out / t / 1e6, (double)st->bytes_in / t / 1e6);
    fprintf(f, "  \"replies_ok\": %llu,\n  \"replies_other\": %llu,\n",
            (unsigned long long)st->replies_ok, (unsigned long long)st->replies_other);
    for (int k = 1; k <= 5; k++)
        fprintf(f, "  \"status_%dxx\": %llu,\n", k, (unsigned long long)st->status_class[k]);
    fprintf(f, "  \"ktls_tx\": %llu,\n  \"ktls_rx\": %llu,\n", (unsigned long long)st->ktls_tx,
            (unsigned long long)st->ktls_rx);
    fprintf(f, "  \"ktls_software_reason\": ");
    json_str(f, st->ktls_tx < st->handshakes ? st->ktls_why : "");
    fprintf(f, ",\n  \"idle_open\": %llu,\n  \"idle_held_s\": %.6f,\n",
            (unsigned long long)st->idle_open, cfg->idle_held_s);
}

int load_report_json(const char *path, const struct load_cfg *cfg, const struct load_stats *st,
                     double elapsed, const struct load_sec *series, unsigned n_series)
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
    json_run(f, cfg, st);
    fprintf(f, "  \"backend\": ");
    json_str(f, cfg->backend ? cfg->backend : "");
    fprintf(f, ",\n  \"backend_reason\": ");
    json_str(f, cfg->backend_why ? cfg->backend_why : "");
    fprintf(f, ",\n  \"ktls\": \"%s\",\n", cfg->ktls_auto ? "auto" : "off");
    json_counts(f, cfg, st, t);
    json_latency(f, "latency_ms", &st->lat);
    json_latency(f, "first_byte_ms", &st->first_byte);
    json_errors(f, st);
    json_params(f, st);
    /* Last: the long arrays, after every flat field. */
    json_buckets(f, &st->lat);
    load_series_json(f, series, n_series);
    fprintf(f, "  \"version\": 1\n}\n");
    if (f == stdout)
        return fflush(f) == 0 ? 0 : -1;
    return fclose(f) == 0 ? 0 : -1;
}
