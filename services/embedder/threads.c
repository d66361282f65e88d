/* threads — the embedder's thread count from the CPUs the process may use
 * (affinity mask and CFS quota) and the environment that keeps OpenMP and
 * OpenBLAS from spinning. Owns no state: the decision is a pure function, the
 * probe reads a handful of small files, the runtime check re-executes once.
 */
#include "threads.h"

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

threads_decision_t threads_decide(int cores, int64_t quota_us, int64_t period_us, int64_t setting) {
  threads_decision_t d = {0};
  int allowed = cores < 1 ? 1 : cores;
  if (quota_us > 0 && period_us > 0) {
    int64_t whole = quota_us / period_us; /* rounded down, see threads.h */
    if (whole < 1)
      whole = 1;
    if (whole < allowed)
      allowed = (int)whole;
  }
  d.allowed = allowed;
  if (setting <= 0) {
    d.threads = allowed;
  } else if (setting > allowed) {
    d.threads = allowed;
    d.clamped = 1;
  } else {
    d.threads = (int)setting;
  }
  return d;
}

/* A decimal integer at *p (leading blanks skipped); advances *p. */
static int parse_int(const char **p, int64_t *out) {
  while (**p == ' ' || **p == '\t')
    (*p)++;
  if (!isdigit((unsigned char)**p) && !(**p == '-' && isdigit((unsigned char)(*p)[1])))
    return -1;
  char *end;
  errno = 0;
  long long v = strtoll(*p, &end, 10);
  if (errno)
    return -1;
  *p = end;
  *out = v;
  return 0;
}

/* Only white space left. */
static int at_end(const char *p) {
  while (*p && isspace((unsigned char)*p))
    p++;
  return !*p;
}

int threads_parse_cpu_max(const char *text, int64_t *quota_us, int64_t *period_us) {
  const char *p = text;
  int64_t q, per = 100000; /* the kernel's default period, when only "max" was written */
  while (*p == ' ' || *p == '\t')
    p++;
  if (strncmp(p, "max", 3) == 0) {
    q = -1;
    p += 3;
  } else if (parse_int(&p, &q) != 0 || q <= 0) {
    return -1;
  }
  if (!at_end(p) && (parse_int(&p, &per) != 0 || per <= 0 || !at_end(p)))
    return -1;
  *quota_us = q;
  *period_us = per;
  return 0;
}

int threads_parse_cfs(const char *quota_text, const char *period_text, int64_t *quota_us,
                      int64_t *period_us) {
  const char *q = quota_text, *per = period_text;
  int64_t qv, pv;
  if (parse_int(&q, &qv) != 0 || !at_end(q) || parse_int(&per, &pv) != 0 || !at_end(per) || pv <= 0)
    return -1;
  *quota_us = qv > 0 ? qv : -1; /* -1: no quota */
  *period_us = pv;
  return 0;
}

/* Reads a small file into buf (NUL-terminated). -1 when it cannot be read. */
static int read_small(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, size - 1, f);
  int bad = ferror(f);
  fclose(f);
  buf[n] = '\0';
  return bad ? -1 : 0;
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The cgroup path of this process in /proc/self/cgroup: the v2 line
 * ("0::/path") or the v1 line whose controllers include "cpu". "" when not
 * found. */
static void own_cgroup(const char *root, int v2, char *out, size_t size) {
  char path[4096], buf[8192];
  out[0] = '\0';
  snprintf(path, sizeof(path), "%s/proc/self/cgroup", root);
  if (read_small(path, buf, sizeof(buf)) != 0)
    return;
  for (char *line = buf, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = '\0';
    const char *ctrl = c1 + 1, *cg = c2 + 1;
    int match = 0;
    if (v2) {
      match = strncmp(line, "0:", 2) == 0 && !*ctrl;
    } else {
      for (const char *s = ctrl;;) { /* "cpu,cpuacct": one of the comma-separated names */
        size_t len = strcspn(s, ",");
        match |= len == 3 && strncmp(s, "cpu", 3) == 0;
        if (!s[len])
          break;
        s += len + 1;
      }
    }
    if (match) {
      snprintf(out, size, "%s", strcmp(cg, "/") == 0 ? "" : cg);
      return;
    }
  }
}

/* Walks from the process's cgroup up to the mount's root under base (or
 * only the root when the cgroup is not visible there, as in a container
 * whose mount is its own cgroup) and keeps the tightest quota. */
