/* test_api_threads.c — the synchronous API from many threads at once: many
 * connections, each used by one thread, over one connection table. */
#include "api_env.h"

/* ---- many connections on many threads ----------------------------------------- */

#define N_WORKERS 8
#define N_ROUNDS 200

static void post_echo(struct srv *s)
{
    ubyte buf[4096];
    if (s->hs != OK)
        return;
    s->u[0] = 0;
    for (;;) {
        sbyte4 n = 0;
        MSTATUS st = SSL_recv(s->h, (sbyte *)buf, sizeof(buf), &n, 10000);
        if (st == OK)
            st = send_all(s->h, buf, (size_t)n);
        if (st != OK) {
            s->st[0] = st;
            return;
        }
        s->u[0] += (ubyte4)n;
    }
}

struct worker {
    int id;
    pthread_barrier_t *start;
    sbyte4 h;
    MSTATUS hs, st;
    int rounds, mismatches;
    size_t bytes;
    int fd[2];
    struct srv s;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    ubyte out[2048], in[2048];

    w->hs = w->st = NOT_RUN;
    w->s.st[0] = NOT_RUN;
    pthread_barrier_wait(w->start);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, w->fd) != 0)
        return NULL;
    w->s.fd = w->fd[1];
    w->s.store = env.srv;
    w->s.post = post_echo;
    w->s.hs = NOT_RUN;
    sem_init(&w->s.go, 0, 0);
    for (int i = 0; i < 8; i++)
        w->s.st[i] = NOT_RUN;
    if (pthread_create(&w->s.th, NULL, srv_main, &w->s) != 0)
        return NULL;
    w->h = SSL_connect(w->fd[0], 0, NULL, NULL, (const sbyte *)"server.example.com", env.cli);
    w->hs = w->h > 0 ? SSL_negotiateConnection(w->h) : (MSTATUS)w->h;
    w->st = w->hs;
    for (int i = 0; w->st == OK && i < N_ROUNDS; i++) {
        size_t n = 1 + ((size_t)w->id * 131 + (size_t)i * 37) % sizeof(out);
        fill(out, n, (uint32_t)(w->id * 100000 + i));
        w->st = send_all(w->h, out, n);
        if (w->st == OK)
            w->st = recv_all(w->h, in, n, 10000);
        if (w->st != OK)
            break;
        if (memcmp(in, out, n) != 0)
            w->mismatches++;
        w->rounds++;
        w->bytes += n;
    }
    if (w->h > 0)
        SSL_closeConnection(w->h);
    shutdown(w->fd[0], SHUT_WR);
    pthread_join(w->s.th, NULL);
    sem_destroy(&w->s.go);
    close(w->fd[0]);
    close(w->fd[1]);
    return NULL;
}

TEST(threads)
{
    static struct worker w[N_WORKERS];
    pthread_t th[N_WORKERS];
    pthread_barrier_t start;

    env_up(2 * N_WORKERS);
    ASSERT_EQ(pthread_barrier_init(&start, NULL, N_WORKERS), 0);
    for (int i = 0; i < N_WORKERS; i++) {
        w[i].id = i;
        w[i].start = &start;
        ASSERT_EQ(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < N_WORKERS; i++)
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < N_WORKERS; i++) {
        ST_EXPECT_AT(w[i].hs, OK, at("worker %d: ", i));
        ST_EXPECT_AT(w[i].s.hs, OK, at("worker %d: ", i));
        ST_EXPECT_AT(w[i].st, OK, at("worker %d: ", i));
        EXPECT_EQ(w[i].rounds, N_ROUNDS) TH_LOG("worker %d", i);
        EXPECT_EQ(w[i].mismatches, 0) TH_LOG("worker %d", i);
        EXPECT_EQ((size_t)w[i].s.u[0], w[i].bytes) TH_LOG("worker %d: server echoed", i);
        ST_EXPECT_AT(w[i].s.st[0], ERR_SSL_CONNECTION_CLOSED, at("worker %d: ", i));
        /* Live at the same time, so all different. */
        for (int j = 0; j < i; j++)
            EXPECT_NE(w[i].h, w[j].h);
    }
    env_down();
}

int main(int argc, char **argv)
{
    return api_env_main(argc, argv);
}
