/*
 * pocketsphinx.c - the PocketSphinx engine of engine.h.
 *
 * A PocketSphinx decoder with the en-us model costs tens of megabytes,
 * most of it search structures over its vocabulary (the 79,000
 * pronunciations of the dictionary's 135,000 whose words the language
 * model knows: see lexicon.h), and it cannot be shared by two utterances
 * at once.  So decoders live in a pool:
 * a stream borrows one for the length of an utterance (begin .. end) and
 * gives it back.  Memory grows with the number of people speaking at the
 * same moment, not with the number connected.
 *
 * Building a decoder takes 0.4 s of processor time, too long to make a
 * worker thread wait.  The first is built at start-up (it checks the
 * model), before create returns or, for a server that should answer at
 * once (load_in_background), by a factory while streams that begin wait
 * for it.  After that, factory threads build them, two per core of the
 * server (asr_params' `threads`): one at normal priority on demand, for
 * streams waiting in `waiters`, and one at idle priority ahead of
 * demand, for the `start-decoders` of a server's start-up, for streams
 * that have connected and not spoken yet, and so that `spare-decoders`
 * stay idle (factory_has_work()).  A stream that finds no idle decoder
 * waits (begin says VB_EAGAIN) and is handed the next decoder that is
 * built or given back, first come, first served; its ready callback then
 * tells the session.  When many people start at once on a fresh server,
 * the builds are most of the work of the first seconds (12 streams: 12
 * builds of 1.2 G instructions each): bench/NOTES.md, "Cold start".
 *
 * Decoders left idle for `release-decoders-after` seconds are freed (the
 * longest idle first, keeping the spare ones and at least one ready) and
 * their memory given back to the system, so that a server's memory follows the
 * number of people speaking now, not the most it ever had.
 *
 * What a decoder learns about a voice between utterances is its running
 * cepstral mean (channel and speaker normalisation).  A stream keeps its
 * own copy: it is written into the borrowed decoder at begin and read back
 * at end, so a stream decodes as if it had its own decoder all along.  A
 * stream that has not spoken yet starts from the model's initial mean.
 *
 * PocketSphinx's only process-wide state touched while loading is its
 * log: a decoder configured with -logfn closes and reopens the one log
 * file, so two built at once would race.  So no decoder is given -logfn;
 * PocketSphinx's messages are routed once, before the first build, into
 * Verbatim's log (its errors say why a model does not load).
 */
#include "ps_engine.h"

#include <assert.h>
#include <errno.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/vb.h"
#include "lexicon.h"
#include "ps_vocab.h"

/* The name PocketSphinx gives the search it builds from -lm (not in its
 * headers; ps_get_search() would tell, but leaks an iterator each call). */
#define LM_SEARCH "_default"

#define CMN_MAX 64

typedef struct {
    mfcc_t mean[CMN_MAX];
    mfcc_t sum[CMN_MAX];
    int32 nframe;
    int valid;
} cmn_state;

typedef struct ps_stream ps_stream;

/* A decoder holding taught words (ps_vocab.h), and which. */
typedef struct {
    ps_decoder_t *ps;
    char *held;        /* its signature */
} taught;

typedef struct ps_engine {
    struct asr_engine base;
    char *hmm, *lm, *dict;
    char *search_dict;          /* what decoders read: trimmed, or dict */
    int dict_fd;                /* the trimmed copy (lexicon.h), or -1 */
    int max_decoders, spare, fast;
    int release_after;          /* seconds; 0: never */
    pthread_mutex_t lock;       /* guards the pool below */
    pthread_cond_t work;        /* the factories have something to do */
    pthread_t *factories;
    int factory_count, stopping;
    ps_decoder_t **idle;        /* a stack: the longest idle at the bottom */
    double *idle_since;         /* when each went idle (monotonic s) */
    int idle_count, total, in_use, building;
    int building_now;           /* of which for waiting streams */
    int start_left;             /* of the start-up ones, to build */
    ps_stream *waiters_head, *waiters_tail;
    int waiting;
    ps_stream *new_tail;        /* the newest not begun yet (newcomers()) */
    taught *taught;             /* decoders holding taught words */
    size_t taught_count, taught_cap;
    cmn_state initial_cmn;      /* the model's starting mean */
    int loaded;                 /* the first decoder has been built */
    int failed;                 /* ...and could not be (load_in_background) */
    asr_failed_fn on_failed;
    void *failed_ctx;
} ps_engine;

struct ps_stream {
    struct asr_stream base;
    ps_decoder_t *decoder; /* borrowed between begin and end (or release) */
    int held;              /* decoder kept after end(keep), no utterance */
    uintptr_t last;        /* address of the decoder it had last (only
                              compared: that decoder may be freed) */
    cmn_state cmn;
    asr_ready_fn ready;    /* while waiting for a decoder */
    void *ready_ctx;
    ps_stream *next_waiter;
    ps_vocab *vocab;       /* its taught words, or NULL */
    int is_new;            /* on the engine's new list (not begun yet) */
    double created;        /* monotonic s */
    ps_stream *new_prev, *new_next;
    /* The last two words of its previous phrase, if that ended with keep
     * and had words ("" otherwise): break_odds' context. */
    char before[2][ASR_WORD_MAX];
};

/* The engine's own settings, from its options (ps_engine.h). */
typedef struct {
    const char *model_dir, *hmm, *lm, *dict;
    int fast, spare, release_after;
    int start;                  /* -1: START_PER_BUILDER a core */
} ps_options;

#define OPTION_NAMES \
    "model-dir, hmm, lm, dict, profile, spare-decoders, start-decoders, " \
    "release-decoders-after"

/* A whole number in [min, max] for option `key`; VB_EINVAL otherwise. */
static int option_int(const char *key, const char *text, long min, long max,
                      int *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || *text == '\0' || *end != '\0' || v < min || v > max) {
        vb_seterr(err, errlen, "pocketsphinx option %s must be a whole number "
                  "from %ld to %ld, not \"%s\"", key, min, max, text);
        return VB_EINVAL;
    }
    *out = (int)v;
    return 0;
}

