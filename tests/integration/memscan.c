/*
 * memscan PID KEYFILE: reads every readable mapping of process PID
 * (/proc/PID/maps, /proc/PID/mem; the pages in memory, /proc/PID/pagemap) and
 * looks for any 8 consecutive bytes of the 32-byte seed of the key in KEYFILE.
 * Prints how many bytes it read and where it found a run; exits 0 when none was
 * found, 1 when one was, 2 when it could not read the process
 * (tests/integration/privsep.sh). Mappings of more than 64 GiB are
 * skipped: only AddressSanitizer's shadow is that large, and it holds no
 * program data.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity/identity.h"

/* The bytes at [lo, hi) when they are in memory (pagemap: present or
 * swapped): pages never touched hold nothing, and reading them would
 * make the kernel map them (AddressSanitizer reserves terabytes). */
static int scan_range(int mem, unsigned long lo, unsigned long hi,
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

/* Each run of resident pages of [lo, hi) (pagemap read 512 pages at a
 * time). */
static int scan(int mem, int pagemap, unsigned long lo, unsigned long hi,
                const uint8_t *seed, size_t *total)
{
    const unsigned long ps = (unsigned long)sysconf(_SC_PAGESIZE);
    uint64_t e[512];
    unsigned long run = 0;
    bool in_run = false;
    int found = 0;

    for (unsigned long a = lo; a < hi;) {
        size_t n = (hi - a) / ps < 512 ? (hi - a) / ps : 512;
        ssize_t got = pread(pagemap, e, n * 8, (off_t)(a / ps * 8));
        size_t k = got > 0 ? (size_t)got / 8 : 0;
        for (size_t i = 0; i < n; i++, a += ps) {
            bool here = i < k && (e[i] & (3ull << 62));
            if (here && !in_run)
                run = a;
            if (!here && in_run)
                found |= scan_range(mem, run, a, seed, total);
            in_run = here;
        }
    }
    if (in_run)
        found |= scan_range(mem, run, hi, seed, total);
    return found;
}

int main(int argc, char **argv)
{
    char path[64], line[512], perms[8];
    struct identity id;
    size_t total = 0;
    unsigned long lo, hi, skipped = 0;
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
    snprintf(path, sizeof(path), "/proc/%s/pagemap", argv[1]);
    int pagemap = open(path, O_RDONLY);
    if (!maps || mem < 0 || pagemap < 0) {
        perror(path);
        return 2;
    }
    while (fgets(line, sizeof(line), maps)) {
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
            perms[0] != 'r' || strstr(line, "[vvar]") ||
            strstr(line, "[vsyscall]"))
            continue;
        if (hi - lo > (64ul << 30)) { /* AddressSanitizer's shadow */
            skipped += hi - lo;
            continue;
        }
        regions++;
        found |= scan(mem, pagemap, lo, hi, id.seckey, &total);
    }
    fclose(maps);
    close(mem);
    close(pagemap);
    identity_cleanup(&id);
    printf("read %zu bytes in %d regions (%lu GiB of shadow skipped)\n", total,
           regions, skipped >> 30);
    return found ? 1 : total > 0 ? 0 : 2;
}
