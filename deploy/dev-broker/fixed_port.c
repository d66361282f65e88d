/* fixed_port.c — see fixed_port.h for why this exists. */
#include "fixed_port.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static int next_port; /* 0: disarmed, binds pass through untouched */
static int rewritten;

void devbroker_fixed_port_arm(int first) {
  next_port = first;
  rewritten = 0;
}

int devbroker_fixed_port_rewritten(void) {
  return rewritten;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static bind_fn real_bind;

  if (!real_bind) {
    real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
    if (!real_bind) {
      errno = ENOSYS;
      return -1;
    }
  }
  if (next_port > 0 && next_port <= 65535 && addr && addr->sa_family == AF_INET &&
      len >= (socklen_t)sizeof(struct sockaddr_in)) {
    struct sockaddr_in sin;
    memcpy(&sin, addr, sizeof(sin));
    if (sin.sin_port == 0 && sin.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
      /* The mock sets no SO_REUSEADDR; a restart right after a
       * stop would otherwise fail while old sockets linger. */
      int one = 1;
      (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      sin.sin_port = htons((uint16_t)next_port);
      next_port++;
      rewritten++;
      return real_bind(fd, (const struct sockaddr *)&sin, sizeof(sin));
    }
  }
  return real_bind(fd, addr, len);
}

int devbroker_fixed_port_check(int first, int cnt, char *errstr, size_t errstr_size) {
  for (int port = first; port < first + cnt; port++) {
    struct sockaddr_in sin;
    int one = 1, rc, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
      snprintf(errstr, errstr_size, "socket: %s", strerror(errno));
      return -1;
    }
    /* Same option the interposer sets, so TIME_WAIT leftovers of a
     * previous run do not count as "taken". */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)port);
    rc = bind(fd, (const struct sockaddr *)&sin, sizeof(sin));
    if (rc == -1)
      snprintf(errstr, errstr_size, "127.0.0.1:%d: %s", port, strerror(errno));
    close(fd);
    if (rc == -1)
      return -1;
  }
  return 0;
}