/*
 * The options over the defaults.  The defaults are the server's: a
 * decoder idle for five minutes is freed (a command's one stream keeps
 * its one decoder ready, so never loses it), none is built ahead.
 * Values point into the options, which outlive the parse.
 */
static int parse_options(const char *const *options, ps_options *o, char *err,
                         size_t errlen)
{
    *o = (ps_options){.model_dir = "/usr/share/pocketsphinx/model/en-us",
                      .release_after = 300, .start = -1};
    for (size_t i = 0; options != NULL && options[i] != NULL; i++) {
        const char *eq = strchr(options[i], '=');
        size_t n = (size_t)(eq - options[i]);
        const char *value = eq + 1;
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)n, options[i]);
        const char **path = strcmp(key, "model-dir") == 0 ? &o->model_dir
                            : strcmp(key, "hmm") == 0     ? &o->hmm
                            : strcmp(key, "lm") == 0      ? &o->lm
                            : strcmp(key, "dict") == 0    ? &o->dict
                                                          : NULL;
        int rc = 0;
        if (path != NULL && *value == '\0') {
            vb_seterr(err, errlen, "pocketsphinx option %s needs a path", key);
            rc = VB_EINVAL;
        } else if (path != NULL) {
            *path = value;
        } else if (strcmp(key, "profile") == 0) {
            if (strcmp(value, "accurate") == 0 || strcmp(value, "fast") == 0) {
                o->fast = strcmp(value, "fast") == 0;
            } else {
                vb_seterr(err, errlen, "pocketsphinx option profile must be "
                          "accurate or fast, not \"%s\"", value);
                rc = VB_EINVAL;
            }
        } else if (strcmp(key, "spare-decoders") == 0) {
            rc = option_int(key, value, 0, 64, &o->spare, err, errlen);
        } else if (strcmp(key, "start-decoders") == 0) {
            rc = option_int(key, value, 0, 256, &o->start, err, errlen);
        } else if (strcmp(key, "release-decoders-after") == 0) {
            rc = option_int(key, value, 0, 86400L * 365, &o->release_after,
                            err, errlen);
        } else {
            vb_seterr(err, errlen, "pocketsphinx has no option \"%s\" (its "
                      "options: %s)", key, OPTION_NAMES);
            rc = VB_EINVAL;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int asr_pocketsphinx_check(const char *const *options, char *err,
                           size_t errlen)
{
    ps_options o;
    return parse_options(options, &o, err, errlen);
}

static void cmn_save(ps_decoder_t *ps, cmn_state *out)
{
    cmn_t *cmn = ps_get_feat(ps)->cmn_struct;
    if (cmn == NULL || cmn->veclen > CMN_MAX)
        return;
    memcpy(out->mean, cmn->cmn_mean, (size_t)cmn->veclen * sizeof(mfcc_t));
    memcpy(out->sum, cmn->sum, (size_t)cmn->veclen * sizeof(mfcc_t));
    out->nframe = cmn->nframe;
    out->valid = 1;
}

static void cmn_restore(ps_decoder_t *ps, const cmn_state *in)
{
    cmn_t *cmn = ps_get_feat(ps)->cmn_struct;
    if (cmn == NULL || cmn->veclen > CMN_MAX || !in->valid)
        return;
    memcpy(cmn->cmn_mean, in->mean, (size_t)cmn->veclen * sizeof(mfcc_t));
    memcpy(cmn->sum, in->sum, (size_t)cmn->veclen * sizeof(mfcc_t));
    cmn->nframe = in->nframe;
}

/* Set on a thread while it builds a decoder (see log_from_pocketsphinx). */
static __thread int loading;

/*
 * Builds a decoder; slow (0.4 s of processor time).  Called without the
 * lock.
 *
 * The fast profile skips the flat-lexicon pass and scores every other
 * frame: the passes at an utterance's end are a third of the accurate
 * search's work, and all of it lands between the endpoint and the final.
 * Both profiles prune harder than PocketSphinx's defaults where that cost
 * no measured words.  Each setting's figures, and what was tried and not
 * taken: bench/NOTES.md, "PocketSphinx's search settings".
 */
static ps_decoder_t *decoder_create(ps_engine *e)
{
    cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE,
                                   "-hmm", e->hmm, "-lm", e->lm,
                                   "-dict", e->search_dict,
                                   "-remove_silence", "no", "-cmn", "live",
                                   "-fwdflat", e->fast ? "no" : "yes",
                                   "-ds", e->fast ? "2" : "1",
                                   "-maxhmmpf", e->fast ? "4000" : "8000",
                                   "-wbeam", e->fast ? "1e-20" : "7e-29",
                                   "-maxwpf", "20",
                                   "-fwdflatsfwin", "15",
                                   "-fwdflatwbeam", "1e-23",
                                   NULL);
    loading = 1;
    ps_decoder_t *ps = config ? ps_init(config) : NULL;
    loading = 0;
    cmd_ln_free_r(config); /* the decoder keeps its own reference */
    return ps;
}

/* The decoders holding taught words (ps_vocab.h), by decoder.  Called
 * with the lock held. */
static taught *taught_find(ps_engine *e, const ps_decoder_t *ps)
{
    for (size_t i = 0; i < e->taught_count; i++)
        if (e->taught[i].ps == ps)
            return &e->taught[i];
    return NULL;
}

static const char *held_by(ps_engine *e, const ps_decoder_t *ps)
{
    taught *t = taught_find(e, ps);
    return t != NULL ? t->held : "";
}

/* Decoder ps now holds `held` ("": nothing taught), or is freed (held
 * NULL).  Called with the lock held. */
