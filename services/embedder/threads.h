/* threads — how many compute threads the embedder may run, and runtimes that
 * do not spin.
 *
 * The forward pass runs on OpenBLAS (its own pthread pool for large products)
 * and OpenMP (libgomp, column blocks of a short post's products). Both pools
 * busy-wait by default after each job (OpenBLAS: up to 2^28 cycles, about
 * 0.1 s; libgomp: 300,000 spins), so more threads than the CPUs the process
 * may use — or any spinning at all next to librdkafka's threads and a CFS
 * quota — turns into preemption and throttling, which is what ruins the tail.
 *
 * The decision (threads_decide) is pure and takes what the system says as
 * numbers; threads_probe() reads them (affinity mask, cgroup v2 cpu.max or
 * v1 cpu.cfs_quota_us / cpu.cfs_period_us), and threads_runtime_env() makes
 * sure the runtimes were loaded with threads that sleep when idle.
 */
#ifndef SENSORY_EMBEDDER_THREADS_H
#define SENSORY_EMBEDDER_THREADS_H

#include <stddef.h>
#include <stdint.h>

/* What the process may use. */
typedef struct threads_limits {
  int cores;         /* CPUs in the affinity mask (sched_getaffinity) */
  int64_t quota_us;  /* CFS quota per period; <= 0: no quota */
  int64_t period_us; /* CFS period; <= 0: no quota */
  char source[512];  /* the cgroup file the quota came from, "" when none */
} threads_limits_t;

typedef struct threads_decision {
  int threads; /* BLAS/OpenMP threads to run */
  int allowed; /* min(cores, quota rounded down, at least 1) */
  int clamped; /* 1: the setting asked for more than allowed */
} threads_decision_t;

/* The thread count for a setting (0: automatic) given cores CPUs in the
 * affinity mask (< 1 counts as 1) and a CFS quota of quota_us per period_us
 * (either <= 0: none): allowed = min(cores, floor(quota / period)), at least
 * 1; automatic takes allowed, an explicit setting is clamped to it. Rounding
 * down: two threads busy under a 1.5-CPU quota are throttled for a quarter of
 * every period, which costs a post more than the half core left unused. */
threads_decision_t threads_decide(int cores, int64_t quota_us, int64_t period_us, int64_t setting);

/* Parses cgroup v2 cpu.max ("max 100000", "200000 100000"; a lone "max" is
 * accepted). quota_us is -1 for "max". Returns 0, or -1 when text is not in
 * that format. */
int threads_parse_cpu_max(const char *text, int64_t *quota_us, int64_t *period_us);

/* Parses cgroup v1 cpu.cfs_quota_us ("-1" = none) and cpu.cfs_period_us
 * (whole files, trailing newline allowed). Returns 0, or -1 when either is
 * not a number or the period is not positive. */
int threads_parse_cfs(const char *quota_text, const char *period_text, int64_t *quota_us,
                      int64_t *period_us);

/* Reads the limits of the calling process: cores from sched_getaffinity, the
 * quota from cgroup v2 (the process's cgroup from /proc/self/cgroup and its
 * ancestors, the tightest wins) or else v1 (the cpu controller's cgroup, or
 * the mount's root as a container sees it). root prefixes every path ("" or
 * NULL: the real system; tests pass a directory holding a fake proc/ and
 * sys/fs/cgroup/). No quota found is not an error (quota_us = -1). Returns 0;
 * -1 with errstr only when a cgroup file exists but cannot be parsed. */
int threads_probe(const char *root, threads_limits_t *out, char *errstr, size_t errstr_size);

/* Makes sure libgomp and OpenBLAS, which read their environment when they
 * are loaded (before main), run with threads that sleep when idle:
 * OMP_WAIT_POLICY=passive (unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set),
 * OPENBLAS_THREAD_TIMEOUT=4 (the shortest OpenBLAS allows, unless set) and
 * OPENBLAS_NUM_THREADS=pool (the pool OpenBLAS creates at load, unless set;
 * pool < 1 leaves it). When any of them had to be set, re-executes
 * /proc/self/exe with argv (same pid, nothing opened yet) and does not
 * return; returns 0 when the environment already says so (the variables the
 * runtimes saw), -1 with errstr when the exec failed (the process goes on
 * with spinning runtimes). Call first thing in main, before anything opens a
 * file or starts a thread. */
int threads_runtime_env(char **argv, int pool, char *errstr, size_t errstr_size);

#endif
