/*
 * A tree of folders fed depth-first (files.h, "files_tree"): a stack of
 * open folders, one importer reused for every file. The first error
 * sticks: every later call returns it, and nothing more is written.
 */
#include <stdlib.h>
#include <string.h>

#include "files_int.h"

struct tree_frame {
    struct files_dir *dir;
    uint8_t name[FILES_NAME_MAX];
    size_t name_len;
};

struct files_tree {
    const struct files_profile *prof;
    files_block_cb cb;
    void *ctx;
    struct files_importer *im;
    struct tree_frame *stack;
    size_t depth, cap;
    bool in_file;
    uint8_t file_name[FILES_NAME_MAX];
    size_t file_name_len;
    bool done;
    struct files_entry root;
    int err;
};

int files_tree_new(const struct files_profile *p, files_block_cb cb, void *ctx,
                   struct files_tree **out)
{
    struct files_tree *t;

    if (!p || !cb)
        return FASTN_ERR_INVAL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return FASTN_ERR_NOMEM;
    t->prof = p;
    t->cb = cb;
    t->ctx = ctx;
    *out = t;
    return 0;
}

void files_tree_free(struct files_tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->depth; i++)
        files_dir_free(t->stack[i].dir);
    free(t->stack);
    files_importer_free(t->im);
    free(t);
}

/* May an entry start now, named so? (The root's name is not used.) */
static int entry_check(struct files_tree *t, const char *name, size_t n)
{
    if (t->err)
        return t->err;
    if (t->done || t->in_file)
        return FASTN_ERR_INVAL;
    if (t->depth && !files_name_is_valid((const uint8_t *)name, n))
        return FASTN_ERR_FILES_BAD_NAME;
    return 0;
}

/* Gives a finished entry to the open folder, or makes it the root. */
static int entry_done(struct files_tree *t, const uint8_t *name, size_t n,
                      const struct files_entry *e)
{
    if (t->depth == 0) {
        t->root = *e;
        t->done = true;
        return 0;
    }
    return files_dir_add(t->stack[t->depth - 1].dir, (const char *)name, n, e);
}

int files_tree_dir_begin(struct files_tree *t, const char *name, size_t n)
{
    struct tree_frame *f;
    int err = entry_check(t, name, n);

    if (err)
        return err;
    if (t->depth == FILES_TREE_MAX_DEPTH)
        return t->err = FASTN_ERR_FILES_LIMIT;
    if (t->depth == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        f = realloc(t->stack, cap * sizeof(*f));
        if (!f)
            return t->err = FASTN_ERR_NOMEM;
        t->stack = f;
        t->cap = cap;
    }
    f = &t->stack[t->depth];
    err = files_dir_new(t->prof, t->cb, t->ctx, &f->dir);
    if (err)
        return t->err = err;
    f->name_len = t->depth ? n : 0;
    if (f->name_len)
        memcpy(f->name, name, f->name_len);
    t->depth++;
    return 0;
}

int files_tree_dir_end(struct files_tree *t)
{
    struct files_entry e;
    struct tree_frame *f;
    int err;

    if (t->err)
        return t->err;
    if (t->depth == 0 || t->in_file)
        return FASTN_ERR_INVAL;
    f = &t->stack[t->depth - 1];
    err = files_dir_finish(f->dir, &e);
    files_dir_free(f->dir);
    f->dir = NULL;
    t->depth--;
    if (!err)
        err = entry_done(t, f->name, f->name_len, &e);
    return err ? (t->err = err) : 0;
}

int files_tree_file_begin(struct files_tree *t, const char *name, size_t n)
{
    int err = entry_check(t, name, n);

    if (err)
        return err;
    if (!t->im) {
        err = files_importer_new(t->prof, t->cb, t->ctx, &t->im);
        if (err)
            return t->err = err;
    }
    files_importer_reset(t->im);
    t->file_name_len = t->depth ? n : 0;
    if (t->file_name_len)
        memcpy(t->file_name, name, t->file_name_len);
    t->in_file = true;
    return 0;
}

int files_tree_write(struct files_tree *t, const void *p, size_t n)
{
    int err;

    if (t->err)
        return t->err;
    if (!t->in_file)
        return FASTN_ERR_INVAL;
    err = files_importer_write(t->im, p, n);
    return err ? (t->err = err) : 0;
}

int files_tree_file_end(struct files_tree *t)
{
    struct files_entry e;
    int err;

    if (t->err)
        return t->err;
    if (!t->in_file)
        return FASTN_ERR_INVAL;
    t->in_file = false;
    err = files_importer_finish(t->im, &e);
    if (!err)
        err = entry_done(t, t->file_name, t->file_name_len, &e);
    return err ? (t->err = err) : 0;
}

int files_tree_symlink(struct files_tree *t, const char *name, size_t n,
                       const char *target, size_t tn)
{
    struct files_entry e;
    int err = entry_check(t, name, n);

    if (err)
        return err;
    err = files_symlink_import(t->prof, target, tn, t->cb, t->ctx, &e);
    if (!err)
        err = entry_done(t, (const uint8_t *)name, t->depth ? n : 0, &e);
    return err ? (t->err = err) : 0;
}

int files_tree_root(const struct files_tree *t, struct files_entry *out)
{
    if (t->err)
        return t->err;
    if (!t->done)
        return FASTN_ERR_AGAIN;
    *out = t->root;
    return 0;
}

int files_rec_next(const uint8_t *p, size_t n, size_t *off, struct files_rec *r)
{
    size_t at = *off;
    if (at >= n)
        return 0;
    if (n - at < FILES_REC_HEAD)
        return FASTN_ERR_MALFORMED;
    uint32_t len = (uint32_t)p[at + 1] | (uint32_t)p[at + 2] << 8 |
                   (uint32_t)p[at + 3] << 16 | (uint32_t)p[at + 4] << 24;
    if (len > n - at - FILES_REC_HEAD)
        return FASTN_ERR_MALFORMED;
    r->op = p[at];
    r->p = p + at + FILES_REC_HEAD;
    r->n = len;
    *off = at + FILES_REC_HEAD + len;
    return 1;
}

static int tree_record(struct files_tree *t, const struct files_rec *r)
{
    const uint8_t *nul;

    switch (r->op) {
    case 'D':
        return files_tree_dir_begin(t, (const char *)r->p, r->n);
    case 'E':
        return files_tree_dir_end(t);
    case 'F':
        return files_tree_file_begin(t, (const char *)r->p, r->n);
    case 'W':
        return files_tree_write(t, r->p, r->n);
    case 'C':
        return files_tree_file_end(t);
    case 'L':
        if (!(nul = memchr(r->p, 0, r->n)))
            return FASTN_ERR_MALFORMED;
        return files_tree_symlink(t, (const char *)r->p, (size_t)(nul - r->p),
                                  (const char *)nul + 1,
                                  r->n - (size_t)(nul - r->p) - 1);
    default:
        return FASTN_ERR_MALFORMED;
    }
}

int files_tree_records(struct files_tree *t, const uint8_t *p, size_t n)
{
    struct files_rec r;
    size_t off = 0;
    int err;

    while ((err = files_rec_next(p, n, &off, &r)) == 1)
        if ((err = tree_record(t, &r)))
            return err;
    return err;
}
