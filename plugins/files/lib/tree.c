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
