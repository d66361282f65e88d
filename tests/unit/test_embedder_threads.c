/* embedder threads: the thread-count decision over a table of cgroup v2 / v1
 * file contents, affinity counts and settings ("max", quotas below one core,
 * fractional quotas rounded down, more threads asked than allowed), the
 * parsers' rejections, and the probe over fake /proc and /sys/fs/cgroup trees
 * (nested v2 cgroups, a container's view, v1 under cpu,cpuacct, malformed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "threads.h"

typedef struct row {
  const char *name;
  const char *cpu_max;                /* cgroup v2 cpu.max, or NULL */
  const char *cfs_quota, *cfs_period; /* cgroup v1, or NULL */
  int cores;                          /* sched_getaffinity count */
  int64_t setting;                    /* threads setting, 0 = automatic */
  int threads, allowed, clamped;      /* expected */
} row_t;

static const row_t rows[] = {
    {"v2 no quota, 2 cores", "max 100000\n", NULL, NULL, 2, 0, 2, 2, 0},
    {"v2 no quota, 64 cores", "max 100000", NULL, NULL, 64, 0, 64, 64, 0},
    {"v2 lone max", "max\n", NULL, NULL, 4, 0, 4, 4, 0},
    {"v2 limit 2 on 64 cores", "200000 100000\n", NULL, NULL, 64, 0, 2, 2, 0},
    {"v2 limit 1.5 rounds down", "150000 100000\n", NULL, NULL, 8, 0, 1, 1, 0},
    {"v2 limit 2.9 rounds down", "290000 100000\n", NULL, NULL, 8, 0, 2, 2, 0},
    {"v2 limit 500m: at least 1", "50000 100000\n", NULL, NULL, 8, 0, 1, 1, 0},
    {"v2 limit 10m: at least 1", "1000 100000\n", NULL, NULL, 8, 0, 1, 1, 0},
    {"v2 quota above the cores", "400000 100000\n", NULL, NULL, 2, 0, 2, 2, 0},
    {"v2 50 ms period", "300000 50000\n", NULL, NULL, 16, 0, 6, 6, 0},
    {"v1 no quota (-1)", NULL, "-1\n", "100000\n", 4, 0, 4, 4, 0},
    {"v1 limit 2", NULL, "200000\n", "100000\n", 4, 0, 2, 2, 0},
    {"v1 limit 2.5 rounds down", NULL, "250000\n", "100000\n", 8, 0, 2, 2, 0},
    {"v1 limit 500m: at least 1", NULL, "50000\n", "100000\n", 8, 0, 1, 1, 0},
    {"no cgroup: the cores", NULL, NULL, NULL, 3, 0, 3, 3, 0},
    {"affinity unknown counts as 1", NULL, NULL, NULL, 0, 0, 1, 1, 0},
    {"taskset to 1 core under a 4-CPU quota", "400000 100000", NULL, NULL, 1, 0, 1, 1, 0},
    {"explicit 1 under limit 2", "200000 100000\n", NULL, NULL, 8, 1, 1, 2, 0},
    {"explicit 2 = limit 2", "200000 100000\n", NULL, NULL, 8, 2, 2, 2, 0},
    {"explicit 4 on 2 cores: clamped", "max 100000\n", NULL, NULL, 2, 4, 2, 2, 1},
    {"explicit 2 under 1.5 CPUs: clamped", "150000 100000\n", NULL, NULL, 8, 2, 1, 1, 1},
    {"explicit 256 under v1 limit 3", NULL, "300000", "100000", 64, 256, 3, 3, 1},
};

static void test_decision_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    const row_t *r = &rows[i];
    int64_t q = -1, p = -1;
    if (r->cpu_max)
      assert_int_equal(threads_parse_cpu_max(r->cpu_max, &q, &p), 0);
    if (r->cfs_quota)
      assert_int_equal(threads_parse_cfs(r->cfs_quota, r->cfs_period, &q, &p), 0);
    threads_decision_t d = threads_decide(r->cores, q, p, r->setting);
    if (d.threads != r->threads || d.allowed != r->allowed || d.clamped != r->clamped)
      fail_msg("%s: threads %d allowed %d clamped %d, expected %d %d %d", r->name, d.threads,
               d.allowed, d.clamped, r->threads, r->allowed, r->clamped);
  }
}

