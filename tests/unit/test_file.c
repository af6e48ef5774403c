/* Unit tests for src/util/file.c: whole-file reads with a bound, atomic
 * writes with an exact mode. */
#include <stdint.h>
#include <sys/stat.h>

#include "test.h"
#include "util/file.h"

static char dir[] = "/tmp/fastn-file-XXXXXX";

TEST(write_then_read)
{
    char path[256];
    uint8_t *data = NULL;
    size_t len = 0;
    struct stat st;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/f", dir);
    umask(077);
    CHECK_ERR(file_write_atomic(path, "hello", 5, 0640), 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK_ERR(file_read_all(path, 5, &data, &len), 0);
    CHECK_EQ(len, 5);
    CHECK_MEM(data, "hello", 5);
    CHECK_EQ(data[5], 0); /* usable as a string */
    free(data);
    data = NULL;
    /* one byte over the bound */
    CHECK_ERR(file_read_all(path, 4, &data, &len), FASTN_ERR_TOO_LARGE);
    CHECK(data == NULL);
    /* a rewrite replaces the whole file and leaves no temporary behind */
    CHECK_ERR(file_write_atomic(path, "hi", 2, 0600), 0);
    CHECK_ERR(file_read_all(path, 100, &data, &len), 0);
    CHECK_EQ(len, 2);
    free(data);
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    CHECK(stat(tmp, &st) != 0);
    /* empty file */
    CHECK_ERR(file_write_atomic(path, "", 0, 0600), 0);
    CHECK_ERR(file_read_all(path, 100, &data, &len), 0);
    CHECK_EQ(len, 0);
    free(data);
    unlink(path);
    rmdir(dir);
}

TEST(read_errors)
{
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_ERR(file_read_all("/nonexistent/fastn-x", 10, &data, &len),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(file_read_all("/tmp", 10, &data, &len), FASTN_ERR_INVAL);
    CHECK(data == NULL);
    CHECK_ERR(file_write_atomic("/nonexistent/dir/x", "a", 1, 0600),
              FASTN_ERR_IO);
}

int main(void)
{
    RUN(write_then_read);
    RUN(read_errors);
    return test_done();
}
