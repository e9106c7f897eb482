/* flags.c - flag parsing helpers shared by the commands (cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_flag_value(int argc, char **argv, int *i, const char *name,
                   const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "verbatim: %s needs a value\n", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int cli_int(const char *flag, const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || *text == '\0' || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "verbatim: %s must be a whole number from %ld to %ld, "
                "not \"%s\"\n", flag, min, max, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* Appends to a NULL-terminated list grown one at a time (few items). */
static void push(cli_engine *e, char ***list, size_t *count, char *item)
{
    char **grown = item ? realloc(*list, (*count + 2) * sizeof(char *)) : NULL;
    if (grown == NULL) {
        free(item);
        e->oom = 1;
        return;
    }
    grown[(*count)++] = item;
    grown[*count] = NULL;
    *list = grown;
}

void cli_engine_flag(cli_engine *e, const char *key, const char *value)
{
    char *option = NULL;
    if (asprintf(&option, "%s=%s", key, value) < 0)
        option = NULL;
    push(e, &e->from_flags, &e->flag_count, option);
}

void cli_engine_option(cli_engine *e, const char *option)
{
    push(e, &e->given, &e->given_count, strdup(option));
}

int cli_engine_flags(int argc, char **argv, int *i, cli_engine *e)
{
    const char *value;
    int m = cli_flag_value(argc, argv, i, "--engine", &value);
    if (m > 0)
        e->name = value;
    if (m != 0)
        return m;
    m = cli_flag_value(argc, argv, i, "--engine-option", &value);
    if (m > 0)
        cli_engine_option(e, value);
    return m;
}

int cli_engine_ready(cli_engine *e, const char *command)
{
    if (e->name == NULL)
        e->name = getenv("VERBATIM_ENGINE");
    for (size_t k = 0; k < e->flag_count; k++)
        push(e, &e->list, &e->count, strdup(e->from_flags[k]));
    for (size_t k = 0; k < e->given_count; k++)
        push(e, &e->list, &e->count, strdup(e->given[k]));
    if (e->oom) {
        fprintf(stderr, "verbatim %s: out of memory\n", command);
        return 1;
    }
    char err[512];
    if (asr_engine_check(e->name, cli_engine_options(e), err, sizeof(err)) != 0) {
        fprintf(stderr, "verbatim %s: %s\n", command, err);
        return 2;
    }
    return 0;
}

const char *const *cli_engine_options(const cli_engine *e)
{
    return (const char *const *)e->list;
}

static void free_list(char **list, size_t count)
{
    for (size_t k = 0; k < count; k++)
        free(list[k]);
    free(list);
}

void cli_engine_free(cli_engine *e)
{
    free_list(e->from_flags, e->flag_count);
    free_list(e->given, e->given_count);
    free_list(e->list, e->count);
    memset(e, 0, sizeof(*e));
}

int cli_server_url(const char *command, const char *in, char *out, size_t len)
{
    const char *rest = in;
    if (strncmp(in, "ws://", 5) == 0)
        rest = in + 5;
    else if (strncmp(in, "http://", 7) == 0)
        rest = in + 7;
    else if (strncmp(in, "https://", 8) == 0 || strncmp(in, "wss://", 6) == 0) {
        fprintf(stderr, "verbatim %s: --url %s: this client speaks plain "
                "HTTP and ws:// only; give the server's own address (behind "
                "a TLS proxy, the port it listens on)\n", command, in);
        return -1;
    }
    size_t host = strcspn(rest, ":/");
    const char *port = rest + host;
    size_t digits = *port == ':' ? strspn(port + 1, "0123456789") : 0;
    const char *end = port + (digits ? 1 + digits : 0);
    if (host == 0 || strchr(rest, '@') != NULL ||
        (*port == ':' && (digits == 0 || digits > 5)) ||
        (*end != '\0' && *end != '/')) {
        fprintf(stderr, "verbatim %s: --url %s is not a server address; give "
                "HOST:PORT, http://HOST:PORT or ws://HOST:PORT (for example "
                "localhost:8000)\n", command, in);
        return -1;
    }
    if (digits == 0 && rest == in) /* a bare host name: Verbatim's port */
        snprintf(out, len, "ws://%.*s:8000", (int)host, rest);
    else
        snprintf(out, len, "ws://%.*s%s%.*s", (int)host, rest,
                 digits ? ":" : "", (int)digits, port + 1);
    return 0;
}
