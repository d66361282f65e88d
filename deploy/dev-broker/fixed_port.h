/* fixed_port.h — give the mock cluster's listeners chosen ports.
 *
 * librdkafka 2.0.2's mock broker binds 127.0.0.1:0 and has no option for the
 * listener address, so each run gets random ports. When a fixed port is asked
 * for, this executable interposes bind(2): while armed, an AF_INET bind to
 * 127.0.0.1 port 0 is rewritten to the next port of the range. The symbol
 * override works because an executable's definition of a libc function takes
 * precedence over libc's for every shared library it loads (ELF interposition).
 * It is disarmed again right after rd_kafka_mock_cluster_new() returns. */
#ifndef DEVBROKER_FIXED_PORT_H
#define DEVBROKER_FIXED_PORT_H

#include <stddef.h>

/**
 * Arms the interposer: the next loopback port-0 binds get FIRST, FIRST+1, ...
 * FIRST == 0 disarms. Not thread-safe by design: the mock cluster creates its
 * brokers synchronously inside rd_kafka_mock_cluster_new() on the caller's
 * thread, which is the only time it is armed.
 */
void devbroker_fixed_port_arm(int first);

/** Number of binds rewritten since the last arm (to verify the trick took). */
int devbroker_fixed_port_rewritten(void);

/**
 * Checks that 127.0.0.1 ports FIRST..FIRST+CNT-1 can be bound right now.
 * Needed because librdkafka 2.0.2 aborts the whole process (an assertion in
 * its own cleanup path) when a mock listener fails to bind, so a taken port
 * must be caught before the mock tries. Returns 0, or -1 and fills errstr.
 */
int devbroker_fixed_port_check(int first, int cnt, char *errstr, size_t errstr_size);

#endif
