/* web.c - the browser app's files, held in memory (see web.h). */
#include "web.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/vb.h"

#define WEB_MAX_FILES 128
#define WEB_MAX_BYTES (8 * 1024 * 1024)

struct web_files {
    web_file files[WEB_MAX_FILES];
    int count;
};

static const char *type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static int load_file(web_files *w, const char *full, const char *url)
{
    if (w->count == WEB_MAX_FILES) {
        log_warn("web", "more than %d files in the web folder; %s skipped",
                 WEB_MAX_FILES, url);
        return 0;
    }
    FILE *f = fopen(full, "rb");
    if (f == NULL)
        return VB_EIO;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size > WEB_MAX_BYTES) {
        fclose(f);
        return VB_ETOOBIG;
    }
    web_file *file = &w->files[w->count];
    file->data = malloc((size_t)st.st_size + 1);
    if (file->data == NULL) {
        fclose(f);
        return VB_ENOMEM;
    }
    file->len = fread(file->data, 1, (size_t)st.st_size, f);
    fclose(f);
    snprintf(file->path, sizeof(file->path), "%.127s", url);
    file->content_type = type_of(url);
    w->count++;
    return 0;
}

/* Loads dir/sub recursively; url is the path prefix for its files. */
static void load_dir(web_files *w, const char *dir, const char *url)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char full[1024], child[512];
        if (strlen(url) + strlen(e->d_name) + 2 > sizeof(((web_file *)0)->path))
            continue; /* a path too long to serve */
        snprintf(full, sizeof(full), "%s/%s", dir, e->d_name);
        snprintf(child, sizeof(child), "%s/%s", url, e->d_name);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            load_dir(w, full, child);
        else if (S_ISREG(st.st_mode) && load_file(w, full, child) != 0)
            log_warn("web", "cannot load %s", full);
    }
    closedir(d);
}

int web_load(const char *dir, web_files **out)
{
    web_files *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return VB_ENOMEM;
    load_dir(w, dir, "");
    if (w->count == 0)
        log_warn("web", "no web app found in %s; serving the API only", dir);
    *out = w;
    return 0;
}

void web_free(web_files *w)
{
    if (w == NULL)
        return;
    for (int i = 0; i < w->count; i++)
        free(w->files[i].data);
    free(w);
}

static const web_file *find(const web_files *w, const char *path)
{
    for (int i = 0; i < w->count; i++)
        if (strcmp(w->files[i].path, path) == 0)
            return &w->files[i];
    return NULL;
}

const web_file *web_lookup(const web_files *w, const char *path)
{
    if (w == NULL)
        return NULL;
    if (strcmp(path, "/api/docs") == 0 || strcmp(path, "/api/docs/") == 0)
        return find(w, "/docs.html");
    if (strncmp(path, "/api/", 5) == 0 || strstr(path, "..") != NULL)
        return NULL;
    /* Pages of the app: "/" and "/t/<id>". */
    if (strcmp(path, "/") == 0 || strncmp(path, "/t/", 3) == 0)
        return find(w, "/index.html");
    return find(w, path);
}

void web_default_dir(char *out, size_t len)
{
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        /* build/verbatim or build/asan/verbatim: web/ is in the project;
         * PREFIX/bin/verbatim (make install): PREFIX/share/verbatim/web. */
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(exe, '/');
            if (slash == NULL)
                break;
            *slash = '\0';
            static const char *const places[] = {"%s/web", "%s/share/verbatim/web"};
            for (int i = 0; i < 2; i++) {
                snprintf(out, len, places[i], exe);
                struct stat st;
                if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
                    return;
            }
        }
    }
    snprintf(out, len, "web");
}