static void taught_record(ps_engine *e, ps_decoder_t *ps, const char *held)
{
    taught *t = taught_find(e, ps);
    if (held == NULL || *held == '\0') {
        if (t != NULL) {
            free(t->held);
            *t = e->taught[--e->taught_count];
        }
        return;
    }
    char *copy = strdup(held);
    if (copy == NULL)
        return; /* not recorded: the next stream reloads it (held "") */
    if (t == NULL && e->taught_count == e->taught_cap) {
        size_t cap = e->taught_cap ? e->taught_cap * 2 : 8;
        taught *grown = realloc(e->taught, cap * sizeof(*grown));
        if (grown == NULL) {
            free(copy);
            return;
        }
        e->taught = grown;
        e->taught_cap = cap;
    }
    if (t == NULL) {
        t = &e->taught[e->taught_count++];
        *t = (taught){.ps = ps};
    }
    free(t->held);
    t->held = copy;
}

/* Makes the stream's decoder hold the stream's taught words and no one
 * else's.  Without its words the utterance still goes on (logged). */
static void teach(ps_stream *s, ps_decoder_t *ps)
{
    ps_engine *e = (ps_engine *)s->base.engine;
    const char *want = ps_vocab_signature(s->vocab);
    pthread_mutex_lock(&e->lock);
    int same = strcmp(held_by(e, ps), want) == 0;
    char *held = same ? NULL : strdup(held_by(e, ps));
    pthread_mutex_unlock(&e->lock);
    if (same)
        return;
    double t0 = vb_monotonic_s();
    /* Without a copy of what it holds, it is cleared ("?" is no word). */
    int rc = ps_vocab_apply(ps, e->search_dict, held ? held : "?\n", s->vocab);
    free(held);
    if (rc != 0)
        log_warn("asr", "the taught words could not be given to a decoder; "
                        "this utterance is heard without them");
    else
        log_debug("asr", "a decoder was taught its stream's words in %.0f ms",
                  (vb_monotonic_s() - t0) * 1000);
    pthread_mutex_lock(&e->lock);
    taught_record(e, ps, rc == 0 ? want : "");
    pthread_mutex_unlock(&e->lock);
}

/* Gives a decoder to a stream: its own cepstral mean, its taught words,
 * a new utterance. */
static int attach(ps_stream *s, ps_decoder_t *ps)
{
    /* Another stream's decoder: forget the noise estimate it carries
     * (ps_start_stream starts it afresh), or this stream's words would
     * depend on what others said before it. */
    if (s->last != (uintptr_t)ps && ps_start_stream(ps) < 0)
        return VB_EINTERNAL;
    s->decoder = ps;
    s->last = (uintptr_t)ps;
    /* A stream created while the model was loading has no mean yet. */
    if (!s->cmn.valid)
        s->cmn = ((ps_engine *)s->base.engine)->initial_cmn;
    cmn_restore(ps, &s->cmn);
    teach(s, ps);
    return ps_start_utt(ps) < 0 ? VB_EINTERNAL : 0;
}

/* When the longest-idle decoder may be freed (monotonic s), or 0 when
 * none may: the spare ones and one ready to use stay, and nothing is
 * freed while a stream waits. */
static double release_due(const ps_engine *e)
{
    int keep = e->spare > 1 ? e->spare : 1;
    if (e->release_after <= 0 || e->idle_count <= keep || e->waiting > 0)
        return 0;
    return e->idle_since[0] + e->release_after;
}

/*
 * A decoder is free (built or given back): the first waiting stream gets
 * it, else it goes idle.  Called with the lock held; returns with it held,
 * but drops it to start the utterance and call the stream's callback.
 */
static void hand_over(ps_engine *e, ps_decoder_t *ps)
{
    assert(vb_mutex_held(&e->lock));
    ps_stream *w = e->waiters_head;
    if (w == NULL) {
        e->idle_since[e->idle_count] = vb_monotonic_s();
        assert(e->idle_count < e->max_decoders); /* total bounds it */
        e->idle[e->idle_count++] = ps;
        e->in_use--;
        if (release_due(e) != 0)
            pthread_cond_signal(&e->work); /* a factory times its release */
        return;
    }
    e->waiters_head = w->next_waiter;
    if (e->waiters_head == NULL)
        e->waiters_tail = NULL;
    pthread_mutex_unlock(&e->lock);
    if (attach(w, ps) != 0)
        log_error("asr", "a decoder could not start an utterance");
    w->ready(w->ready_ctx);
    pthread_mutex_lock(&e->lock);
    /* Counted as waiting until its callback has run, so that a caller
     * shutting down sees either a waiter or the work the callback queued. */
    e->waiting--;
}

/* Decoders a server builds at start-up by default, per core (each about
 * 75 MB; freed like any after release-decoders-after idle). */
#define START_PER_BUILDER 4

/* Streams that arrived in the last NEW_AHEAD_S and have not begun an
 * utterance: each is likely to want a decoder soon (a person connects,
 * then speaks).  At most NEW_AHEAD_MAX a factory, so that many silent
 * connections at once do not build many decoders.  Called with the lock
 * held. */
#define NEW_AHEAD_S 10.0
#define NEW_AHEAD_MAX 8
static int newcomers(const ps_engine *e)
{
    double since = vb_monotonic_s() - NEW_AHEAD_S;
    int n = 0, cap = NEW_AHEAD_MAX * e->factory_count / 2;
    for (ps_stream *s = e->new_tail; s != NULL && s->created >= since && n < cap;
         s = s->new_prev)
        n++;
    return n;
}

/* Work for a factory building at normal priority (on_demand_main), or
 * one building ahead at idle priority (factory_main).  At normal
 * priority: the first decoder (one factory builds it while the others
 * wait), and one for each waiting stream that no such build is for.
 * Ahead: the start-up ones (for the first people, who after a restart
 * all reconnect at once; should they come before these are built, the
 * builds for them go first), and enough to bring the idle ones, counting
 * those being built, up to `spare` plus one for each newcomer
 * (newcomers()), so that a stream's decoder is being built from when it
 * connects, not from when its speaker begins.  None once the model has
 * failed to load. */
