/*
 * serve.c - `verbatim serve`: flags and VERBATIM_* environment variables
 * into a server_config, then server_run().  A flag beats the environment,
 * which beats the default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/server.h"
#include "../util/log.h"
#include "cli.h"

static void usage(FILE *to, const server_config *d)
{
    fprintf(to,
            "usage: verbatim serve [options]\n"
            "\n"
            "Runs the transcription server: the REST API under /api/ and live\n"
            "transcription on the WebSocket /ws/transcribe/{id}.\n"
            "\n"
            "  --host ADDR         address to listen on (default %s;\n"
            "                      0.0.0.0 for every interface)      VERBATIM_HOST\n"
            "  --port N            TCP port (default %d)               VERBATIM_PORT\n"
            "  --db PATH|URL       SQLite database file, created if missing\n"
            "                      (default %s), or a PostgreSQL\n"
            "                      URL postgresql://USER@HOST/DB     VERBATIM_DB\n"
            "  --bus URL           where watchers' live messages travel: memory\n"
            "                      (default; within this process) or\n"
            "                      redis://[:PASSWORD@]HOST:PORT, shared by\n"
            "                      several instances              VERBATIM_BUS\n"
            "  --workers N         decoder threads shared by all sessions\n"
            "                      (default: one per core it may run on, %d;\n"
            "                      more cost more than they add)  VERBATIM_WORKERS\n"
            "  --max-sessions N    live transcription sockets at once; more are\n"
            "                      refused with close code 1013 (default %d)\n"
            "                                                    VERBATIM_MAX_SESSIONS\n"
            "  --max-lag-ms N      refuse new sessions (1013, uploads 503) while\n"
            "                      the decoders are more than N ms behind, so\n"
            "                      that open ones keep up; 0: never (default %d)\n"
            "                                                    VERBATIM_MAX_LAG_MS\n"
            "  --max-load PCT      ... and while one more stream sending audio in\n"
            "                      real time would take the decoders past PCT %%\n"
            "                      of their time, at what a second of audio has\n"
            "                      cost them over the last seconds; 0: never\n"
            "                      (default %d)                  VERBATIM_MAX_LOAD\n"
            "  --max-watchers N    /ws/watch sockets at once; more are refused\n"
            "                      with close code 1013 (default %d)\n"
            "                                                    VERBATIM_MAX_WATCHERS\n"
            "  --ws-queue-kb N     what may wait for a WebSocket client to read\n"
            "                      it; a client further behind is closed with\n"
            "                      1008 (default %zu)         VERBATIM_WS_QUEUE_KB\n"
            "  --http-queue-mb N   HTTP answers that may wait, in all, for their\n"
            "                      clients to read them; past it requests get\n"
            "                      503 (default %zu)          VERBATIM_HTTP_QUEUE_MB\n"
            "  --keep-audio on|off keep what sessions and uploads hear (Opus,\n"
            "                      about 1 MB per 10 minutes) for playback,\n"
            "                      where the transcription does (default on)\n"
            "                                                    VERBATIM_KEEP_AUDIO\n"
            "  --dg-store BOOL     keep each Deepgram /v1/listen stream or\n"
            "                      request as a transcription (true, default)\n"
            "                      or delete it once answered (false)\n"
            "                                                    VERBATIM_DG_STORE\n"
            "  --rate-limit N      at most N requests and handshakes a minute\n"
            "                      from one client address, then 429 with\n"
            "                      Retry-After; 0: none (default %d)\n"
            "                                                    VERBATIM_RATE_LIMIT\n"
            "  --max-frame BYTES   largest WebSocket message; larger ones close\n"
            "                      the socket with 1009 (default %zu)  VERBATIM_MAX_FRAME\n"
            "  --max-upload-mb N   largest recording POSTed to .../audio; larger\n"
            "                      ones get 413 (default %zu)  VERBATIM_MAX_UPLOAD_MB\n"
            "  --upload-parts N    the most parts of one recording decoded at once\n"
            "                      (it is split at pauses); 0: one per worker no\n"
            "                      live stream needs (default)  VERBATIM_UPLOAD_PARTS\n"
            "  --idle-timeout S    close a live socket that sent nothing (no audio,\n"
            "                      no KeepAlive) for S seconds, with 1008; 0: never\n"
            "                      (default %d)                  VERBATIM_IDLE_TIMEOUT\n"
            "  --cors-origins LIST comma-separated origins of other web pages\n"
            "                      allowed to call the API from a browser, or *\n"
            "                      (default: none; the server's own pages always\n"
            "                      may)                        VERBATIM_CORS_ORIGINS\n"
            "  --auth MODE         required: every request but /api/health needs\n"
            "                      an API key (verbatim keys); off: none does.\n"
            "                      Default: off on a loopback address, else\n"
            "                      required                       VERBATIM_AUTH\n"
            "  --allowed-hosts LIST comma-separated host names the server answers\n"
            "                      for beside its own addresses and localhost\n"
            "                      (a proxy's public name), or *; other Host\n"
            "                      headers get 421         VERBATIM_ALLOWED_HOSTS\n"
            "  --trusted-proxy LIST comma-separated IP addresses of proxies (nginx)\n"
            "                      whose X-Forwarded-For (the client's address,\n"
            "                      for --rate-limit and the log) and\n"
            "                      X-Forwarded-Proto (https: Secure cookies) are\n"
            "                      believed; from others they are ignored\n"
            "                      (default: none)        VERBATIM_TRUSTED_PROXY\n"
            "  --engine NAME       the recogniser: %s (default %s)\n"
            "                                                    VERBATIM_ENGINE\n"
            "  --engine-option KEY=VALUE\n"
            "                      one of the engine's own settings; repeatable,\n"
            "                      and it wins over the flags below, which set\n"
            "                      PocketSphinx's options model-dir, profile,\n"
            "                      spare-decoders and release-decoders-after\n"
            "                      (it also takes hmm, lm and dict: files kept\n"
            "                      outside the model folder)\n"
            "  --callback-hosts LIST\n"
            "                      comma-separated hosts (or *) that POST\n"
            "                      /v1/listen?callback=http://HOST/... may send\n"
            "                      its answer to (default: none; callbacks are\n"
            "                      refused)                VERBATIM_CALLBACK_HOSTS\n"
            "  --engine-fallback NAME\n"
            "                      a second engine, loaded beside the first: a\n"
            "                      session may ask for it (engine=NAME), and a\n"
            "                      deepgram session whose service stays down\n"
            "                      goes on with it (default none)\n"
            "                                            VERBATIM_ENGINE_FALLBACK\n"
            "  --deepgram-key KEY  the deepgram engine's API key (prefer the\n"
            "                      variable: a flag shows in ps) DEEPGRAM_API_KEY\n"
            "  --deepgram-url URL  the deepgram engine's live endpoint: Deepgram's\n"
            "                      (default wss://api.deepgram.com/v1/listen) or\n"
            "                      any compatible one, such as another Verbatim's\n"
            "                      ws://HOST:PORT/v1/listen  VERBATIM_DEEPGRAM_URL\n"
            "  --model-dir DIR     PocketSphinx model folder (default\n"
            "                      /usr/share/pocketsphinx/model/en-us)\n"
            "                                                    VERBATIM_MODEL_DIR\n"
            "  --profile NAME      accurate (default): two search passes; fast: one,\n"
            "                      less work and quicker finals, a few points of\n"
            "                      word error rate worse        VERBATIM_PROFILE\n"
            "  --spare-decoders N  recognisers kept built ahead of demand, so that\n"
            "                      a new speaker never waits the ~0.4 s it takes\n"
            "                      to build one; each costs ~75 MB (default 0)\n"
            "                                                    VERBATIM_SPARE_DECODERS\n"
            "  --start-decoders N  recognisers built at start-up, for the first\n"
            "                      people (after a restart, all reconnect at\n"
            "                      once); freed like others when left unused\n"
            "                      (default 4 per worker)\n"
            "                                                    VERBATIM_START_DECODERS\n"
            "  --release-decoders-after S\n"
            "                      free a recogniser left unused for S seconds\n"
            "                      (the spare ones and one ready stay), giving\n"
            "                      its memory back; 0: never (default 300)\n"
            "                                           VERBATIM_RELEASE_DECODERS_AFTER\n"
            "  --web-dir DIR       the browser app's files (default: web/ beside\n"
            "                      the program's folder)        VERBATIM_WEB_DIR\n"
            "  --log-level LEVEL   debug, info, warn or error (default info)\n"
            "                                                    VERBATIM_LOG_LEVEL\n"
            "  --help              this text\n",
            d->host, d->port, d->db, d->workers, d->max_sessions, d->max_lag_ms,
            d->max_load, d->max_watchers, d->ws_queue >> 10,
            d->http_queue >> 20, d->rate_limit,
            d->max_frame,
            d->max_upload >> 20, d->idle_timeout, asr_engine_names(),
            ASR_DEFAULT_ENGINE);
}

struct setting {
    const char *flag, *env;
    const char *value;
};

enum { HOST, PORT, DB, WORKERS, MAX_SESSIONS, MAX_FRAME, CORS, MODEL, LOG,
       WEB, IDLE, SPARE, PROFILE, MAX_UPLOAD, MAX_LAG, RELEASE, MAX_LOAD,
       HOSTS, AUTH, ENGINE, MAX_WATCHERS, WS_QUEUE, RATE_LIMIT, HTTP_QUEUE,
       DG_STORE, DG_KEY, DG_URL, FALLBACK, CALLBACK_HOSTS, KEEP_AUDIO,
       BUS, PROXIES, UPLOAD_PARTS, START, SETTINGS };

/* The flags that are an engine's options: PocketSphinx's, or (only for
 * it: the key's variable is often set for other programs) the deepgram
 * engine's.  The engine checks them. */
