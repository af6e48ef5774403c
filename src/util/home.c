/* Home folder resolution; see home.h. */
#include "util/home.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastn/err.h"

static int absolute(const char *p, char *out, size_t n)
{
    char cwd[4096];
    int len;

    if (p[0] == '/')
        len = snprintf(out, n, "%s", p);
    else if (getcwd(cwd, sizeof(cwd)))
        len = snprintf(out, n, "%s/%s", cwd, p);
    else
        return FASTN_ERR_NOT_FOUND;
    if (len < 0 || (size_t)len >= n)
        return FASTN_ERR_TOO_LARGE;
    /* "/a/b/" and "/a/b" are one home: drop trailing slashes. */
    while (len > 1 && out[len - 1] == '/')
        out[--len] = '\0';
    return 0;
}

int home_resolve(const char *explicit_home, char *out, size_t n)
{
    const char *env = getenv("FASTN_HOME");
    const char *user_home;
    char tmp[4096];

    if (explicit_home && explicit_home[0])
        return absolute(explicit_home, out, n);
    if (env && env[0])
        return absolute(env, out, n);
    user_home = getenv("HOME");
    if (!user_home || !user_home[0]) {
        struct passwd *pw = getpwuid(getuid());
        user_home = pw ? pw->pw_dir : NULL;
    }
    if (!user_home || !user_home[0])
        return FASTN_ERR_NOT_FOUND;
    if (snprintf(tmp, sizeof(tmp), "%s/.fastn", user_home) >= (int)sizeof(tmp))
        return FASTN_ERR_TOO_LARGE;
    return absolute(tmp, out, n);
}

int home_path(const char *home, const char *name, char *out, size_t n)
{
    int len = snprintf(out, n, "%s/%s", home, name);
    if (len < 0 || (size_t)len >= n)
        return FASTN_ERR_TOO_LARGE;
    return 0;
}
