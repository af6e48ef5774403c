/*
 * The native runner of a bench/wasm program: calls its run() once and
 * prints the checksum as an unsigned decimal, as the wasm runners do.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

uint32_t run(void);

int main(void)
{
    printf("%" PRIu32 "\n", run());
    return 0;
}
