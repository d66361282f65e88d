#!/usr/bin/python3
"""Prints the time (epoch milliseconds) of the first log line with the given
event in a program's JSON log: log_time.py EVENT LOGFILE (benchmarks)."""
import datetime
import json
import sys

for line in open(sys.argv[2], encoding="utf-8"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == sys.argv[1]:
        t = datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
        print(int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))
        sys.exit(0)
sys.exit(1)
