/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <cJSON.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "test setup failed: %s\n", what);
    abort();
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        die("no free port");
    int port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

int tu_pg(void)
{
    const char *url = getenv("VERBATIM_TEST_PG");
    return url != NULL && *url != '\0';
}

void tu_db_url(const char *dir, char *out, size_t len)
{
    if (!tu_pg()) {
        snprintf(out, len, "%s/verbatim.db", dir);
        return;
    }
    static int made;
    const char *base = getenv("VERBATIM_TEST_PG");
    char admin[300], name[64], sql[128];
    snprintf(admin, sizeof(admin), "%s/postgres", base);
    snprintf(name, sizeof(name), "vbt_%ld_%d", (long)getpid(), ++made);
    PGconn *conn = PQconnectdb(admin);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(conn));
        die("cannot reach the test PostgreSQL server");
    }
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s", PQresultErrorMessage(r));
        die("cannot create a test database");
    }
    PQclear(r);
    PQfinish(conn);
    snprintf(out, len, "%s/%s", base, name);
}

int tu_sql(const char *url, const char *sql)
{
    if (strncmp(url, "postgres", 8) == 0) {
        PGconn *conn = PQconnectdb(url);
        PGresult *r = PQexec(conn, "SET client_min_messages = warning");
        PQclear(r);
        r = PQexec(conn, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
                 PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "tu_sql: %s", PQerrorMessage(conn));
        PQclear(r);
        PQfinish(conn);
        return ok ? 0 : -1;
    }
    sqlite3 *db;
    char *msg = NULL;
    int rc = sqlite3_open(url, &db);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "tu_sql: %s\n", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static void start_in_dir(tu_server *srv, const char *const *extra_flags);

/* Whether something answers PING on the port as Redis does (asking for
 * a password is an answer). */
static int redis_answers(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char reply[16] = "";
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        write(fd, "PING\r\n", 6) == 6) {
        struct timeval tv = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ssize_t n = read(fd, reply, sizeof(reply) - 1);
        reply[n > 0 ? n : 0] = '\0';
    }
    if (fd >= 0)
        close(fd);
    return strncmp(reply, "+PONG", 5) == 0 || strncmp(reply, "-NOAUTH", 7) == 0;
}

void tu_redis_start_again(tu_redis *r)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", r->port);
    r->pid = fork();
    if (r->pid < 0)
        die("fork");
    if (r->pid == 0) {
        char log[96];
        snprintf(log, sizeof(log), "%s/redis.log", r->dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        if (r->password[0])
            execlp("redis-server", "redis-server", "--port", port, "--bind",
                   "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                   r->dir, "--requirepass", r->password, (char *)NULL);
        else
            execlp("redis-server", "redis-server", "--port", port, "--bind",
                   "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                   r->dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (redis_answers(r->port))
            return;
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            r->pid = 0;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                die("redis-server is not installed (make deps-test "
                    "installs it: scripts/deps.sh test)");
            die("redis-server exited at start-up (see its redis.log)");
        }
        usleep(25000);
    }
    die("redis-server did not answer within 5 s");
}

void tu_redis_start_password(tu_redis *r, const char *password)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->password, sizeof(r->password), "%s", password);
    snprintf(r->dir, sizeof(r->dir), "/tmp/vbredis-XXXXXX");
    if (mkdtemp(r->dir) == NULL)
        die("mkdtemp");
    r->port = free_port();
    snprintf(r->url, sizeof(r->url), "redis://:%s@127.0.0.1:%d", password,
             r->port);
    tu_redis_start_again(r);
}

void tu_redis_start(tu_redis *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/vbredis-XXXXXX");
    if (mkdtemp(r->dir) == NULL)
        die("mkdtemp");
    r->port = free_port();
    snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d", r->port);
    tu_redis_start_again(r);
}

void tu_redis_kill(tu_redis *r)
{
    if (r->pid <= 0)
        return;
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    r->pid = 0;
}

void tu_redis_stop(tu_redis *r)
{
    tu_redis_kill(r);
    char log[96];
    snprintf(log, sizeof(log), "%s/redis.log", r->dir);
    unlink(log);
    rmdir(r->dir);
}

