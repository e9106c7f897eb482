/*
 * http.c - the HTTP side of the server: REST requests and the landing page.
 *
 * A request is read and routed by request.c (the route table's match and
 * the access check), its body collected on the I/O thread (up to
 * API_MAX_BODY), then answered by api_handle() where the route's place
 * says: a change on the store's writer, a read on the least busy reader
 * (a connection of its own, so that reads never wait behind finals), and
 * what touches no store (health) at once on the I/O thread.  The answered request comes back through
 * srv->http_done and net_wake(); the I/O thread then writes the headers
 * and the body, one lws_write per writable callback.
 *
 * A client can hang up while its request is on the runner.  The request
 * is then `orphaned` and freed when its answer comes back, never touched
 * through the dead connection.
 *
 * A body comes with Content-Length, or in the chunked transfer coding,
 * which libwebsockets passes on undecoded and without an end: chunked.c
 * decodes it here and says when it has ended, and the connection closes
 * after the answer, as nothing tells where the next request would start.
 * Once a request is handed to the runner, no more of its body is taken.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/metrics.h"
#include "chunked.h"
#include "multipart.h"
#include "net_internal.h"

#define WRITE_CHUNK 16384

typedef struct http_req {
    server *srv;
    struct lws *wsi;       /* NULL once orphaned */
    net_request rq;        /* rq.wsi is not used once orphaned */
    char *body;
    size_t body_len, body_cap;
    int spool_fd;          /* an upload's body past SPOOL_AT, in an unlinked
                              temporary file; -1 while it is in body */
    int spool_failed;      /* ... which could not be written: 507 */
    int answer_counted;    /* admit_answer() has seen the answer */
    size_t queued_bytes;   /* the answer's body, counted in
                              srv->http_queued until it is written */
    int dispatched;        /* handed to the runner (once per request) */
    int on_runner;         /* api_handle() is running or queued */
    const api_context *api;/* the writer's or a reader's */
    int orphaned;
    int headers_sent;
    int static_file;
    const char *fixed_body; /* not owned: a web file or a literal; else
                               the body is res.body */
    size_t sent;
    api_response res;
    struct http_req *next_done;
    int upload;            /* POST .../audio: the body is a recording */
    int64_t upload_tid;
    char boundary[MULTIPART_BOUNDARY_MAX + 1]; /* a form's; "" if no form */
    upload_job *job;       /* waiting for this job's outcome */
    int wait_over;         /* its `wait` is over: answer 202 once the job
                              has its id */
    struct http_req *next_waiter;
    char location[160];    /* a Location header, when set */
    int chunked;           /* the body is in the chunked coding */
    chunked_decoder chunks;
    int close_after;       /* the body has a transfer coding: nothing but
                              the decoder tells where it ends, so the
                              connection closes after the answer */
} http_req;

static void req_free(http_req *req)
{
    if (req == NULL)
        return;
    if (req->queued_bytes > 0)
        atomic_fetch_sub(&req->srv->http_queued, req->queued_bytes);
    if (req->spool_fd >= 0)
        close(req->spool_fd);
    free(req->body);
    api_response_free(&req->res);
    free(req);
}

static int add_header(struct lws *wsi, const char *name, const char *value,
                      unsigned char **p, unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value,
                                       (int)strlen(value), p, end);
}

/* Content-Disposition for a file the client should save: the ASCII name,
 * and, when the title has letters beyond ASCII, its UTF-8 name as well
 * (filename*, RFC 6266 and 8187), which browsers prefer. */
static int add_download(struct lws *wsi, const api_response *res,
                        unsigned char **p, unsigned char *end)
{
    if (res->filename[0] == '\0')
        return 0;
    char value[600];
    int n = snprintf(value, sizeof(value), "attachment; filename=\"%s\"",
                     res->filename);
    if (strcmp(res->filename_utf8, res->filename) != 0 && res->filename_utf8[0]) {
        static const char hex[] = "0123456789ABCDEF";
        n += snprintf(value + n, sizeof(value) - (size_t)n,
                      "; filename*=UTF-8''");
        for (const unsigned char *c = (const unsigned char *)res->filename_utf8;
             *c && (size_t)n + 4 < sizeof(value); c++) {
            if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                *c == '-' || *c == '.') {
                value[n++] = (char)*c;
            } else {
                value[n++] = '%';
                value[n++] = hex[*c >> 4];
                value[n++] = hex[*c & 15];
            }
        }
        value[n] = '\0';
    }
    return add_header(wsi, "content-disposition:", value, p, end);
}