static int factory_has_work(const ps_engine *e, int ahead)
{
    assert(e->total <= e->max_decoders && e->idle_count <= e->total);
    if (e->failed)
        return 0;
    if (!e->loaded)
        return !ahead && e->building == 0;
    if (e->total >= e->max_decoders)
        return 0;
    if (!ahead)
        return e->building_now < e->waiting;
    if (e->start_left > 0)
        return 1;
    int want = e->spare + newcomers(e);
    return e->idle_count + e->building < e->waiting + want;
}

/* Takes s off the new list, if it is on it.  Called with the lock held. */
static void no_longer_new(ps_engine *e, ps_stream *s)
{
    if (!s->is_new)
        return;
    s->is_new = 0;
    if (s->new_prev)
        s->new_prev->new_next = s->new_next;
    if (s->new_next)
        s->new_next->new_prev = s->new_prev;
    else
        e->new_tail = s->new_prev;
    s->new_prev = s->new_next = NULL;
}

/* Takes the i-th idle decoder (0: idle the longest) off the idle list.
 * Called with the lock held. */
static ps_decoder_t *take_idle(ps_engine *e, int i)
{
    assert(vb_mutex_held(&e->lock) && i >= 0 && i < e->idle_count);
    ps_decoder_t *ps = e->idle[i];
    e->idle_count--;
    memmove(e->idle + i, e->idle + i + 1,
            (size_t)(e->idle_count - i) * sizeof(e->idle[0]));
    memmove(e->idle_since + i, e->idle_since + i + 1,
            (size_t)(e->idle_count - i) * sizeof(e->idle_since[0]));
    return ps;
}

/* Frees the longest-idle decoder and gives the memory back to the
 * system (glibc keeps freed memory otherwise: 8 decoders built and 7
 * freed left 467 of 733 MiB resident, 94 MiB after malloc_trim).  Called
 * with the lock held; drops it meanwhile. */
static void release_oldest(ps_engine *e)
{
    ps_decoder_t *ps = take_idle(e, 0);
    e->total--;
    taught_record(e, ps, NULL);
    int left = e->total;
    pthread_mutex_unlock(&e->lock);
    ps_free(ps);
    malloc_trim(0);
    log_info("asr", "an idle decoder was released (%d left)", left);
    pthread_mutex_lock(&e->lock);
}

/* Until due (monotonic s), or until there is something to do. */
static void wait_until(ps_engine *e, double due)
{
    struct timespec ts;
    ts.tv_sec = (time_t)due;
    ts.tv_nsec = (long)((due - (double)ts.tv_sec) * 1e9);
    pthread_cond_timedwait(&e->work, &e->lock, &ts);
}

/* The first decoder has been built (load_model()): its cepstral mean
 * becomes every stream's starting one.  Called with the lock held, or
 * before there is a factory. */
static void first_built(ps_engine *e, ps_decoder_t *ps)
{
    cmn_save(ps, &e->initial_cmn);
    e->loaded = 1;
}

static int load_model(ps_engine *e, ps_decoder_t **first, char *err, size_t errlen);

/* The model could not be loaded on a factory (load_in_background; why
 * says so): every waiting stream is woken without a decoder (its feed
 * then fails), later begins are refused, and the owner is told.  Called
 * with the lock held; drops it meanwhile. */
static void model_failed(ps_engine *e, const char *why)
{
    e->failed = 1;
    log_error("asr", "%s", why);
    while (e->waiters_head != NULL) {
        ps_stream *w = e->waiters_head;
        e->waiters_head = w->next_waiter;
        pthread_mutex_unlock(&e->lock);
        w->ready(w->ready_ctx);
        pthread_mutex_lock(&e->lock);
        e->waiting--;
    }
    e->waiters_tail = NULL;
    if (e->on_failed) {
        pthread_mutex_unlock(&e->lock);
        e->on_failed(e->failed_ctx, why);
        pthread_mutex_lock(&e->lock);
    }
}

/* Builds decoders while there is work of its kind (factory_has_work()),
 * and frees those idle too long. */
static void factory_run(ps_engine *e, int ahead)
{
    pthread_mutex_lock(&e->lock);
    while (!e->stopping) {
        if (!factory_has_work(e, ahead)) {
            double due = release_due(e);
            if (due == 0)
                pthread_cond_wait(&e->work, &e->lock);
            else if (vb_monotonic_s() < due)
                wait_until(e, due);
            else
                release_oldest(e);
            continue;
        }
        /* The first build loads the model (load_in_background). */
        int first = !e->loaded;
        char why[1024];
        e->total++; /* counts against the cap while it is being built */
        e->building++;
        if (!ahead)
            e->building_now++;
        else if (e->start_left > 0)
            e->start_left--;
        pthread_mutex_unlock(&e->lock);
        ps_decoder_t *ps = NULL;
        if (first)
            load_model(e, &ps, why, sizeof(why)); /* ps stays NULL on failure */
        else
            ps = decoder_create(e);
        pthread_mutex_lock(&e->lock);
        e->building--;
        if (!ahead)
            e->building_now--;
        if (ps == NULL) {
            e->total--;
            if (first) {
                model_failed(e, why);
                continue;
            }
            log_error("asr", "cannot build a PocketSphinx decoder; retrying");
            pthread_mutex_unlock(&e->lock);
            sleep(1);
            pthread_mutex_lock(&e->lock);
            continue;
        }
        if (first) {
            first_built(e, ps);
            log_info("asr", "the recogniser is ready (model %s)", e->hmm);
        }
        e->in_use++; /* counted as lent until handed over */
        log_debug("asr", "decoder %d built%s", e->total, ahead ? " ahead" : "");
        hand_over(e, ps);
        pthread_cond_broadcast(&e->work); /* the others' work may be new */
    }
    pthread_mutex_unlock(&e->lock);
}

static void *on_demand_main(void *arg)
{
    pthread_setname_np(pthread_self(), "vb-decoders");
    factory_run(arg, 0);
    return NULL;
}

/* At idle priority: decoders built ahead take no processor time from
 * decoding, only what it leaves over (16 spare ones rebuilt beside 12
 * streams left their latency that of a warm server: bench/NOTES.md,
 * "Cold start").  A thread cannot leave
 * SCHED_IDLE without privileges, hence factories of two kinds. */
