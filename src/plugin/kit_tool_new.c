/*
 * `fastn plugin new NAME [--template echo|request-reply|store] [--dir
 * DIR]`: writes a plugin project (C source, Makefile, test, README) from
 * the templates in plugins/templates/, embedded in this program, with
 * the plugin's name put in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plugin/kit_tool.h"
#include "plugin/manifest.h"

struct tmpl {
    const char *name, *summary, *run, *call;
};

static const struct tmpl templates[] = {
    {"echo",
     "It echoes what a peer sends on /@NAME@/1.0.0 and answers the call "
     "`echo ARG`.",
     "--call echo hello", "fastn plugin call @NAME@ echo hello"},
    {"request-reply",
     "A peer sends a request on /@NAME@/1.0.0 and closes its side; it "
     "answers (here: the request upper-cased) and closes. The call `answer "
     "ARG` gives the same answer.",
     "--call answer hello", "fastn plugin call @NAME@ answer hello"},
    {"store",
     "A key-value store in its own database: the calls `put KEY VALUE`, "
     "`get KEY`, `list`; a new key raises a notification.",
     "--call put colour blue --call get colour",
     "fastn plugin call @NAME@ put 'colour blue'"},
};
#define N_TEMPLATES (sizeof(templates) / sizeof(templates[0]))

static const struct kit_file *file_get(const char *path)
{
    for (size_t i = 0; i < kit_n_files; i++)
        if (!strcmp(kit_files[i].path, path))
            return &kit_files[i];
    return NULL;
}

/* Writes src to f with every @KEY@ replaced. */
static void expand(FILE *f, const char *src, size_t len, const char *name,
                   const struct tmpl *t)
{
    const char *keys[][2] = {{"@NAME@", name},
                             {"@TEMPLATE@", t->name},
                             {"@SUMMARY@", t->summary},
                             {"@RUN@", t->run},
                             {"@CALL@", t->call}};
    for (size_t i = 0; i < len;) {
        size_t k, n = sizeof(keys) / sizeof(keys[0]);
        for (k = 0; k < n; k++) {
            size_t kl = strlen(keys[k][0]);
            if (i + kl <= len && !memcmp(src + i, keys[k][0], kl))
                break;
        }
        if (k == n) {
            fputc(src[i++], f);
            continue;
        }
        /* a value may hold @NAME@ itself */
        expand(f, keys[k][1], strlen(keys[k][1]), name, t);
        i += strlen(keys[k][0]);
    }
}

static int write_one(const char *dir, const char *from, const char *to,
                     const char *name, const struct tmpl *t)
{
    const struct kit_file *src = file_get(from);
    char path[4096];
    FILE *f;

    if (!src)
        return kit_error(KIT_EXIT_FAIL,
                         "template file %s is missing from "
                         "this build",
                         from);
    snprintf(path, sizeof(path), "%s/%s", dir, to);
    if (!(f = fopen(path, "wx")))
        return kit_error(KIT_EXIT_FAIL, "cannot write %s: %s", path,
                         strerror(errno));
    expand(f, (const char *)src->data, src->len, name, t);
    if (fclose(f) != 0)
        return kit_error(KIT_EXIT_FAIL, "cannot write %s: %s", path,
                         strerror(errno));
    return 0;
}

/* As the manifest's "name" (src/plugin/manifest.c): [a-z][a-z0-9_-]*, at
 * most PLUGIN_NAME_MAX, not the daemon's own. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PLUGIN_NAME_MAX || !strcmp(s, "fastn") ||
        !strcmp(s, "fastnd") || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

static const struct tmpl *tmpl_find(const char *name)
{
    for (size_t i = 0; i < N_TEMPLATES; i++)
        if (!strcmp(templates[i].name, name))
            return &templates[i];
    return NULL;
}

static int write_project(const char *dir, const char *name,
                         const struct tmpl *t)
{
    char from[96], to[96];
    int rc;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return kit_error(KIT_EXIT_FAIL, "cannot make %s: %s", dir,
                         strerror(errno));
    snprintf(from, sizeof(from), "%s/plugin.c", t->name);
    snprintf(to, sizeof(to), "%s.c", name);
    if ((rc = write_one(dir, from, to, name, t)))
        return rc;
    snprintf(from, sizeof(from), "%s/test.c", t->name);
    snprintf(to, sizeof(to), "test_%s.c", name);
    if ((rc = write_one(dir, from, to, name, t)) ||
        (rc = write_one(dir, "common/Makefile", "Makefile", name, t)) ||
        (rc = write_one(dir, "common/README.md", "README.md", name, t)))
        return rc;
    printf("made %s/ (%s, template %s): cd %s && make && make test\n", dir,
           name, t->name, dir);
    return 0;
}

int kit_new_main(int argc, char **argv)
{
    const char *name = NULL, *dir = NULL, *tname = "echo";
    const struct tmpl *t;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--template") && i + 1 < argc)
            tname = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else
            return kit_error(KIT_EXIT_USAGE,
                             "plugin new: unexpected '%s'; usage: fastn "
                             "plugin new NAME [--template "
                             "echo|request-reply|store] [--dir DIR]",
                             argv[i]);
    }
    if (!name)
        return kit_error(KIT_EXIT_USAGE, "plugin new wants a NAME");
    if (!name_ok(name))
        return kit_error(KIT_EXIT_USAGE,
                         "plugin new: '%s' is not a plugin name: 1 to 32 of "
                         "a-z, 0-9, '-' and '_', starting with a letter",
                         name);
    if (!(t = tmpl_find(tname)))
        return kit_error(KIT_EXIT_USAGE,
                         "plugin new: no template '%s'; there are echo, "
                         "request-reply and store",
                         tname);
    return write_project(dir ? dir : name, name, t);
}