void tu_nginx_start(tu_nginx *n, const int *upstream_ports, int count)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->dir, sizeof(n->dir), "/tmp/vbnginx-XXXXXX");
    if (mkdtemp(n->dir) == NULL)
        die("mkdtemp");
    n->port = free_port();
    n->tls_port = free_port();
    n->redirect_port = free_port();
    char cmd[512];
    int len = snprintf(cmd, sizeof(cmd), "tests/lib/nginx.sh start %s %d %d %d",
                       n->dir, n->port, n->tls_port, n->redirect_port);
    for (int i = 0; i < count && len < (int)sizeof(cmd) - 8; i++)
        len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " %d",
                        upstream_ports[i]);
    int status = system(cmd);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        die("nginx is not installed (make deps-test installs it: "
            "scripts/deps.sh test)");
    if (status != 0)
        die("nginx did not start (tests/lib/nginx.sh said why above)");
    n->via.port = n->port;
}

void tu_nginx_stop(tu_nginx *n)
{
    if (n->dir[0] == '\0')
        return;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "tests/lib/nginx.sh stop %s", n->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "nginx in %s did not stop\n", n->dir);
    n->dir[0] = '\0';
}

void tu_server_start(tu_server *srv, const char *const *extra_flags)
{
    memset(srv, 0, sizeof(*srv));
    snprintf(srv->dir, sizeof(srv->dir), "/tmp/vbtest-XXXXXX");
    if (mkdtemp(srv->dir) == NULL)
        die("mkdtemp");
    tu_db_url(srv->dir, srv->db, sizeof(srv->db));
    start_in_dir(srv, extra_flags);
}

void tu_server_restart(tu_server *srv, const char *const *extra_flags)
{
    if (srv->pid > 0 && tu_server_stop(srv) != 0)
        die("the server did not stop cleanly");
    start_in_dir(srv, extra_flags);
}

int tu_server_nofile;
int tu_server_unhealthy;

