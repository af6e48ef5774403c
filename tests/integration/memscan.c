/*
 * memscan PID KEYFILE: reads every readable mapping of process PID
 * (/proc/PID/maps, /proc/PID/mem) and looks for any 8 consecutive bytes
 * of the 32-byte seed of the key in KEYFILE. Prints how many bytes it
 * read and where it found a run; exits 0 when none was found, 1 when one
 * was, 2 when it could not read the process (tests/integration/privsep.sh).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity/identity.h"

static int scan(int mem, unsigned long lo, unsigned long hi,
                const uint8_t *seed, size_t *total)
{
    static uint8_t buf[1 << 20];
    int found = 0;

    /* chunks overlap by 7 bytes, so no run is cut in two */
    for (unsigned long at = lo; at < hi;) {
        size_t want = hi - at < sizeof(buf) ? hi - at : sizeof(buf);
        ssize_t n = pread(mem, buf, want, (off_t)at);
        if (n <= 0)
            break;
        *total += (size_t)n;
        for (size_t k = 0; k + 8 <= 32; k++) {
            uint8_t *p = memmem(buf, (size_t)n, seed + k, 8);
            if (p) {
                printf("seed bytes %zu..%zu at %#lx\n", k, k + 7,
                       at + (unsigned long)(p - buf));
                found = 1;
            }
        }
        if ((size_t)n < 8 || at + (unsigned long)n >= hi)
            break;
        at += (unsigned long)n - 7;
    }
    return found;
}

int main(int argc, char **argv)
{
    char path[64], line[512], perms[8];
    struct identity id;
    size_t total = 0;
    unsigned long lo, hi;
    int found = 0, regions = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: memscan PID KEYFILE\n");
        return 2;
    }
    identity_global_init();
    if (identity_load_file(argv[2], &id)) {
        fprintf(stderr, "cannot load %s\n", argv[2]);
        return 2;
    }
    snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
    FILE *maps = fopen(path, "r");
    snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
    int mem = open(path, O_RDONLY);
    if (!maps || mem < 0) {
        perror(path);
        return 2;
    }
    while (fgets(line, sizeof(line), maps)) {
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
            perms[0] != 'r' || strstr(line, "[vvar]") ||
            strstr(line, "[vsyscall]"))
            continue;
        regions++;
        found |= scan(mem, lo, hi, id.seckey, &total);
    }
    fclose(maps);
    close(mem);
    identity_cleanup(&id);
    printf("read %zu bytes in %d regions\n", total, regions);
    return found ? 1 : total > 0 ? 0 : 2;
}
