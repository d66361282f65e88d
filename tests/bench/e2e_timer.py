#!/usr/bin/python3
"""e2e_timer.py — helpers for tests/bench/privacy_bench.sh (Debian's
python3-confluent-kafka). Not a test.

  e2e_timer.py check -b B --topics a,b --expect N
      the topics hold exactly N messages from offset 0 (fails if the dev
      broker dropped any: low watermark > 0, or a short count)
  e2e_timer.py run -b B --topics a,b --expect N [--timeout S] --out F -- CMD...
      starts CMD (its own process group), polls the end offsets of the output
      topics every 20 ms until they grew by N, samples VmHWM of every process
      in CMD's group, then SIGTERMs CMD's leader (for a shell pipeline: the
      whole group, which is the pipeline we started) and waits. Writes one
      JSON line to F: seconds from start to the first output and to N outputs,
      peak RSS (KiB, the largest process and the group's sum), CPU seconds
      used by the group until N arrived (sampled; a process that exits early
      counts up to its last sample), exit status.

End offsets, not a consumer, so the counting adds no load worth measuring and
the mock's per-partition size cap (which drops old output messages, never the
end offset) cannot hide arrivals.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

from confluent_kafka import Consumer, TopicPartition


def client(brokers):
    return Consumer({"bootstrap.servers": brokers, "group.id": "bench-timer-unused",
                     "enable.auto.commit": False})


def partitions(c, topics):
    md = c.list_topics(timeout=10)
    out = []
    for t in topics:
        if t not in md.topics or md.topics[t].error is not None:
            raise SystemExit("topic %s not found" % t)
        out += [TopicPartition(t, p) for p in md.topics[t].partitions]
    return out


def marks(c, tps):
    return [c.get_watermark_offsets(tp, timeout=5, cached=False) for tp in tps]


def cmd_check(a):
    c = client(a.brokers)
    wm = marks(c, partitions(c, a.topics.split(",")))
    c.close()
    lo = sum(1 for low, _ in wm if low > 0)
    total = sum(high for _, high in wm)
    biggest = max(high for _, high in wm)
    print("preloaded %d messages (largest partition %d); partitions with dropped data: %d"
          % (total, biggest, lo), file=sys.stderr)
    return 0 if total == a.expect and lo == 0 else 1


def group_pids(pgid):
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.getpgid(int(d)) == pgid:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


def hwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    """utime + stime of pid in seconds (0 if gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(") ", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cmd_run(a):
    c = client(a.brokers)
    tps = partitions(c, a.topics.split(","))
    base = sum(h for _, h in marks(c, tps))
    peak, cpu = {}, {}
    trace = open(a.trace, "w") if a.trace else None
    t0 = time.monotonic()
    p = subprocess.Popen(a.cmd, start_new_session=True)
    first = done = None
    n = 0
    while time.monotonic() - t0 < a.timeout:
        for pid in group_pids(p.pid):
            peak[pid] = max(peak.get(pid, 0), hwm(pid))
            cpu[pid] = max(cpu.get(pid, 0.0), cpu_s(pid))
        n = sum(h for _, h in marks(c, tps)) - base
        now = time.monotonic() - t0
        if trace:
            trace.write("%.3f %d\n" % (now, n))
        if first is None and n > 0:
            first = now
        if n >= a.expect:
            done = now
            break
        if p.poll() is not None and n < a.expect:
            # the command ended; give the last deliveries a moment to show
            time.sleep(0.5)
            n = sum(h for _, h in marks(c, tps)) - base
            if n >= a.expect:
                done = time.monotonic() - t0
            break
        time.sleep(0.02)
    for pid in group_pids(p.pid):
        peak[pid] = max(peak.get(pid, 0), hwm(pid))
        cpu[pid] = max(cpu.get(pid, 0.0), cpu_s(pid))
    if p.poll() is None:
        if a.group_kill:
            os.killpg(p.pid, signal.SIGTERM)  # the group is the pipeline we started
        else:
            p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
    c.close()
    res = {"expect": a.expect, "arrived": n, "first_s": first, "done_s": done,
           "rss_max_kb": max(peak.values() or [0]), "rss_sum_kb": sum(peak.values()),
           "cpu_s": round(sum(cpu.values()), 3),
           "exit": rc}
    with open(a.out, "w") as f:
        f.write(json.dumps(res) + "\n")
    print(json.dumps(res), file=sys.stderr)
    return 0 if done is not None else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd_name", choices=["check", "run"])
    ap.add_argument("-b", "--brokers", required=True)
    ap.add_argument("--topics", required=True)
    ap.add_argument("--expect", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--out")
    ap.add_argument("--trace", help="run: write 'seconds outputs' per poll to this file")
    ap.add_argument("--group-kill", action="store_true",
                    help="SIGTERM the whole process group (pipelines)")
    argv = sys.argv[1:]
    cmd = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:len(argv) - len(cmd) - (1 if cmd else 0)])
    a.cmd = cmd
    if a.cmd_name == "run" and not (cmd and a.out):
        ap.error("run needs --out F -- CMD...")
    return cmd_check(a) if a.cmd_name == "check" else cmd_run(a)


if __name__ == "__main__":
    sys.exit(main())