static void start_in_dir(tu_server *srv, const char *const *extra_flags)
{
    snprintf(srv->log_path, sizeof(srv->log_path), "%s/server.log", srv->dir);
    srv->port = free_port();
    const char *bin = getenv("VERBATIM_BIN");
    if (bin == NULL)
        bin = "build/asan/verbatim";
    char port[16];
    snprintf(port, sizeof(port), "%d", srv->port);
    if (srv->db[0] == '\0')
        tu_db_url(srv->dir, srv->db, sizeof(srv->db));
    /* No refusal by load (it depends on this machine's speed: several
     * ASan-built sessions at once can come near it); test_overload turns
     * it on, a flag given later winning. */
    const char *argv[32] = {bin, "serve", "--port", port, "--db", srv->db,
                            "--workers", "2", "--max-load", "0"};
    int argc = 10;
    for (int i = 0; extra_flags && extra_flags[i] && argc < 30; i++)
        argv[argc++] = extra_flags[i];
    argv[argc] = NULL;
    srv->pid = fork();
    if (srv->pid < 0)
        die("fork");
    if (srv->pid == 0) {
        if (tu_server_nofile > 0) {
            struct rlimit rl = {(rlim_t)tu_server_nofile, (rlim_t)tu_server_nofile};
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        int fd = open(srv->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) {
        char *body = NULL;
        int status = tu_http(srv, "GET", "/api/health", NULL, &body);
        free(body);
        if (status == 200 || (status == 503 && tu_server_unhealthy))
            return;
        int wstatus;
        if (waitpid(srv->pid, &wstatus, WNOHANG) == srv->pid) {
            tu_server_dump_log(srv);
            die("the server exited at start-up");
        }
        usleep(50000);
    }
    tu_server_dump_log(srv);
    die("the server did not answer /api/health within 30 s");
}

void tu_server_dump_log(const tu_server *srv)
{
    FILE *f = fopen(srv->log_path, "r");
    if (f == NULL)
        return;
    char line[1024];
    fprintf(stderr, "---- server log (%s) ----\n", srv->log_path);
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}

int tu_server_stop(tu_server *srv)
{
    if (srv->pid <= 0)
        return -1;
    kill(srv->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1200; i++) {
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
            srv->pid = 0;
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
            if (code != 0)
                tu_server_dump_log(srv);
            return code;
        }
        usleep(50000);
    }
    kill(srv->pid, SIGKILL);
    waitpid(srv->pid, &status, 0);
    srv->pid = 0;
    tu_server_dump_log(srv);
    return 124;
}

int tu_http_full(const tu_server *srv, const char *method, const char *path,
                 const char *req_headers, const char *body, char **response,
                 char **headers)
{
    char url[1200], err[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv->port, path);
    http_result res;
    *response = NULL;
    if (headers)
        *headers = NULL;
    if (http_fetch(url, method, "application/json", req_headers, body,
                   body ? strlen(body) : 0, &res, err, sizeof(err)) != 0)
        return -1;
    *response = res.body;
    if (headers)
        *headers = res.headers;
    else
        free(res.headers);
    return res.status;
}

int tu_http(const tu_server *srv, const char *method, const char *path,
            const char *body, char **response)
{
    return tu_http_full(srv, method, path, NULL, body, response, NULL);
}

int tu_raw_http(const tu_server *srv, const tu_piece *pieces, int count,
                char **reply)
{
    *reply = calloc(1, 1);
    char port[16], err[256];
    snprintf(port, sizeof(port), "%d", srv->port);
    int fd = net_dial("127.0.0.1", port, err, sizeof(err));
    if (fd < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        if (i > 0)
            nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
        size_t n = pieces[i].len ? pieces[i].len : strlen(pieces[i].data);
        if (net_send_all(fd, pieces[i].data, n) != 0)
            break; /* the server has answered and closed, say */
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t len = 0;
    int closed = 0;
    for (;;) {
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            closed = n == 0;
            break;
        }
        char *grown = realloc(*reply, len + (size_t)n + 1);
        if (grown == NULL)
            break;
        *reply = grown;
        memcpy(*reply + len, buf, (size_t)n);
        len += (size_t)n;
        (*reply)[len] = '\0';
    }
    close(fd);
    return closed;
}

void tu_openapi_request(const char *templ, const char *op, char *path,
                        size_t path_len, char method[8])
{
    size_t n = 0;
    for (const char *p = templ; *p && n + 2 < path_len; p++) {
        if (*p == '{') {
            path[n++] = '1';
            p = strchr(p, '}');
            if (p == NULL)
                break;
        } else {
            path[n++] = *p;
        }
    }
    path[n] = '\0';
    size_t k = 0;
    for (; op[k] && k + 1 < 8; k++)
        method[k] = (char)toupper((unsigned char)op[k]);
    method[k] = '\0';
}

long long tu_create(const tu_server *srv, const char *title)
{
    char body[512], *resp;
    snprintf(body, sizeof(body), "{\"title\": \"%s\"}", title);
    if (tu_http(srv, "POST", "/api/transcriptions/", body, &resp) != 200)
        die("cannot create a transcription");
    cJSON *json = cJSON_Parse(resp);
    long long id = (long long)cJSON_GetNumberValue(
        cJSON_GetObjectItemCaseSensitive(json, "id"));
    cJSON_Delete(json);
    free(resp);
    return id;
}

wsclient *tu_ws(const tu_server *srv, const char *path)
{
    char url[1200], err[256];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", srv->port, path);
    wsclient *ws = NULL;
    if (wsclient_connect(url, &ws, err, sizeof(err)) != 0) {
        fprintf(stderr, "connect %s: %s\n", url, err);
        return NULL;
    }
    return ws;
}

int tu_ws_collect(wsclient *ws, int timeout_ms, tu_msg **msgs, int *close_code)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int count = 0, cap = 64;
    *msgs = calloc((size_t)cap, sizeof(tu_msg));
    *close_code = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long elapsed = (t.tv_sec - t0.tv_sec) * 1000 +
                       (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (elapsed >= timeout_ms)
            break;
        int op;
        char *data;
        size_t len;
        int r = wsclient_recv(ws, (int)(timeout_ms - elapsed), &op, &data, &len);
        if (r <= 0) {
            if (r < 0)
                *close_code = wsclient_close_code(ws) ? wsclient_close_code(ws)
                                                      : 1006;
            break;
        }
        if (op == WS_CLOSE) {
            *close_code = wsclient_close_code(ws);
            free(data);
            break;
        }
        if (count == cap) {
            cap *= 2;
            *msgs = realloc(*msgs, (size_t)cap * sizeof(tu_msg));
        }
        (*msgs)[count].opcode = op;
        (*msgs)[count].text = data;
        count++;
    }
    return count;
}