static void test_parse(void **state) {
  (void)state;
  int64_t q, p;
  assert_int_equal(threads_parse_cpu_max("max 100000\n", &q, &p), 0);
  assert_true(q == -1 && p == 100000);
  assert_int_equal(threads_parse_cpu_max("250000 50000", &q, &p), 0);
  assert_true(q == 250000 && p == 50000);
  static const char *const bad_v2[] = {"",
                                       "abc",
                                       "-5 100000",
                                       "0 100000",
                                       "100000 0",
                                       "max max",
                                       "12x 1000",
                                       "1000 1000 7",
                                       "100000 -100000",
                                       "max\n1",
                                       "99999999999999999999 100000"};
  for (size_t i = 0; i < sizeof(bad_v2) / sizeof(bad_v2[0]); i++)
    if (threads_parse_cpu_max(bad_v2[i], &q, &p) == 0)
      fail_msg("cpu.max %s accepted", bad_v2[i]);
  assert_int_equal(threads_parse_cfs("-1\n", "100000\n", &q, &p), 0);
  assert_true(q == -1 && p == 100000);
  assert_int_equal(threads_parse_cfs("150000", "100000", &q, &p), 0);
  assert_true(q == 150000 && p == 100000);
  static const char *const bad_v1[][2] = {{"abc", "100000"}, {"100000", "0"},   {"100000", "-1"},
                                          {"", "100000"},    {"1 2", "100000"}, {"100000", "junk"}};
  for (size_t i = 0; i < sizeof(bad_v1) / sizeof(bad_v1[0]); i++)
    if (threads_parse_cfs(bad_v1[i][0], bad_v1[i][1], &q, &p) == 0)
      fail_msg("cfs %s / %s accepted", bad_v1[i][0], bad_v1[i][1]);
}

/* ---- the probe over fake trees ------------------------------------------ */

static char root[PATH_MAX];

/* Writes root/rel (making its directories); text NULL makes a directory. */
static void put(const char *rel, const char *text) {
  char path[PATH_MAX * 2];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
    *s = '\0';
    mkdir(path, 0755);
    *s = '/';
  }
  if (!text) {
    mkdir(path, 0755);
    return;
  }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int fresh_root(void **state) {
  (void)state;
  snprintf(root, sizeof(root), "/tmp/test_embedder_threads.XXXXXX");
  return mkdtemp(root) ? 0 : -1;
}

static int remove_root(void **state) {
  (void)state;
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  return system(cmd) == 0 ? 0 : -1;
}

static void probe_ok(threads_limits_t *lim) {
  char err[256] = "";
  if (threads_probe(root, lim, err, sizeof(err)) != 0)
    fail_msg("probe failed: %s", err);
  assert_true(lim->cores >= 1);
}

static int ends_with(const char *s, const char *tail) {
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && strcmp(s + a - b, tail) == 0;
}