static void *factory_main(void *arg)
{
    pthread_setname_np(pthread_self(), "vb-decoders");
    struct sched_param none = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &none) != 0 &&
        setpriority(PRIO_PROCESS, (id_t)gettid(), 19) != 0)
        log_debug("asr", "decoders built ahead run at normal priority");
    factory_run(arg, 1);
    return NULL;
}

static void decoder_return(ps_engine *e, ps_decoder_t *ps)
{
    pthread_mutex_lock(&e->lock);
    hand_over(e, ps);
    pthread_mutex_unlock(&e->lock);
}

static int ps_stream_create(asr_engine *engine, asr_stream **out)
{
    ps_engine *e = (ps_engine *)engine;
    ps_stream *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return VB_ENOMEM;
    s->base.engine = engine;
    s->created = vb_monotonic_s();
    pthread_mutex_lock(&e->lock);
    s->cmn = e->initial_cmn; /* not valid yet while the model loads */
    s->is_new = 1;
    s->new_prev = e->new_tail;
    if (e->new_tail)
        e->new_tail->new_next = s;
    e->new_tail = s;
    pthread_cond_broadcast(&e->work); /* its decoder, ahead of its words */
    pthread_mutex_unlock(&e->lock);
    *out = &s->base;
    return 0;
}

static int ps_stream_begin(asr_stream *stream, asr_ready_fn ready, void *ctx)
{
    ps_stream *s = (ps_stream *)stream;
    ps_engine *e = (ps_engine *)stream->engine;
    if (s->decoder != NULL && s->held) {
        s->held = 0;
        teach(s, s->decoder); /* its words may have changed meanwhile */
        return ps_start_utt(s->decoder) < 0 ? VB_EINTERNAL : 0;
    }
    if (s->decoder != NULL)
        return VB_EINVAL;
    pthread_mutex_lock(&e->lock);
    no_longer_new(e, s);
    if (e->failed) {
        pthread_mutex_unlock(&e->lock);
        return VB_EINTERNAL;
    }
    if (e->idle_count > 0) {
        /* The one it had last if it is idle, else the one idle the least
         * time that holds the stream's taught words (none for most: see
         * ps_vocab.h), else the one idle the least time.  PocketSphinx
         * keeps its noise estimate (-remove_noise) in the decoder, where
         * no interface reaches it: on its own decoder a stream's words do
         * not depend on what other streams said. */
        int i = e->idle_count - 1;
        const char *want = ps_vocab_signature(s->vocab);
        if (e->taught_count > 0 || *want) {
            for (int j = e->idle_count - 1; j >= 0; j--) {
                if (strcmp(held_by(e, e->idle[j]), want) == 0) {
                    i = j;
                    break;
                }
            }
        }
        for (int j = 0; j < e->idle_count; j++)
            if ((uintptr_t)e->idle[j] == s->last)
                i = j;
        ps_decoder_t *ps = take_idle(e, i);
        e->in_use++;
        pthread_cond_broadcast(&e->work); /* build the next spare */
        pthread_mutex_unlock(&e->lock);
        int rc = attach(s, ps);
        if (rc != 0) {
            decoder_return(e, ps);
            s->decoder = NULL;
        }
        return rc;
    }
    s->ready = ready;
    s->ready_ctx = ctx;
    s->next_waiter = NULL;
    if (e->waiters_tail)
        e->waiters_tail->next_waiter = s;
    else
        e->waiters_head = s;
    e->waiters_tail = s;
    e->waiting++;
    pthread_cond_broadcast(&e->work); /* an on-demand factory's */
    pthread_mutex_unlock(&e->lock);
    return VB_EAGAIN;
}

static int ps_stream_feed(asr_stream *stream, const int16_t *samples,
                          size_t count)
{
    ps_stream *s = (ps_stream *)stream;
    if (s->decoder == NULL || s->held)
        return VB_EINVAL;
    if (count == 0)
        return 0;
    return ps_process_raw(s->decoder, samples, count, FALSE, FALSE) < 0
               ? VB_EINTERNAL : 0;
}

static int ps_stream_partial(asr_stream *stream, char *text, size_t len)
{
    ps_stream *s = (ps_stream *)stream;
    if (s->decoder == NULL || s->held)
        return VB_EINVAL;
    const char *hyp = ps_get_hyp(s->decoder, NULL);
    ps_vocab_spell_text(s->vocab, hyp ? hyp : "", text, len);
    return 0;
}

/* Words PocketSphinx writes that are not words: <s>, </s>, <sil>, [NOISE],
 * ++UH++ and the like. */
static int is_filler(const char *word)
{
    return word[0] == '<' || word[0] == '[' || word[0] == '+' ||
           word[0] == '\0';
}

/* Where a segment lies in the utterance, in seconds.  A decoder numbers
 * frames on from its previous utterances, so frame numbers are made
 * relative to the first segment (usually <s>), which begins at the
 * utterance's first frame: *base starts at -1 and is set from it. */
static void seg_span(ps_seg_t *seg, int *base, double *start, double *end)
{
    int first, last;
    ps_seg_frames(seg, &first, &last);
    if (*base < 0)
        *base = first;
    *start = (first - *base) / 100.0;
    *end = (last + 1 - *base) / 100.0;
}

/* A hypothesis word as the language model knows it: "read(2)" is "read". */
static void lm_word(const char *word, char *out, size_t len)
{
    snprintf(out, len, "%s", word);
    char *alt = strchr(out, '(');
    if (alt != NULL && alt != out)
        *alt = '\0';
}

/* The language model's own log probability (before its weight) of `word`
 * after `history` (the last word first; "" is a sentence start); 1 when
 * it does not know one of them. */