void tu_msgs_free(tu_msg *msgs, int count)
{
    for (int i = 0; i < count; i++)
        free(msgs[i].text);
    free(msgs);
}

void tu_ws_send_pcm(wsclient *ws, const int16_t *pcm, size_t count, int chunk_ms)
{
    size_t chunk = (size_t)(16 * chunk_ms);
    for (size_t pos = 0; pos < count; pos += chunk) {
        size_t n = count - pos < chunk ? count - pos : chunk;
        if (wsclient_send(ws, WS_BINARY, pcm + pos, n * sizeof(int16_t)) != 0)
            return;
    }
}

int16_t *tu_read_wav(const char *path, size_t *count, int *rate, int *channels)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)size);
    if (fread(data, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(data);
        return NULL;
    }
    fclose(f);
    long pos = 12;
    int16_t *out = NULL;
    *count = 0;
    while (pos + 8 <= size) {
        unsigned len = data[pos + 4] | data[pos + 5] << 8 | data[pos + 6] << 16 |
                       (unsigned)data[pos + 7] << 24;
        if (memcmp(data + pos, "fmt ", 4) == 0) {
            *channels = data[pos + 10] | data[pos + 11] << 8;
            *rate = (int)(data[pos + 12] | data[pos + 13] << 8 |
                          data[pos + 14] << 16);
        } else if (memcmp(data + pos, "data", 4) == 0) {
            if (len > size - pos - 8)
                len = (unsigned)(size - pos - 8);
            out = malloc(len + 2);
            memcpy(out, data + pos + 8, len);
            *count = len / 2;
            break;
        }
        pos += 8 + len + (len & 1);
    }
    free(data);
    return out;
}

int16_t *tu_flite(const char *voice, const char *text, size_t *count)
{
    char path[] = "/tmp/vbflite-XXXXXX.wav";
    int fd = mkstemps(path, 4);
    if (fd < 0)
        return NULL;
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("flite", "flite", "-voice", voice, "-t", text, "-o", path,
               (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    int rate = 0, channels = 0;
    int16_t *pcm = WIFEXITED(status) && WEXITSTATUS(status) == 0
                       ? tu_read_wav(path, count, &rate, &channels) : NULL;
    unlink(path);
    if (pcm && (rate != 16000 || channels != 1)) {
        fprintf(stderr, "flite voice %s gave %d Hz x %d\n", voice, rate, channels);
        free(pcm);
        return NULL;
    }
    return pcm;
}

void tu_append(int16_t **buf, size_t *len, const int16_t *src, size_t n,
               int silence_ms)
{
    size_t silence = (size_t)silence_ms * 16;
    *buf = realloc(*buf, (*len + n + silence) * sizeof(int16_t));
    if (n)
        memcpy(*buf + *len, src, n * sizeof(int16_t));
    memset(*buf + *len + n, 0, silence * sizeof(int16_t));
    *len += n + silence;
}

const char *tu_msg_type(const char *json, char *buf, size_t len)
{
    cJSON *msg = cJSON_Parse(json);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    snprintf(buf, len, "%s", cJSON_IsString(type) ? type->valuestring : "");
    cJSON_Delete(msg);
    return buf;
}

int16_t *tu_padded_speech(const char *text, int lead_ms, int tail_ms,
                          size_t *count)
{
    size_t n;
    int16_t *pcm = tu_flite("slt", text, &n);
    if (pcm == NULL)
        return NULL;
    int16_t *all = NULL;
    *count = 0;
    tu_append(&all, count, NULL, 0, lead_ms);
    tu_append(&all, count, pcm, n, tail_ms);
    free(pcm);
    return all;
}

uint8_t *tu_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("VB_FIXTURES");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "build/fixtures", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "missing fixture %s: run tests/fixtures/make.sh\n", path);
        abort();
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *data = malloc(cap);
    while (data != NULL) {
        n += fread(data + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *grown = realloc(data, cap *= 2);
        if (grown == NULL)
            free(data);
        data = grown;
    }
    fclose(f);
    if (data == NULL)
        die("out of memory");
    *len = n;
    return data;
}

static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int open, running;
} gate_ = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void gate(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gate_.lock);
    gate_.running = 1;
    pthread_cond_broadcast(&gate_.changed);
    while (!gate_.open)
        pthread_cond_wait(&gate_.changed, &gate_.lock);
    pthread_mutex_unlock(&gate_.lock);
}

