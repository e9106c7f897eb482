/*
 * main.c - `verbatim`: picks the command and runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef VERBATIM_VERSION
#define VERBATIM_VERSION "0.1.0"
#endif

static void usage(FILE *to)
{
    fputs("Verbatim " VERBATIM_VERSION " - real-time speech transcription\n"
          "\n"
          "usage: verbatim COMMAND [options]\n"
          "\n"
          "commands:\n"
          "  serve       run the server (HTTP API and live WebSocket)\n"
          "  stream      send an audio file or stdin to a server, print the "
          "transcript\n"
          "  transcribe  transcribe an audio file here, without a server\n"
          "  bench       measure the recogniser's speed, or load a server with\n"
          "              live streams (see bench/run.sh)\n"
          "  keys        make, list and revoke API keys (serve --auth required)\n"
          "  migrate     copy a database into another (SQLite to PostgreSQL)\n"
          "\n"
          "`verbatim COMMAND --help` explains a command's options.\n", to);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "stream") == 0)
        return cli_stream(argc - 1, argv + 1);
    if (strcmp(cmd, "transcribe") == 0)
        return cli_transcribe(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "keys") == 0)
        return cli_keys(argc - 1, argv + 1);
    if (strcmp(cmd, "migrate") == 0)
        return cli_migrate(argc - 1, argv + 1);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        puts("verbatim " VERBATIM_VERSION);
        return 0;
    }
    fprintf(stderr, "verbatim: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