int http_add_cors(server *srv, struct lws *wsi, unsigned char **p,
                  unsigned char *end)
{
    char origin[256];
    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0 ||
        !net_origin_listed(srv, origin))
        return 0;
    if (add_header(wsi, "access-control-allow-origin:", origin, p, end) ||
        add_header(wsi, "access-control-allow-credentials:", "true", p, end) ||
        add_header(wsi, "vary:", "Origin", p, end) ||
        add_header(wsi, "access-control-expose-headers:",
                   "X-Total-Count, Link, Location", p, end))
        return 1;
    return 0;
}

/* An upload refused with status, by its reason (a 503's, net_admit()'s,
 * is counted there). */
static void count_upload_refusal(int status)
{
    if (status == 404)
        metrics_count_refused(METRICS_REFUSED_NOT_FOUND);
    else if (status == 413)
        metrics_count_refused(METRICS_REFUSED_TOO_LARGE);
    else if (status == 400 || status == 422 || status == 501)
        metrics_count_refused(METRICS_REFUSED_BAD_REQUEST);
}

/* Answers now with a body that outlives the request (not copied). */
static int respond_now(struct lws *wsi, http_req *req, int status,
                       const char *type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.content_type = type;
    req->fixed_body = body;
    req->res.body_len = len;
    lws_callback_on_writable(wsi);
    return 0;
}

static void stop_waiting(server *srv, http_req *req)
{
    for (http_req **pp = &srv->upload_waiters; *pp; pp = &(*pp)->next_waiter) {
        if (*pp == req) {
            *pp = req->next_waiter;
            break;
        }
    }
    req->job = NULL;
}

/* Answers a request that waited for its upload job: with the outcome, or
 * 202 and where to poll. */
static void answer_upload(server *srv, http_req *req)
{
    upload_job *job = req->job;
    stop_waiting(srv, req);
    upload_respond(job, &req->res, req->location, sizeof(req->location));
    lws_set_timer_usecs(req->wsi, LWS_SET_TIMER_USEC_CANCEL);
    lws_callback_on_writable(req->wsi);
}

/* The request as the API sees it: with who asks. */
static api_request api_request_of(const server *srv, const http_req *req)
{
    api_request areq = {
        .method = req->rq.method, .path = req->rq.path, .query = req->rq.query,
        .body = req->body, .body_len = req->body_len,
        .auth_required = srv->keys != NULL, .principal = req->rq.principal,
        .scope = (int)req->rq.scope, .via_session = req->rq.via_session,
        .session_token = req->rq.session_token, .secure = req->rq.secure,
        .range = req->rq.range,
    };
    return areq;
}

static void answer_on_runner(void *arg)
{
    http_req *req = arg;
    server *srv = req->srv;
    api_request areq = api_request_of(srv, req);
    api_handle(req->api, &areq, &req->res);
    pthread_mutex_lock(&srv->lock);
    req->next_done = srv->http_done;
    srv->http_done = req;
    pthread_mutex_unlock(&srv->lock);
    net_wake(srv);
}

static int dispatch(server *srv, struct lws *wsi, http_req *req)
{
    if (req->dispatched)
        return 0; /* lws may report the end of an empty body as well */
    req->dispatched = 1;
    api_place place = req->rq.route.place;
    if (place == API_ON_ANY) { /* health, the document, 404 and 405 */
        api_request areq = api_request_of(srv, req);
        api_handle(&srv->api, &areq, &req->res);
        lws_callback_on_writable(wsi);
        return 0;
    }
    runner_t *runner = srv->runner;
    req->api = &srv->api;
    if (place == API_ON_CHECK && srv->checker.runner != NULL) {
        runner = srv->checker.runner;
        req->api = &srv->checker.api;
    } else if (place != API_ON_WRITER && srv->reader_count > 0) {
        /* The reader with the fewest requests waiting. */
        net_reader *best = &srv->readers[0];
        for (int i = 1; i < srv->reader_count; i++)
            if (runner_pending(srv->readers[i].runner) <
                runner_pending(best->runner))
                best = &srv->readers[i];
        runner = best->runner;
        req->api = &best->api;
    }
    req->on_runner = 1;
    if (runner_submit(runner, answer_on_runner, req) != 0) {
        req->on_runner = 0;
        api_error_response(503, "The server is shutting down", &req->res);
        lws_callback_on_writable(wsi);
    }
    return 0;
}