void tu_hold_worker(pool_t *pool)
{
    pthread_mutex_lock(&gate_.lock);
    gate_.open = 0;
    gate_.running = 0;
    pthread_mutex_unlock(&gate_.lock);
    if (pool_submit(pool, gate, NULL) != 0)
        die("cannot submit the gate task");
    pthread_mutex_lock(&gate_.lock);
    while (!gate_.running)
        pthread_cond_wait(&gate_.changed, &gate_.lock);
    pthread_mutex_unlock(&gate_.lock);
}

void tu_open_gate(void)
{
    pthread_mutex_lock(&gate_.lock);
    gate_.open = 1;
    pthread_cond_broadcast(&gate_.changed);
    pthread_mutex_unlock(&gate_.lock);
}

/* VB_TEST=PATTERN runs only the tests whose names match (cmocka's
 * wildcards), e.g. VB_TEST='test_watch*' build/asan/test_live. */
__attribute__((constructor)) static void tu_filter_from_env(void)
{
    const char *pattern = getenv("VB_TEST");
    if (pattern != NULL && *pattern != '\0')
        cmocka_set_test_filter(pattern);
}

int tu_connect(const tu_server *srv, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(srv->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect");
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

int tu_collect(wsclient *ws, int timeout_ms, tu_seen *s)
{
    tu_msg *msgs;
    int close_code;
    int count = tu_ws_collect(ws, timeout_ms, &msgs, &close_code);
    for (int i = 0; i < count; i++) {
        cJSON *m = cJSON_Parse(msgs[i].text);
        assert_non_null(m);
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(m, "type"));
        const cJSON *p = cJSON_GetObjectItem(m, "payload");
        assert_non_null(type);
        if (strcmp(type, "error") == 0) {
            s->errors++;
            snprintf(s->last_error, sizeof(s->last_error), "%s",
                     cJSON_GetStringValue(p));
        } else if (strcmp(type, "status") == 0) {
            s->statuses++;
            const char *token = cJSON_GetStringValue(
                cJSON_GetObjectItem(m, "resume_token"));
            snprintf(s->token, sizeof(s->token), "%s", token ? token : "");
            s->time_offset = cJSON_GetNumberValue(
                cJSON_GetObjectItem(m, "time_offset"));
        } else if (strcmp(type, "transcript_segment") == 0) {
            if (!cJSON_IsTrue(cJSON_GetObjectItem(p, "is_final"))) {
                s->interims++;
            } else if (s->finals < 16) {
                const cJSON *id = cJSON_GetObjectItem(p, "id");
                s->ids[s->finals] = cJSON_IsNumber(id) ? (long long)id->valuedouble
                                                       : 0;
                snprintf(s->texts[s->finals++], sizeof(s->texts[0]), "%s",
                         cJSON_GetStringValue(cJSON_GetObjectItem(p, "text")));
            }
        }
        cJSON_Delete(m);
    }
    tu_msgs_free(msgs, count);
    return close_code;
}
