/*
 * nbody: floating point. The classic five-body (Sun and the four gas
 * giants) simulation in f64 with a symplectic Euler step: multiply-add
 * chains, division and square root, data in a small array of structs.
 * IEEE-754 arithmetic without fused multiply-add gives bit-identical
 * results on every runner, so the checksum covers the exact bits.
 *
 * Freestanding (no libc, no imports); exports run() returning a checksum.
 */
#include <stdint.h>

#ifndef REPS
#define REPS 20
#endif
#define NBODIES 5
#define STEPS_PER_REP 500000

#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24

struct body {
    double x, y, z, vx, vy, vz, mass;
};

static volatile uint32_t reps = REPS;
static volatile uint32_t steps = STEPS_PER_REP;
static struct body bodies[NBODIES];

static const double initial[NBODIES][7] = {
    {0, 0, 0, 0, 0, 0, SOLAR_MASS},
    {4.84143144246472090e+00, -1.16032004402742839e+00,
     -1.03622044471123109e-01, 1.66007664274403694e-03 * DAYS_PER_YEAR,
     7.69901118419740425e-03 * DAYS_PER_YEAR,
     -6.90460016972063023e-05 * DAYS_PER_YEAR,
     9.54791938424326609e-04 * SOLAR_MASS},
    {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
     -2.76742510726862411e-03 * DAYS_PER_YEAR,
     4.99852801234917238e-03 * DAYS_PER_YEAR,
     2.30417297573763929e-05 * DAYS_PER_YEAR,
     2.85885980666130812e-04 * SOLAR_MASS},
    {1.28943695621391310e+01, -1.51111514016986312e+01,
     -2.23307578892655734e-01, 2.96460137564761618e-03 * DAYS_PER_YEAR,
     2.37847173959480950e-03 * DAYS_PER_YEAR,
     -2.96589568540237556e-05 * DAYS_PER_YEAR,
     4.36624404335156298e-05 * SOLAR_MASS},
    {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
     2.68067772490389322e-03 * DAYS_PER_YEAR,
     1.62824170038242295e-03 * DAYS_PER_YEAR,
     -9.51592254519715870e-05 * DAYS_PER_YEAR,
     5.15138902046611451e-05 * SOLAR_MASS}};

/* Loads the initial state and gives the Sun the momentum that makes the
 * system's total zero. */
static void reset(void)
{
    double px = 0, py = 0, pz = 0;
    for (int i = 0; i < NBODIES; i++) {
        struct body *b = &bodies[i];
        b->x = initial[i][0];
        b->y = initial[i][1];
        b->z = initial[i][2];
        b->vx = initial[i][3];
        b->vy = initial[i][4];
        b->vz = initial[i][5];
        b->mass = initial[i][6];
        px += b->vx * b->mass;
        py += b->vy * b->mass;
        pz += b->vz * b->mass;
    }
    bodies[0].vx = -px / SOLAR_MASS;
    bodies[0].vy = -py / SOLAR_MASS;
    bodies[0].vz = -pz / SOLAR_MASS;
}

static void advance(double dt)
{
    for (int i = 0; i < NBODIES; i++) {
        struct body *a = &bodies[i];
        for (int j = i + 1; j < NBODIES; j++) {
            struct body *b = &bodies[j];
            double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = dt / (d2 * __builtin_sqrt(d2));
            a->vx -= dx * b->mass * mag;
            a->vy -= dy * b->mass * mag;
            a->vz -= dz * b->mass * mag;
            b->vx += dx * a->mass * mag;
            b->vy += dy * a->mass * mag;
            b->vz += dz * a->mass * mag;
        }
    }
    for (int i = 0; i < NBODIES; i++) {
        struct body *b = &bodies[i];
        b->x += dt * b->vx;
        b->y += dt * b->vy;
        b->z += dt * b->vz;
    }
}

static double energy(void)
{
    double e = 0;
    for (int i = 0; i < NBODIES; i++) {
        const struct body *a = &bodies[i];
        e += 0.5 * a->mass * (a->vx * a->vx + a->vy * a->vy + a->vz * a->vz);
        for (int j = i + 1; j < NBODIES; j++) {
            const struct body *b = &bodies[j];
            double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
            e -=
                a->mass * b->mass / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

static uint32_t fold_bits(uint32_t sum, double v)
{
    uint64_t bits;
    __builtin_memcpy(&bits, &v, sizeof bits);
    return sum * 31 + (uint32_t)bits + (uint32_t)(bits >> 32);
}

uint32_t run(void)
{
    uint32_t sum = 0;
    uint32_t n = reps;

    for (uint32_t r = 0; r < n; r++) {
        uint32_t s = steps;
        reset();
        /* a slightly different step each repetition */
        double dt = 0.01 + (double)(r % 4) * 1e-4;
        for (uint32_t i = 0; i < s; i++)
            advance(dt);
        sum = fold_bits(sum, energy());
        sum = fold_bits(sum, bodies[1].x);
    }
    return sum;
}