void http_on_wake(server *srv)
{
    pthread_mutex_lock(&srv->lock);
    http_req *list = srv->http_done;
    srv->http_done = NULL;
    pthread_mutex_unlock(&srv->lock);
    while (list) {
        http_req *req = list;
        list = req->next_done;
        req->on_runner = 0;
        if (req->orphaned)
            req_free(req);
        else
            lws_callback_on_writable(req->wsi);
    }
    for (http_req *req = srv->upload_waiters, *next; req; req = next) {
        next = req->next_waiter;
        if (upload_answerable(req->job, req->wait_over))
            answer_upload(srv, req);
    }
}

/* The body of POST .../audio is in: start the job, and wait for it. */
static int begin_upload(server *srv, struct lws *wsi, http_req *req)
{
    int wait_s = 0;
    upload_job *job = NULL;
    upload_body body = {(uint8_t *)req->body, req->body_len, 0};
    req->body = NULL;
    req->dispatched = 1;
    if (req->spool_fd >= 0) { /* read back through the page cache */
        void *map = req->body_len > 0
                        ? mmap(NULL, req->body_len, PROT_READ, MAP_PRIVATE,
                               req->spool_fd, 0)
                        : MAP_FAILED;
        close(req->spool_fd);
        req->spool_fd = -1;
        if (map == MAP_FAILED) {
            api_error_response(500, "the recording could not be read back "
                               "from its temporary file", &req->res);
            lws_callback_on_writable(wsi);
            return 0;
        }
        body.data = map;
        body.mapped = 1;
    }
    if (upload_start(srv, req->upload_tid, req->rq.query,
                     req->boundary[0] ? req->boundary : NULL, body, &job,
                     &wait_s, &req->res) != 0) {
        count_upload_refusal(req->res.status);
        lws_callback_on_writable(wsi);
        return 0;
    }
    req->job = job;
    req->next_waiter = srv->upload_waiters;
    srv->upload_waiters = req;
    req->wait_over = wait_s == 0;
    if (upload_answerable(job, req->wait_over))
        answer_upload(srv, req);
    else if (wait_s > 0)
        lws_set_timer_usecs(wsi, (lws_usec_t)wait_s * LWS_US_PER_SEC);
    return 0;
}

/* The body's length as the Content-Length header gives it; 0 without. */
static long long declared_length(struct lws *wsi)
{
    char length[32] = "";
    lws_hdr_copy(wsi, length, sizeof(length), WSI_TOKEN_HTTP_CONTENT_LENGTH);
    return atoll(length);
}

/* How the request's body comes: 1 in the chunked coding (then decoded
 * here), 0 by Content-Length or not at all, -1 in a transfer coding this
 * server does not read (a 501 is set). */
static int body_coding(struct lws *wsi, http_req *req)
{
    char coding[64] = "";
    if (lws_hdr_copy(wsi, coding, sizeof(coding),
                     WSI_TOKEN_HTTP_TRANSFER_ENCODING) <= 0)
        return 0;
    req->close_after = 1;
    if (strcasecmp(coding, "chunked") == 0) {
        req->chunked = 1;
        chunked_init(&req->chunks);
        return 1;
    }
    char msg[200], quoted[64];
    snprintf(msg, sizeof(msg), "Transfer-Encoding \"%s\" is not supported; "
             "send the body with Content-Length, or chunked",
             net_shown(coding, quoted, sizeof(quoted)));
    api_error_response(501, msg, &req->res);
    return -1;
}

/* POST a recording.  An id that is not a number is not a transcription
 * of this server: 404. */
static int start_upload_route(server *srv, struct lws *wsi, http_req *req)
{
    int64_t tid = 0;
    int deepgram = strcmp(req->rq.path, "/v1/listen") == 0; /* tid 0 */
    char type[256] = "";
    lws_hdr_copy(wsi, type, sizeof(type), WSI_TOKEN_HTTP_CONTENT_TYPE);
    if (!deepgram && net_path_id(req->rq.route.param[0], &tid) != 0) {
        api_error_response(404, "Not Found", &req->res);
    } else if (!deepgram && multipart_boundary(type, req->boundary) < 0) {
        api_error_response(400, "Content-Type multipart/form-data needs its "
                           "boundary parameter (boundary=...), of at most "
                           "70 characters", &req->res);
    } else {
        long long declared = declared_length(wsi);
        int coding = body_coding(wsi, req);
        if (coding < 0) {
            /* answered below */
        } else if (declared > (long long)srv->cfg.max_upload) {
            char msg[160];
            snprintf(msg, sizeof(msg), "the recording of %lld bytes is over "
                     "the limit of %zu bytes (--max-upload-mb)", declared,
                     srv->cfg.max_upload);
            api_error_response(413, msg, &req->res);
        } else if (declared <= 0 && coding == 0) {
            req->upload_tid = tid;
            return begin_upload(srv, wsi, req); /* no body: 422 */
        } else if (upload_admit(srv, deepgram, req->rq.query, &req->res) != 0) {
            /* refused on the headers: the body is not read at all */
        } else {
            req->upload = 1;
            req->upload_tid = tid;
            return 0; /* wait for the body */
        }
    }
    count_upload_refusal(req->res.status);
    lws_callback_on_writable(wsi);
    return 0;
}