static int lm_logp(ngram_model_t *lm, const char *word,
                   char history[2][ASR_WORD_MAX], int32 *logp)
{
    const char *names[3] = {word, history[0][0] ? history[0] : "<s>",
                            history[0][0] && history[1][0] ? history[1] : "<s>"};
    int n = history[0][0] ? 3 : 2; /* <s> <s> is no history of its own */
    int32 ids[3];
    for (int i = 0; i < n; i++) {
        ids[i] = ngram_wid(lm, names[i]);
        if (ids[i] == ngram_unknown_wid(lm))
            return 1;
    }
    /* By word ids: ngram_probv() leaks its history array. */
    int32 used;
    *logp = ngram_ng_prob(lm, ids[0], ids + 1, n - 1, &used);
    return 0;
}

/* P(</s> | history) x P(next | <s>) against P(next | history), the words
 * on both sides of a pause (the pause alone cannot tell a sentence's end
 * from a breath inside one: bench/NOTES.md, "Sentences inside a final");
 * 0 when the model does not know a word. */
static double break_odds(ngram_model_t *lm, logmath_t *lmath,
                         char history[2][ASR_WORD_MAX], const char *next)
{
    char start[2][ASR_WORD_MAX] = {"", ""};
    int32 ends, starts, goes_on;
    if (lm == NULL || history[0][0] == '\0' ||
        lm_logp(lm, "</s>", history, &ends) != 0 ||
        lm_logp(lm, next, start, &starts) != 0 ||
        lm_logp(lm, next, history, &goes_on) != 0)
        return 0;
    return logmath_exp(lmath, ends + starts - goes_on);
}

/* The phrase's words; `before` (the previous phrase's last two words, the
 * last first, "" when none) becomes its last two, for break_odds. */
static int collect_words(ps_decoder_t *ps, const ps_vocab *vocab,
                         char before[2][ASR_WORD_MAX], asr_result *out)
{
    size_t cap = 16;
    out->words = malloc(cap * sizeof(asr_word));
    out->count = 0;
    out->break_odds = 0;
    if (out->words == NULL)
        return VB_ENOMEM;
    logmath_t *lmath = ps_get_logmath(ps);
    ngram_model_t *lm = ps_get_lm(ps, LM_SEARCH);
    int base = -1;
    for (ps_seg_t *seg = ps_seg_iter(ps); seg != NULL; seg = ps_seg_next(seg)) {
        const char *word = ps_seg_word(seg);
        double start, end;
        seg_span(seg, &base, &start, &end);
        if (is_filler(word))
            continue;
        if (out->count == cap) {
            cap *= 2;
            asr_word *grown = realloc(out->words, cap * sizeof(asr_word));
            if (grown == NULL) {
                ps_seg_free(seg);
                asr_result_free(out);
                return VB_ENOMEM;
            }
            out->words = grown;
        }
        asr_word *w = &out->words[out->count++];
        lm_word(word, w->word, sizeof(w->word));
        double odds = break_odds(lm, lmath, before, w->word);
        if (out->count == 1)
            out->break_odds = odds;
        else
            w[-1].break_odds = (float)odds;
        w->break_odds = 0;
        memcpy(before[1], before[0], ASR_WORD_MAX);
        memcpy(before[0], w->word, ASR_WORD_MAX);
        ps_vocab_spell(vocab, w->word, w->word, sizeof(w->word));
        w->start = start;
        w->end = end;
        double p = logmath_exp(lmath, ps_seg_prob(seg, NULL, NULL, NULL));
        w->confidence = (float)(p < 0 ? 0 : p > 1 ? 1 : p);
    }
    return 0;
}

/* The hypothesis's last two words (the last first), as the language
 * model knows them ("" where it has fewer), and where the last ends
 * (seconds from the utterance's start; -1 without a word). */
static void last_words(ps_decoder_t *ps, char last[2][ASR_WORD_MAX],
                       double *end)
{
    last[0][0] = last[1][0] = '\0';
    int base = -1;
    for (ps_seg_t *seg = ps_seg_iter(ps); seg != NULL; seg = ps_seg_next(seg)) {
        double start, stop;
        seg_span(seg, &base, &start, &stop);
        const char *word = ps_seg_word(seg);
        if (is_filler(word))
            continue;
        *end = stop;
        memcpy(last[1], last[0], sizeof(last[0]));
        lm_word(word, last[0], sizeof(last[0]));
    }
}

static int ps_stream_last_word_end(asr_stream *stream, double *end,
                                   double *sentence_end)
{
    ps_stream *s = (ps_stream *)stream;
    *end = -1;
    if (sentence_end != NULL)
        *sentence_end = 0;
    if (s->decoder == NULL || s->held)
        return VB_EINVAL;
    char last[2][ASR_WORD_MAX];
    last_words(s->decoder, last, end);
    if (*end < 0 || sentence_end == NULL)
        return 0;
    ngram_model_t *lm = ps_get_lm(s->decoder, LM_SEARCH);
    int32 logp;
    if (lm != NULL && lm_logp(lm, "</s>", last, &logp) == 0)
        *sentence_end = logmath_exp(ps_get_logmath(s->decoder), logp);
    return 0;
}

/* Always at once (the end passes run here, on the caller's thread):
 * ended is never called. */
static int ps_stream_end(asr_stream *stream, asr_result *out, int keep,
                         asr_ended_fn ended, void *ctx)
{
    (void)ended;
    (void)ctx;
    ps_stream *s = (ps_stream *)stream;
    ps_engine *e = (ps_engine *)stream->engine;
    out->words = NULL;
    out->count = 0;
    if (s->decoder == NULL || s->held)
        return VB_EINVAL;
    /* The words heard so far, in case the end's search loses them: its
     * best path through the word lattice fails on some utterances ("Failed
     * to find DAG node corresponding to </s>", then no words at all; seen
     * with the fast profile on a LibriVox recording cut at one length of
     * some fifty tried). */
    asr_result heard = {0};
    char heard_before[2][ASR_WORD_MAX], before[2][ASR_WORD_MAX];
    memcpy(heard_before, s->before, sizeof(before));
    memcpy(before, s->before, sizeof(before));
    int rc = collect_words(s->decoder, s->vocab, heard_before, &heard);
    if (rc == 0 && ps_end_utt(s->decoder) < 0)
        rc = VB_EINTERNAL;
    if (rc == 0)
        rc = collect_words(s->decoder, s->vocab, before, out);
    if (rc == 0 && out->count == 0 && heard.count > 0) {
        log_warn("asr", "the end-of-utterance search found no words; "
                        "keeping the %zu heard before it", heard.count);
        asr_result_free(out);
        *out = heard;
        heard.words = NULL;
        memcpy(before, heard_before, sizeof(before));
    }
    asr_result_free(&heard);
    /* The next phrase's context, if it follows this one. */
    if (keep && rc == 0)
        memcpy(s->before, before, sizeof(before));
    else
        s->before[0][0] = s->before[1][0] = '\0';
    cmn_save(s->decoder, &s->cmn);
    if (keep) {
        s->held = 1;
        return rc;
    }
    decoder_return(e, s->decoder);
    s->decoder = NULL;
    return rc;
}