static int walk(const char *base, const char *cg, int v2, threads_limits_t *out, char *errstr,
                size_t errstr_size) {
  char rel[2048], dir[4096], f1[4200], f2[4200], b1[128], b2[128];
  snprintf(rel, sizeof(rel), "%s", cg);
  snprintf(dir, sizeof(dir), "%s%s", base, rel);
  if (!is_dir(dir))
    rel[0] = '\0';
  for (;;) {
    int64_t q, per;
    int found = 0;
    if (v2) {
      snprintf(f1, sizeof(f1), "%s%s/cpu.max", base, rel);
      if (read_small(f1, b1, sizeof(b1)) == 0) {
        found = 1;
        if (threads_parse_cpu_max(b1, &q, &per) != 0) {
          snprintf(errstr, errstr_size, "%s: not \"QUOTA PERIOD\" or \"max PERIOD\"", f1);
          return -1;
        }
      }
    } else {
      snprintf(f1, sizeof(f1), "%s%s/cpu.cfs_quota_us", base, rel);
      snprintf(f2, sizeof(f2), "%s%s/cpu.cfs_period_us", base, rel);
      if (read_small(f1, b1, sizeof(b1)) == 0 && read_small(f2, b2, sizeof(b2)) == 0) {
        found = 1;
        if (threads_parse_cfs(b1, b2, &q, &per) != 0) {
          snprintf(errstr, errstr_size, "%s / cpu.cfs_period_us: not numbers", f1);
          return -1;
        }
      }
    }
    /* q / per < best: compared as products, both sides positive. */
    if (found && q > 0 &&
        (out->quota_us <= 0 ||
         (double)q * (double)out->period_us < (double)out->quota_us * (double)per)) {
      out->quota_us = q;
      out->period_us = per;
      snprintf(out->source, sizeof(out->source), "%.511s", f1);
    }
    if (!rel[0])
      return 0;
    char *slash = strrchr(rel, '/'); /* "/a/b" -> "/a" -> "" */
    *(slash ? slash : rel) = '\0';
  }
}

int threads_probe(const char *root, threads_limits_t *out, char *errstr, size_t errstr_size) {
  char base[4096], cg[2048], probe[4200];
  root = root ? root : "";
  memset(out, 0, sizeof(*out));
  out->quota_us = out->period_us = -1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    out->cores = CPU_COUNT(&set);
  if (out->cores < 1) { /* more CPUs than a cpu_set_t holds */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    out->cores = n > 0 ? (int)n : 1;
  }
  /* cgroup v2 when the unified hierarchy is mounted at /sys/fs/cgroup;
   * otherwise (v1 or hybrid) the cpu controller is a v1 hierarchy. */
  snprintf(base, sizeof(base), "%s/sys/fs/cgroup", root);
  snprintf(probe, sizeof(probe), "%s/cgroup.controllers", base);
  int v2 = access(probe, F_OK) == 0, rc = 0;
  static const char *const v1_mounts[] = {"cpu", "cpu,cpuacct"};
  for (size_t i = 0; !v2 && i < sizeof(v1_mounts) / sizeof(v1_mounts[0]); i++) {
    snprintf(base, sizeof(base), "%s/sys/fs/cgroup/%s", root, v1_mounts[i]);
    if (is_dir(base))
      break;
    base[0] = '\0';
  }
  if (base[0]) {
    own_cgroup(root, v2, cg, sizeof(cg));
    rc = walk(base, cg, v2, out, errstr, errstr_size);
  }
  if (rc != 0) { /* a quota we cannot read is no quota: cores still bound the count */
    out->quota_us = out->period_us = -1;
    out->source[0] = '\0';
  }
  return rc;
}

int threads_runtime_env(char **argv, int pool, char *errstr, size_t errstr_size) {
  int change = 0;
  char n[16];
  if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT"))
    change |= setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
  if (!getenv("OPENBLAS_THREAD_TIMEOUT"))
    change |= setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) == 0;
  snprintf(n, sizeof(n), "%d", pool);
  if (pool > 0 && !getenv("OPENBLAS_NUM_THREADS"))
    change |= setenv("OPENBLAS_NUM_THREADS", n, 1) == 0;
  if (!change)
    return 0;
  /* Every variable is set now, so the new image returns 0 here: no loop. */
  execv("/proc/self/exe", argv);
  snprintf(errstr, errstr_size, "cannot re-execute /proc/self/exe: %s", strerror(errno));
  return -1;
}