static void engine_flags(const struct setting *settings, cli_engine *engine)
{
    static const struct { int setting, deepgram; const char *key; } flags[] = {
        {MODEL, 0, "model-dir"}, {PROFILE, 0, "profile"},
        {SPARE, 0, "spare-decoders"}, {START, 0, "start-decoders"},
        {RELEASE, 0, "release-decoders-after"},
        {DG_KEY, 1, "key"}, {DG_URL, 1, "url"},
    };
    int deepgram = engine->name && strcmp(engine->name, "deepgram") == 0;
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
        if (settings[flags[k].setting].value && flags[k].deepgram == deepgram)
            cli_engine_flag(engine, flags[k].key,
                            settings[flags[k].setting].value);
}

/* The flags and environment into cfg and engine; returns the exit code,
 * or -1 to go on serving. */
static int parse(int argc, char **argv, server_config *cfg, cli_engine *engine,
                 cli_engine *fallback)
{
    struct setting settings[SETTINGS] = {
        [HOST] = {"--host", "VERBATIM_HOST", NULL},
        [PORT] = {"--port", "VERBATIM_PORT", NULL},
        [DB] = {"--db", "VERBATIM_DB", NULL},
        [WORKERS] = {"--workers", "VERBATIM_WORKERS", NULL},
        [MAX_SESSIONS] = {"--max-sessions", "VERBATIM_MAX_SESSIONS", NULL},
        [MAX_FRAME] = {"--max-frame", "VERBATIM_MAX_FRAME", NULL},
        [CORS] = {"--cors-origins", "VERBATIM_CORS_ORIGINS", NULL},
        [MODEL] = {"--model-dir", "VERBATIM_MODEL_DIR", NULL},
        [LOG] = {"--log-level", "VERBATIM_LOG_LEVEL", NULL},
        [WEB] = {"--web-dir", "VERBATIM_WEB_DIR", NULL},
        [IDLE] = {"--idle-timeout", "VERBATIM_IDLE_TIMEOUT", NULL},
        [SPARE] = {"--spare-decoders", "VERBATIM_SPARE_DECODERS", NULL},
        [START] = {"--start-decoders", "VERBATIM_START_DECODERS", NULL},
        [PROFILE] = {"--profile", "VERBATIM_PROFILE", NULL},
        [MAX_UPLOAD] = {"--max-upload-mb", "VERBATIM_MAX_UPLOAD_MB", NULL},
        [UPLOAD_PARTS] = {"--upload-parts", "VERBATIM_UPLOAD_PARTS", NULL},
        [MAX_LAG] = {"--max-lag-ms", "VERBATIM_MAX_LAG_MS", NULL},
        [RELEASE] = {"--release-decoders-after",
                     "VERBATIM_RELEASE_DECODERS_AFTER", NULL},
        [MAX_LOAD] = {"--max-load", "VERBATIM_MAX_LOAD", NULL},
        [HOSTS] = {"--allowed-hosts", "VERBATIM_ALLOWED_HOSTS", NULL},
        [AUTH] = {"--auth", "VERBATIM_AUTH", NULL},
        [ENGINE] = {"--engine", "VERBATIM_ENGINE", NULL},
        [MAX_WATCHERS] = {"--max-watchers", "VERBATIM_MAX_WATCHERS", NULL},
        [WS_QUEUE] = {"--ws-queue-kb", "VERBATIM_WS_QUEUE_KB", NULL},
        [RATE_LIMIT] = {"--rate-limit", "VERBATIM_RATE_LIMIT", NULL},
        [HTTP_QUEUE] = {"--http-queue-mb", "VERBATIM_HTTP_QUEUE_MB", NULL},
        [DG_STORE] = {"--dg-store", "VERBATIM_DG_STORE", NULL},
        [DG_KEY] = {"--deepgram-key", "DEEPGRAM_API_KEY", NULL},
        [DG_URL] = {"--deepgram-url", "VERBATIM_DEEPGRAM_URL", NULL},
        [FALLBACK] = {"--engine-fallback", "VERBATIM_ENGINE_FALLBACK", NULL},
        [CALLBACK_HOSTS] = {"--callback-hosts", "VERBATIM_CALLBACK_HOSTS", NULL},
        [KEEP_AUDIO] = {"--keep-audio", "VERBATIM_KEEP_AUDIO", NULL},
        [BUS] = {"--bus", "VERBATIM_BUS", NULL},
        [PROXIES] = {"--trusted-proxy", "VERBATIM_TRUSTED_PROXY", NULL},
    };
    for (int k = 0; k < SETTINGS; k++)
        settings[k].value = getenv(settings[k].env);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, cfg);
            return 0;
        }
        const char *option;
        int matched = cli_flag_value(argc, argv, &i, "--engine-option", &option);
        if (matched > 0) /* repeatable, unlike the settings */
            cli_engine_option(engine, option);
        for (int k = 0; k < SETTINGS && !matched; k++)
            matched = cli_flag_value(argc, argv, &i, settings[k].flag,
                                     &settings[k].value);
        if (matched < 0)
            return 2;
        if (!matched) {
            fprintf(stderr, "verbatim serve: unknown option \"%s\" (see "
                    "--help)\n", argv[i]);
            return 2;
        }
    }
    long v;
    if (settings[HOST].value)
        cfg->host = settings[HOST].value;
    if (settings[DB].value)
        cfg->db = settings[DB].value;
    cfg->bus = settings[BUS].value; /* bus_open() checks it */
    if (settings[CORS].value)
        cfg->cors_origins = settings[CORS].value;
    if (settings[HOSTS].value)
        cfg->allowed_hosts = settings[HOSTS].value;
    if (settings[PROXIES].value)
        cfg->trusted_proxies = settings[PROXIES].value;
    if (settings[AUTH].value) {
        if (strcmp(settings[AUTH].value, "required") == 0) {
            cfg->auth = SERVER_AUTH_REQUIRED;
        } else if (strcmp(settings[AUTH].value, "off") == 0) {
            cfg->auth = SERVER_AUTH_OFF;
        } else {
            fprintf(stderr, "verbatim serve: --auth must be required or off, "
                    "not \"%s\"\n", settings[AUTH].value);
            return 2;
        }
    }
    if (settings[WEB].value)
        cfg->web_dir = settings[WEB].value;
    if (settings[PORT].value) {
        if (cli_int("--port", settings[PORT].value, 1, 65535, &v) != 0)
            return 2;
        cfg->port = (int)v;
    }
    if (settings[WORKERS].value) {
        if (cli_int("--workers", settings[WORKERS].value, 1, 256, &v) != 0)
            return 2;
        cfg->workers = (int)v;
    }
    if (settings[MAX_SESSIONS].value) {
        if (cli_int("--max-sessions", settings[MAX_SESSIONS].value, 1, 100000,
                    &v) != 0)
            return 2;
        cfg->max_sessions = (int)v;
    }
    if (settings[MAX_WATCHERS].value) {
        if (cli_int("--max-watchers", settings[MAX_WATCHERS].value, 1, 100000,
                    &v) != 0)
            return 2;
        cfg->max_watchers = (int)v;
    }
    if (settings[WS_QUEUE].value) {
        if (cli_int("--ws-queue-kb", settings[WS_QUEUE].value, 16, 1024 * 1024,
                    &v) != 0)
            return 2;
        cfg->ws_queue = (size_t)v << 10;
    }
    if (settings[DG_STORE].value) {
        const char *store = settings[DG_STORE].value;
        if (strcmp(store, "true") != 0 && strcmp(store, "false") != 0) {
            fprintf(stderr, "verbatim serve: --dg-store must be true or false, "
                    "not \"%s\"\n", store);
            return 2;
        }
        cfg->dg_store = strcmp(store, "true") == 0;
    }
    if (settings[KEEP_AUDIO].value) {
        const char *keep = settings[KEEP_AUDIO].value;
        if (strcmp(keep, "on") != 0 && strcmp(keep, "off") != 0) {
            fprintf(stderr, "verbatim serve: --keep-audio must be on or off, "
                    "not \"%s\"\n", keep);
            return 2;
        }
        cfg->keep_audio = strcmp(keep, "on") == 0;
    }
    cfg->callback_hosts = settings[CALLBACK_HOSTS].value;
    if (settings[HTTP_QUEUE].value) {
        if (cli_int("--http-queue-mb", settings[HTTP_QUEUE].value, 1, 1024 * 1024,
                    &v) != 0)
            return 2;
        cfg->http_queue = (size_t)v << 20;
    }
    if (settings[RATE_LIMIT].value) {
        if (cli_int("--rate-limit", settings[RATE_LIMIT].value, 0, 1000000,
                    &v) != 0)
            return 2;
        cfg->rate_limit = (int)v;
    }
    if (settings[MAX_FRAME].value) {
        if (cli_int("--max-frame", settings[MAX_FRAME].value, 1024,
                    64L * 1024 * 1024, &v) != 0)
            return 2;
        cfg->max_frame = (size_t)v;
    }
    if (settings[MAX_LAG].value) {
        if (cli_int("--max-lag-ms", settings[MAX_LAG].value, 0, 600000, &v) != 0)
            return 2;
        cfg->max_lag_ms = (int)v;
    }
    if (settings[MAX_LOAD].value) {
        if (cli_int("--max-load", settings[MAX_LOAD].value, 0, 100, &v) != 0)
            return 2;
        cfg->max_load = (int)v;
    }
    if (settings[MAX_UPLOAD].value) {
        if (cli_int("--max-upload-mb", settings[MAX_UPLOAD].value, 1, 65536,
                    &v) != 0)
            return 2;
        cfg->max_upload = (size_t)v << 20;
    }
    if (settings[UPLOAD_PARTS].value) {
        if (cli_int("--upload-parts", settings[UPLOAD_PARTS].value, 0, 64,
                    &v) != 0)
            return 2;
        cfg->upload_parts = (int)v;
    }
    if (settings[IDLE].value) {
        if (cli_int("--idle-timeout", settings[IDLE].value, 0, 86400, &v) != 0)
            return 2;
        cfg->idle_timeout = (int)v;
    }
    engine->name = settings[ENGINE].value;
    engine_flags(settings, engine);
    int rc = cli_engine_ready(engine, "serve");
    if (rc != 0)
        return rc;
    cfg->engine = engine->name;
    cfg->engine_options = cli_engine_options(engine);
    if (settings[FALLBACK].value) {
        fallback->name = settings[FALLBACK].value;
        const char *main_name = engine->name ? engine->name : ASR_DEFAULT_ENGINE;
        if (strcmp(fallback->name, main_name) == 0) {
            fprintf(stderr, "verbatim serve: --engine-fallback must name "
                    "another engine than --engine (%s)\n", main_name);
            return 2;
        }
        engine_flags(settings, fallback);
        rc = cli_engine_ready(fallback, "serve");
        if (rc != 0)
            return rc;
        cfg->engine_fallback = fallback->name;
        cfg->fallback_options = cli_engine_options(fallback);
    }
    if (settings[LOG].value) {
        int level = log_parse_level(settings[LOG].value);
        if (level < 0) {
            fprintf(stderr, "verbatim serve: --log-level must be debug, info, "
                    "warn or error\n");
            return 2;
        }
        log_set_level((enum log_level)level);
    }

    return -1; /* go on */
}

int cli_serve(int argc, char **argv)
{
    server_config cfg = server_default_config();
    cli_engine engine = {0}, fallback = {0};
    int rc = parse(argc, argv, &cfg, &engine, &fallback);
    if (rc < 0) {
        char err[512] = "";
        rc = server_run(&cfg, err, sizeof(err));
        if (rc != 0)
            fprintf(stderr, "verbatim serve: %s\n", err[0] ? err : "cannot start");
        rc = rc != 0 ? 1 : 0;
    }
    cli_engine_free(&engine);
    cli_engine_free(&fallback);
    return rc;
}