static void ps_stream_release(asr_stream *stream)
{
    ps_stream *s = (ps_stream *)stream;
    if (s->decoder == NULL || !s->held)
        return;
    decoder_return((ps_engine *)stream->engine, s->decoder);
    s->decoder = NULL;
    s->held = 0;
    s->before[0][0] = s->before[1][0] = '\0';
}

static void ps_stream_destroy(asr_stream *stream)
{
    ps_stream *s = (ps_stream *)stream;
    ps_engine *e = (ps_engine *)stream->engine;
    pthread_mutex_lock(&e->lock); /* no longer waiting, if it was */
    no_longer_new(e, s);
    for (ps_stream **pp = &e->waiters_head, *prev = NULL; *pp;
         prev = *pp, pp = &(*pp)->next_waiter) {
        if (*pp == s) {
            *pp = s->next_waiter;
            if (e->waiters_tail == s)
                e->waiters_tail = prev;
            e->waiting--;
            break;
        }
    }
    pthread_mutex_unlock(&e->lock);
    if (s->decoder != NULL) {
        if (!s->held)
            ps_end_utt(s->decoder);
        decoder_return((ps_engine *)stream->engine, s->decoder);
    }
    ps_vocab_free(s->vocab);
    free(s);
}

static int ps_stream_set_keywords(asr_stream *stream, const asr_keyword *words,
                                  size_t count)
{
    ps_stream *s = (ps_stream *)stream;
    ps_vocab *v = NULL;
    int rc = ps_vocab_create(words, count, &v);
    if (rc != 0)
        return rc;
    ps_vocab_free(s->vocab);
    s->vocab = v;
    return 0;
}

static void ps_engine_stats(asr_engine *engine, asr_stats *out)
{
    ps_engine *e = (ps_engine *)engine;
    pthread_mutex_lock(&e->lock);
    out->decoders = e->total - e->building;
    out->in_use = e->in_use;
    out->waiting = e->waiting;
    out->loading = !e->loaded && !e->failed;
    pthread_mutex_unlock(&e->lock);
}

static void ps_engine_destroy(asr_engine *engine)
{
    ps_engine *e = (ps_engine *)engine;
    if (e == NULL)
        return;
    if (e->factory_count > 0) {
        pthread_mutex_lock(&e->lock);
        e->stopping = 1;
        pthread_cond_broadcast(&e->work);
        pthread_mutex_unlock(&e->lock);
        for (int i = 0; i < e->factory_count; i++)
            pthread_join(e->factories[i], NULL);
    }
    free(e->factories);
    if (e->waiting != 0)
        log_warn("asr", "%d streams still waiting for a decoder at shutdown",
                 e->waiting);
    if (e->in_use != 0)
        log_warn("asr", "%d decoders still lent out at shutdown", e->in_use);
    for (int i = 0; i < e->idle_count; i++)
        ps_free(e->idle[i]);
    for (size_t i = 0; i < e->taught_count; i++)
        free(e->taught[i].held);
    free(e->taught);
    free(e->idle);
    free(e->idle_since);
    free(e->hmm);
    free(e->lm);
    free(e->dict);
    free(e->search_dict);
    if (e->dict_fd >= 0)
        close(e->dict_fd);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->work);
    free(e);
}

static const struct asr_engine_ops ps_ops = {
    .name = "pocketsphinx",
    .stream_create = ps_stream_create,
    .begin = ps_stream_begin,
    .feed = ps_stream_feed,
    .partial = ps_stream_partial,
    .last_word_end = ps_stream_last_word_end,
    .release = ps_stream_release,
    .end = ps_stream_end,
    .stream_destroy = ps_stream_destroy,
    .stats = ps_engine_stats,
    .set_keywords = ps_stream_set_keywords,
    .destroy = ps_engine_destroy,
};

static char *model_path(const char *given, const char *dir, const char *name)
{
    char *path = NULL;
    if (given != NULL)
        return strdup(given);
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return NULL;
    return path;
}

static int check_exists(const char *what, const char *path, char *err,
                        size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 0;
    vb_seterr(err, errlen, "%s not found at %s (install pocketsphinx-en-us "
              "or point --model-dir at a model)", what, path);
    return VB_ENOTFOUND;
}

/* PocketSphinx's warnings and errors into Verbatim's log; its many
 * informational lines are dropped.  An error while a decoder is built
 * (the model does not load) is a warning; anything else is debug: while
 * decoding it complains about utterances it recovers from by itself,
 * such as one whose first frame has no sentence start. */
static void log_from_pocketsphinx(void *user_data, err_lvl_t level,
                                  const char *fmt, ...)
{
    (void)user_data;
    if (level != ERR_WARN && level != ERR_ERROR && level != ERR_FATAL)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    line[strcspn(line, "\n")] = '\0';
    /* Without its 'ERROR: "acmod.c", line 78: ' prefix. */
    const char *text = strstr(line, "\", line ");
    text = text ? strstr(text, ": ") : NULL;
    log_msg(loading && level != ERR_WARN ? LOG_WARN : LOG_DEBUG,
            "pocketsphinx", "%s", text ? text + 2 : line);
}