/* v2, a pod's container nested under its pod: the tightest level wins. */
static void test_probe_v2_nested(void **state) {
  (void)state;
  put("proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
  put("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
  put("sys/fs/cgroup/kubepods/cpu.max", "max 100000\n");
  put("sys/fs/cgroup/kubepods/pod1/cpu.max", "300000 100000\n");
  put("sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "200000 100000\n");
  threads_limits_t lim;
  probe_ok(&lim);
  assert_true(lim.quota_us == 200000 && lim.period_us == 100000);
  assert_true(ends_with(lim.source, "/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max"));
  put("sys/fs/cgroup/kubepods/pod1/cpu.max", "100000 100000\n"); /* the pod is tighter */
  put("sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "max 100000\n");
  probe_ok(&lim);
  assert_true(lim.quota_us == 100000 && ends_with(lim.source, "/kubepods/pod1/cpu.max"));
}

/* v2 in a container with its own cgroup namespace: /proc/self/cgroup says
 * "0::/" and the mount's root is the container's cgroup. A host path that is
 * not visible under the mount also falls back to the root. */
static void test_probe_v2_container(void **state) {
  (void)state;
  put("proc/self/cgroup", "0::/\n");
  put("sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
  put("sys/fs/cgroup/cpu.max", "150000 100000\n");
  threads_limits_t lim;
  probe_ok(&lim);
  assert_true(lim.quota_us == 150000 && lim.period_us == 100000);
  assert_int_equal(threads_decide(8, lim.quota_us, lim.period_us, 0).threads, 1);
  put("proc/self/cgroup", "0::/system.slice/docker-abc.scope\n");
  probe_ok(&lim);
  assert_true(lim.quota_us == 150000 && ends_with(lim.source, "/sys/fs/cgroup/cpu.max"));
}

/* v1 (hybrid layout: /sys/fs/cgroup is a tmpfs of controller mounts). */
static void test_probe_v1(void **state) {
  (void)state;
  put("proc/self/cgroup", "12:memory:/kubepods/x\n4:cpu,cpuacct:/kubepods/x\n0::/kubepods/x\n");
  put("sys/fs/cgroup/unified/cgroup.controllers", "");
  put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  threads_limits_t lim;
  probe_ok(&lim);
  assert_true(lim.quota_us == -1 && lim.source[0] == '\0');
  put("sys/fs/cgroup/cpu,cpuacct/kubepods/x/cpu.cfs_quota_us", "50000\n");
  put("sys/fs/cgroup/cpu,cpuacct/kubepods/x/cpu.cfs_period_us", "100000\n");
  probe_ok(&lim);
  assert_true(lim.quota_us == 50000 && lim.period_us == 100000);
  assert_true(ends_with(lim.source, "/cpu,cpuacct/kubepods/x/cpu.cfs_quota_us"));
  assert_int_equal(threads_decide(4, lim.quota_us, lim.period_us, 0).threads, 1);
}

static void test_probe_none_and_bad(void **state) {
  (void)state;
  threads_limits_t lim;
  probe_ok(&lim); /* no /proc, no cgroup mount: no quota, not an error */
  assert_true(lim.quota_us == -1);
  put("proc/self/cgroup", "0::/\n");
  put("sys/fs/cgroup/cgroup.controllers", "cpu\n");
  put("sys/fs/cgroup/cpu.max", "two cores please\n");
  char err[256] = "";
  assert_int_equal(threads_probe(root, &lim, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "cpu.max"));
  assert_true(lim.quota_us == -1 && lim.cores >= 1); /* no quota, cores still known */
}

/* The real system: whatever it has, the probe answers and the decision is in
 * range (no assumption about this machine's limits). */
static void test_probe_real(void **state) {
  (void)state;
  threads_limits_t lim;
  char err[256] = "";
  if (threads_probe(NULL, &lim, err, sizeof(err)) != 0)
    fail_msg("probe of this system failed: %s", err);
  threads_decision_t d = threads_decide(lim.cores, lim.quota_us, lim.period_us, 0);
  assert_true(d.threads >= 1 && d.threads <= lim.cores);
  assert_int_equal(d.threads, d.allowed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decision_table),
      cmocka_unit_test(test_parse),
      cmocka_unit_test_setup_teardown(test_probe_v2_nested, fresh_root, remove_root),
      cmocka_unit_test_setup_teardown(test_probe_v2_container, fresh_root, remove_root),
      cmocka_unit_test_setup_teardown(test_probe_v1, fresh_root, remove_root),
      cmocka_unit_test_setup_teardown(test_probe_none_and_bad, fresh_root, remove_root),
      cmocka_unit_test(test_probe_real),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