/*
 * Answers wait in memory until their clients have read them; clients that
 * ask and do not read would make the server keep any amount (60 of them
 * asking for a long list added 190 MiB).  All answers waiting together
 * are held to --http-queue-mb: past it a request gets 503 instead, until
 * some have been read.  1 to go on, 0 when req now holds the 503.
 */
static int admit_answer(server *srv, http_req *req)
{
    req->answer_counted = 1; /* once: a 503 in its place is not judged */
    size_t n = req->res.body_len;
    size_t before = atomic_fetch_add(&srv->http_queued, n);
    if (before + n <= srv->cfg.http_queue || before == 0) {
        req->queued_bytes = n;
        return 1;
    }
    atomic_fetch_sub(&srv->http_queued, n);
    char msg[200];
    snprintf(msg, sizeof(msg), "the server has %zu MiB of answers waiting for "
             "their clients to read them (--http-queue-mb); try again shortly",
             before >> 20);
    log_warn("http", "%s %s refused: %s", req->rq.method, req->rq.path, msg);
    api_response_free(&req->res);
    api_error_response(503, msg, &req->res);
    req->rq.retry_after = 2;
    lws_callback_on_writable(req->wsi);
    return 0;
}

/* Headers first, then the body in chunks; returns -1 to close. */
static int write_response(server *srv, struct lws *wsi, net_pss *pss)
{
    http_req *req = pss->req;
    if (req == NULL || req->on_runner || req->res.status == 0 || req->job)
        return 0;
    if (!req->answer_counted && req->res.body != NULL && !req->fixed_body &&
        req->res.body_len > 0 && !admit_answer(srv, req))
        return 0; /* answered 503 on the next writable callback */
    if (!req->headers_sent) {
        char total[24];
        snprintf(total, sizeof(total), "%lld", (long long)req->res.total_count);
        unsigned char buf[LWS_PRE + 2048];
        unsigned char *start = buf + LWS_PRE, *p = start;
        unsigned char *end = buf + sizeof(buf) - 1;
        if (lws_add_http_common_headers(wsi, (unsigned)req->res.status,
                                        req->res.content_type,
                                        req->res.body_len, &p, end) ||
            http_add_cors(srv, wsi, &p, end) ||
            net_add_security_headers(wsi, req->res.status, req->rq.retry_after,
                                     &p, end) ||
            add_download(wsi, &req->res, &p, end) ||
            (req->res.has_total &&
             add_header(wsi, "x-total-count:", total, &p, end)) ||
            (req->res.next_link[0] &&
             add_header(wsi, "link:", req->res.next_link, &p, end)) ||
            (req->res.accept_ranges &&
             add_header(wsi, "accept-ranges:", "bytes", &p, end)) ||
            (req->res.content_range[0] &&
             add_header(wsi, "content-range:", req->res.content_range, &p,
                        end)) ||
            (req->res.set_cookie[0] &&
             add_header(wsi, "set-cookie:", req->res.set_cookie, &p, end)) ||
            (req->location[0] && req->res.status == 202 &&
             add_header(wsi, "location:", req->location, &p, end)) ||
            (req->static_file && add_header(wsi, "cache-control:", "no-cache",
                                            &p, end)) ||
            (strcmp(req->rq.method, "OPTIONS") == 0 &&
             (add_header(wsi, "access-control-allow-methods:",
                         "GET, POST, PATCH, DELETE, OPTIONS", &p, end) ||
              add_header(wsi, "access-control-allow-headers:",
                         "content-type, authorization", &p, end) ||
              add_header(wsi, "access-control-max-age:", "600", &p, end))) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        req->headers_sent = 1;
        log_info("http", "%s %s %d", req->rq.method, req->rq.path, req->res.status);
        metrics_count_http(api_metrics_slot(&req->rq.route,
                                            req->static_file &&
                                                req->res.status == 200),
                           req->res.status);
        if (req->res.body_len > 0 && strcmp(req->rq.method, "HEAD") != 0) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    } else {
        size_t left = req->res.body_len - req->sent;
        size_t n = left < WRITE_CHUNK ? left : WRITE_CHUNK;
        unsigned char buf[LWS_PRE + WRITE_CHUNK];
        const char *body = req->fixed_body ? req->fixed_body : req->res.body;
        memcpy(buf + LWS_PRE, body + req->sent, n);
        int last = n == left;
        if (lws_write(wsi, buf + LWS_PRE, n,
                      last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
            return -1;
        req->sent += n;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    pss->req = NULL;
    int close_after = req->close_after;
    req_free(req);
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void detach(server *srv, net_pss *pss)
{
    http_req *req = pss->req;
    pss->req = NULL;
    if (req == NULL)
        return;
    if (req->job != NULL)
        stop_waiting(srv, req);
    if (req->on_runner) {
        req->orphaned = 1; /* freed when its answer arrives */
        req->wsi = NULL;
    } else {
        req_free(req);
    }
}

static int start_request(server *srv, struct lws *wsi, net_pss *pss)
{
    detach(srv, pss);
    http_req *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return -1;
    req->srv = srv;
    req->wsi = wsi;
    req->spool_fd = -1;
    pss->req = req;
    net_request_read(srv, wsi, 0, &req->rq);

    /* A CORS preflight carries no credentials: answered before the
     * check, with what the answer to the real request will allow. */
    if (strcmp(req->rq.method, "OPTIONS") == 0)
        return respond_now(wsi, req, 204, "text/plain", NULL, 0);
    char why[300];
    int status = net_request_check(srv, &req->rq, why, sizeof(why));
    if (status != 0) {
        if (req->rq.route.kind == API_ROUTE_UPLOAD)
            metrics_count_refused((metrics_refusal)req->rq.refusal);
        api_error_response(status, why, &req->res);
        lws_callback_on_writable(wsi);
        return 0;
    }
    const web_file *file = NULL;
    if (strcmp(req->rq.method, "GET") == 0 || strcmp(req->rq.method, "HEAD") == 0)
        file = web_lookup(srv->web, req->rq.path);
    if (file != NULL) { /* web files stay in memory until shutdown */
        req->static_file = 1;
        return respond_now(wsi, req, 200, file->content_type,
                           (const char *)file->data, file->len);
    }
    api_route_kind kind = req->rq.route.kind;
    if (kind == API_ROUTE_UPLOAD)
        return start_upload_route(srv, wsi, req);
    if (!req->rq.route.path_known && !api_owns_path(req->rq.path)) {
        /* A person's browser gets a page with a way back; programs the
         * API's JSON. */
        char accept[256] = "";
        lws_hdr_copy(wsi, accept, sizeof(accept), WSI_TOKEN_HTTP_ACCEPT);
        const web_file *page = strstr(accept, "text/html")
                                   ? web_lookup(srv->web, "/404.html")
                                   : NULL;
        if (page != NULL) {
            req->static_file = 1;
            return respond_now(wsi, req, 404, page->content_type,
                               (const char *)page->data, page->len);
        }
        static const char not_found[] = "{\"detail\":\"Not Found\"}";
        return respond_now(wsi, req, 404, "application/json", not_found,
                           sizeof(not_found) - 1);
    }
    if (strcmp(req->rq.method, "POST") == 0 || strcmp(req->rq.method, "PATCH") == 0 ||
        strcmp(req->rq.method, "PUT") == 0) {
        long long declared = declared_length(wsi);
        if (declared > API_MAX_BODY) {
            char msg[128];
            snprintf(msg, sizeof(msg), "Request body of %lld bytes is over "
                     "the limit of %d bytes", declared, API_MAX_BODY);
            api_error_response(413, msg, &req->res);
            lws_callback_on_writable(wsi);
            return 0;
        }
        int coding = body_coding(wsi, req);
        if (coding < 0) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (declared > 0 || coding > 0)
            return 0; /* wait for LWS_CALLBACK_HTTP_BODY */
    }
    return dispatch(srv, wsi, req);
}

/* Writes all of buf to fd; 0, or -1 with errno set. */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* An upload's body past this many bytes goes to a temporary file: three
 * uploads of 200 MB held in memory took the server to 821 MiB. */
#define SPOOL_AT (1024 * 1024)

/* Moves what body holds into an unlinked temporary file, where the rest
 * will go.  0, or -1 (no room, no temporary folder). */
static int start_spool(http_req *req)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("http", "no temporary file for an upload in %s: errno %d",
                  dir, errno);
        return -1;
    }
    if (write_all(fd, req->body, req->body_len) != 0) {
        close(fd);
        return -1;
    }
    free(req->body);
    req->body = NULL;
    req->body_cap = 0;
    req->spool_fd = fd;
    return 0;
}

static int append_body(server *srv, http_req *req, const void *in, size_t len)
{
    if (len == 0)
        return 0;
    if (req->body_len + len > (req->upload ? srv->cfg.max_upload : API_MAX_BODY))
        return -1;
    if (req->upload && req->spool_fd < 0 && req->body_len + len > SPOOL_AT &&
        start_spool(req) != 0) {
        req->spool_failed = 1;
        return -1;
    }
    if (req->spool_fd >= 0) {
        if (write_all(req->spool_fd, in, len) != 0) {
            log_error("http", "an upload could not be spooled: errno %d", errno);
            req->spool_failed = 1;
            return -1;
        }
        req->body_len += len;
        return 0;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = (req->body_len + len + 1) * 2;
        char *grown = realloc(req->body, cap);
        if (grown == NULL)
            return -1;
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, in, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return 0;
}

static int chunk_sink(void *ctx, const char *data, size_t len)
{
    http_req *req = ctx;
    return append_body(req->srv, req, data, len);
}

/* The whole body is in: answer it. */
static int body_complete(server *srv, struct lws *wsi, http_req *req)
{
    if (req->upload)
        return begin_upload(srv, wsi, req);
    return dispatch(srv, wsi, req);
}

/* A piece of the body, as it came off the wire. */
static int take_body(server *srv, struct lws *wsi, http_req *req,
                     const char *in, size_t len)
{
    int rc;
    if (req->chunked)
        rc = chunked_feed(&req->chunks, in, len, chunk_sink, req);
    else
        rc = append_body(srv, req, in, len) != 0 ? CHUNKED_REFUSED : 0;
    if (rc == 1)
        return body_complete(srv, wsi, req);
    if (rc == 0)
        return 0;
    free(req->body); /* not needed to answer */
    req->body = NULL;
    req->body_len = req->body_cap = 0;
    if (req->spool_failed) {
        api_error_response(507, "the server has no room to keep the "
                           "recording while it is received; see its log",
                           &req->res);
    } else if (rc == CHUNKED_REFUSED) {
        api_error_response(413, "Request body is over the size limit", &req->res);
    } else {
        char msg[160];
        snprintf(msg, sizeof(msg), "The chunked request body is malformed: %s",
                 req->chunks.error);
        api_error_response(400, msg, &req->res);
    }
    lws_callback_on_writable(wsi);
    return 0;
}

int http_callback(server *srv, struct lws *wsi, enum lws_callback_reasons reason,
                  net_pss *pss, void *in, size_t len)
{
    /* libwebsockets calls some reasons (closing, dropping the protocol
     * after an upgrade) without per-connection storage. */
    if (pss == NULL)
        return reason == LWS_CALLBACK_HTTP ? -1 : 0;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return start_request(srv, wsi, pss);
    case LWS_CALLBACK_HTTP_BODY:
        /* Once on the runner the body is being read there: not a byte
         * more (and res.status is the runner's to write). */
        if (pss->req == NULL || pss->req->dispatched || pss->req->res.status != 0)
            return 0;
        return take_body(srv, wsi, pss->req, (const char *)in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss->req == NULL || pss->req->dispatched || pss->req->res.status != 0)
            return 0;
        if (pss->req->chunked) { /* lws saw an end before the last chunk */
            api_error_response(400, "The chunked request body ended before "
                               "its last chunk", &pss->req->res);
            lws_callback_on_writable(wsi);
            return 0;
        }
        return body_complete(srv, wsi, pss->req);
    case LWS_CALLBACK_TIMER: /* an upload's wait is over: 202 */
        if (pss->req != NULL && pss->req->job != NULL) {
            pss->req->wait_over = 1;
            if (upload_answerable(pss->req->job, 1))
                answer_upload(srv, pss->req);
        }
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return write_response(srv, wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        detach(srv, pss);
        return 0;
    default:
        return 0;
    }
}