static pthread_once_t log_route_once = PTHREAD_ONCE_INIT;

static void route_log(void)
{
    err_set_callback(log_from_pocketsphinx, NULL);
    err_set_logfp(NULL); /* its configuration table is written there */
}

/* Decoders read only the dictionary's words the language model knows
 * (lexicon.h): same results, each decoder built in 14 % fewer
 * instructions and 12 MB smaller with the en-us model.  A dictionary
 * with none of the model's words is a mistake worth stopping for; when
 * the copy cannot be made for another reason the decoders read the whole
 * dictionary (and PocketSphinx says what is wrong if that fails too). */
static int use_trimmed_dictionary(ps_engine *e, char *err, size_t errlen)
{
    char why[512];
    lexicon_trim_stats stats;
    int rc = lexicon_trim(e->dict, e->lm, &e->dict_fd, &stats, why, sizeof(why));
    if (rc == VB_ENOMEM)
        return rc;
    if (rc == VB_EINVAL) {
        vb_seterr(err, errlen, "%s", why);
        return rc;
    }
    if (rc != 0) {
        log_warn("asr", "%s; decoders read the whole dictionary", why);
        e->search_dict = strdup(e->dict);
    } else {
        log_debug("asr", "dictionary: %zu of %zu pronunciations are of the "
                  "language model's words", stats.kept, stats.total);
        if (asprintf(&e->search_dict, "/proc/self/fd/%d", e->dict_fd) < 0)
            e->search_dict = NULL;
    }
    return e->search_dict ? 0 : VB_ENOMEM;
}

/* Prepares what every decoder reads and builds the first decoder, which
 * proves the model loads: the dictionary paired with the language model
 * (use_trimmed_dictionary()), then the decoder.  Slow (0.3-1 s, most of
 * it the decoder); called without the lock. */
static int load_model(ps_engine *e, ps_decoder_t **first, char *err, size_t errlen)
{
    int rc = use_trimmed_dictionary(e, err, errlen);
    if (rc == VB_ENOMEM)
        vb_seterr(err, errlen, "out of memory while loading the model");
    if (rc != 0)
        return rc;
    ps_decoder_t *ps = decoder_create(e);
    if (ps == NULL) {
        vb_seterr(err, errlen, "PocketSphinx could not load the model "
                  "(%s, %s, %s)", e->hmm, e->lm, e->dict);
        return VB_EINTERNAL;
    }
    if (ps_get_lm(ps, LM_SEARCH) == NULL)
        log_warn("asr", "no language model search named %s: pauses will not "
                        "settle phrases early", LM_SEARCH);
    *first = ps;
    return 0;
}

/* The most decoders one engine makes when no cap is given. */
#define POOL_LIMIT 4096

int asr_pocketsphinx_create(const asr_params *params,
                            const char *const *options, asr_engine **out,
                            char *err, size_t errlen)
{
    ps_options o;
    int rc = parse_options(options, &o, err, errlen);
    if (rc != 0)
        return rc;
    ps_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return VB_ENOMEM;
    e->base.ops = &ps_ops;
    e->dict_fd = -1;
    e->max_decoders = params->max_streams > 0 && params->max_streams < POOL_LIMIT
                          ? params->max_streams : POOL_LIMIT;
    e->spare = o.spare;
    e->release_after = o.release_after;
    e->fast = o.fast;
    e->on_failed = params->failed;
    e->failed_ctx = params->failed_ctx;
    pthread_mutex_init(&e->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* see wait_until */
    pthread_cond_init(&e->work, &attr);
    pthread_condattr_destroy(&attr);
    e->hmm = model_path(o.hmm, o.model_dir, "en-us");
    e->lm = model_path(o.lm, o.model_dir, "en-us.lm.bin");
    e->dict = model_path(o.dict, o.model_dir, "cmudict-en-us.dict");
    e->idle = calloc((size_t)e->max_decoders, sizeof(ps_decoder_t *));
    e->idle_since = calloc((size_t)e->max_decoders, sizeof(double));
    if (!e->hmm || !e->lm || !e->dict || !e->idle || !e->idle_since) {
        ps_engine_destroy(&e->base);
        return VB_ENOMEM;
    }
    rc = check_exists("acoustic model", e->hmm, err, errlen);
    if (rc == 0)
        rc = check_exists("language model", e->lm, err, errlen);
    if (rc == 0)
        rc = check_exists("dictionary", e->dict, err, errlen);
    if (rc != 0) {
        ps_engine_destroy(&e->base);
        return rc;
    }
    pthread_once(&log_route_once, route_log);
    /* Load the model now, or a factory does first thing. */
    if (!params->load_in_background) {
        ps_decoder_t *first = NULL;
        rc = load_model(e, &first, err, errlen);
        if (rc != 0) {
            ps_engine_destroy(&e->base);
            return rc;
        }
        first_built(e, first);
        e->idle_since[0] = vb_monotonic_s();
        e->idle[e->idle_count++] = first;
        e->total = 1;
    }
    int builders = params->threads > 0 ? params->threads : 1;
    /* A server (it loads in the background) builds some ahead at
     * start-up, for the first people to come (bench/cold_start.sh); a
     * command has its one. */
    int start = o.start >= 0 ? o.start
                : params->load_in_background ? START_PER_BUILDER * builders
                                             : 1;
    e->start_left = start > 1 ? start - 1 : 0;
    e->factories = calloc((size_t)builders * 2, sizeof(pthread_t));
    if (e->factories == NULL) {
        ps_engine_destroy(&e->base);
        return VB_ENOMEM;
    }
    for (; e->factory_count < builders * 2; e->factory_count++) {
        if (pthread_create(&e->factories[e->factory_count], NULL,
                           e->factory_count < builders ? on_demand_main
                                                       : factory_main,
                           e) != 0) {
            ps_engine_destroy(&e->base);
            return VB_EINTERNAL;
        }
    }
    *out = &e->base;
    return 0;
}
