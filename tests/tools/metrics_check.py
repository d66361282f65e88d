#!/usr/bin/python3
"""Checks that every metric an alert rule or a dashboard uses is exported.

Reads Prometheus rule files (plain `groups:` files or PrometheusRule objects),
Grafana dashboards (JSON, or YAML ConfigMaps holding them) and /metrics
scrapes (text exposition files, or http://127.0.0.1:PORT/metrics URLs), then:

1. extracts the metric names and the label names of their matchers from
   every PromQL expression (rules, panel targets, label_values() variables);
2. fails when a name is neither exported by a scrape, nor recorded by one of
   the rules, nor one of the few series Prometheus makes itself (EXTERNAL),
   and when a matcher uses a label the exported metric does not carry
   (target labels Prometheus adds are allowed);
3. checks each expression's syntax: `promtool check rules` when promtool is
   installed (Debian package prometheus), else a structural check (balanced
   brackets, known functions and aggregations) — the fallback is weaker.
   With --rules-test, also `promtool test rules` on that test file.

Prints PASS/FAIL lines and "N passed, M failed"; exits 1 on any failure.

Usage: metrics_check.py [--rules F]... [--dashboard F]... [--scrape F|URL]...
                        [--rules-test F] [--no-promtool] [--names-only]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import yaml

# Series Prometheus (not a program) makes: allowed without a scrape.
EXTERNAL = {"up": "Prometheus: 1 when the target's last scrape succeeded"}
# Labels Prometheus adds to every scraped series (target labels).
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint",
                 "__name__"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile"}
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp",
    "floor", "histogram_count", "histogram_sum", "histogram_fraction", "histogram_quantile",
    "holt_winters", "hour", "idelta", "increase", "irate", "label_join", "label_replace", "ln",
    "log2", "log10", "minute", "month", "predict_linear", "rate", "resets", "round", "scalar",
    "sgn", "sort", "sort_desc", "sqrt", "time", "timestamp", "vector", "year", "avg_over_time",
    "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "quantile_over_time",
    "stddev_over_time", "stdvar_over_time", "last_over_time", "present_over_time", "acos",
    "asin", "atan", "cos", "sin", "tan", "deg", "rad", "pi",
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "and", "or", "unless", "inf", "nan", "atan2"}
LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}

TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<dur>[0-9]+(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*)
  | (?P<num>0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)
  | (?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=(){}\[\],:@])
""", re.X)


class PromQLError(Exception):
    pass


def tokens(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise PromQLError(f"unexpected character {expr[pos]!r} at {pos}")
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


def matchers(toks, i):
    """Parses {l op "v", ...} from toks[i] == '{'; returns (labels, name, next i)."""
    labels, name = [], None
    i += 1
    while i < len(toks) and toks[i][1] != "}":
        kind, val = toks[i]
        if kind == "id" and i + 2 < len(toks) and toks[i + 1][1] in ("=", "!=", "=~", "!~"):
            if toks[i + 2][0] != "str":
                raise PromQLError(f"label {val}: value must be a string")
            if val == "__name__" and toks[i + 1][1] == "=":
                name = toks[i + 2][1][1:-1]
            labels.append(val)
            i += 3
        elif val == ",":
            i += 1
        else:
            raise PromQLError(f"bad label matcher near {val!r}")
    if i >= len(toks):
        raise PromQLError("unclosed {")
    return labels, name, i + 1


def analyse(expr):
    """[(metric name, [label names])] of expr; raises PromQLError on a
    structural problem (brackets, unknown function, bad matcher)."""
    toks = tokens(expr)
    if not toks:
        raise PromQLError("empty expression")
    depth = {"(": 0, "[": 0}
    close = {")": "(", "]": "["}
    used, i = [], 0
    while i < len(toks):
        kind, val = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if val in depth:
            depth[val] += 1
        elif val in close:
            depth[close[val]] -= 1
            if depth[close[val]] < 0:
                raise PromQLError(f"unbalanced {val}")
        elif val == "{":
            labels, name, i = matchers(toks, i)
            if name:
                used.append((name, labels))
            continue
        elif val == "}":
            raise PromQLError("unbalanced }")
        elif kind == "id":
            if val in LIST_KEYWORDS:
                if nxt != "(":
                    raise PromQLError(f"{val} needs a label list")
                j = i + 2
                while j < len(toks) and toks[j][1] != ")":
                    j += 1
                i = j + 1
                continue
            if val in KEYWORDS:
                pass
            elif nxt == "(" or (val in AGGREGATIONS and nxt in ("by", "without")):
                if val not in FUNCTIONS and val not in AGGREGATIONS:
                    raise PromQLError(f"unknown function {val}")
            elif nxt == "{":
                labels, _, j = matchers(toks, i + 1)
                used.append((val, labels))
                i = j
                continue
            else:
                used.append((val, []))
        i += 1
    if depth["("] or depth["["]:
        raise PromQLError("unbalanced brackets")
    return used


# ---- inputs -----------------------------------------------------------------

def load_rules(path):
    """[(where, expr, recorded name or None)] and the plain groups (for promtool)."""
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    groups = []
    for d in docs:
        if d.get("kind") == "PrometheusRule":
            groups += (d.get("spec") or {}).get("groups") or []
        elif "groups" in d:
            groups += d["groups"]
    out = []
    for g in groups:
        for r in g.get("rules") or []:
            what = r.get("record") or r.get("alert")
            out.append((f"{os.path.basename(path)}:{g.get('name')}:{what}", str(r.get("expr")),
                        r.get("record")))
    return out, groups


GRAFANA_VARS = re.compile(r"\$\{?(__rate_interval|__interval|__range)\}?")


def grafana_expr(expr):
    """A panel's query with Grafana's variables replaced by values PromQL parses."""
    expr = GRAFANA_VARS.sub("5m", expr)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)


def dashboards_of(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        return [(os.path.basename(path), json.loads(text))]
    out = []
    for d in yaml.safe_load_all(text):
        if d and d.get("kind") == "ConfigMap":
            for k, v in (d.get("data") or {}).items():
                if k.endswith(".json"):
                    out.append((k, json.loads(v)))
    return out


def load_dashboard(path):
    out = []
    for name, dash in dashboards_of(path):
        def walk(panels):
            for p in panels or []:
                for t in p.get("targets") or []:
                    if t.get("expr"):
                        out.append((f"{name}:{p.get('title')}:{t.get('refId')}",
                                    grafana_expr(t["expr"]), None))
                walk(p.get("panels"))
        walk(dash.get("panels"))
        for v in (dash.get("templating") or {}).get("list") or []:
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.match(r"\s*label_values\((.*),\s*([A-Za-z_]+)\)\s*$", q or "")
            if v.get("type") == "query" and m:
                out.append((f"{name}:variable {v.get('name')}", grafana_expr(m.group(1)), None))
    return out


def read_scrape(src):
    if src.startswith("http://"):
        host = re.match(r"http://([^/:]+|\[[^\]]+\])", src).group(1)
        if host not in ("127.0.0.1", "[::1]", "localhost"):
            raise ValueError(f"{src}: scrapes only from loopback")
        with urllib.request.urlopen(src, timeout=10) as r:
            return r.read().decode("utf-8")
    with open(src, encoding="utf-8") as f:
        return f.read()


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+")


def exported(texts):
    """name -> set of label names, over every sample line of every scrape."""
    out = {}
    for text in texts:
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                continue
            labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
            out.setdefault(m.group(1), set()).update(labels)
    return out


# ---- checks -----------------------------------------------------------------

def check_names(exprs, recorded, have, lazy=None):
    """lazy: name -> source file of counters a program creates on the first
    error (their label is the error's class): accepted when that file still
    registers them, since a healthy run never has the series."""
    errs, count = [], 0
    lazy = lazy or {}
    for where, expr, _ in exprs:
        try:
            used = analyse(expr)
        except PromQLError as e:
            errs.append(f"{where}: {e}")
            continue
        for name, labels in used:
            count += 1
            if name in recorded or name in EXTERNAL:
                continue
            if name not in have and name in lazy:
                continue
            if name not in have:
                errs.append(f"{where}: metric {name} is exported by no scrape")
                continue
            for lab in labels:
                if lab not in have[name] and lab not in TARGET_LABELS:
                    errs.append(f"{where}: {name} has no label {lab} (it has "
                                f"{sorted(have[name]) or 'none'})")
    return errs, count


def promtool_check(groups, exprs, tmp):
    """promtool check rules on the rules and on the dashboard queries (as
    recording rules). Returns errors."""
    path = os.path.join(tmp, "rules.yaml")
    dash = [{"record": f"dashboard:query_{i}", "expr": e} for i, (_, e, _) in enumerate(exprs)]
    all_groups = list(groups) + ([{"name": "dashboard-queries", "rules": dash}] if dash else [])
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": all_groups}, f)
    r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    return [] if r.returncode == 0 else [ln for ln in (r.stdout + r.stderr).splitlines()
                                         if ln.strip()][:20]


def promtool_test(groups, test_file, tmp):
    rules = os.path.join(tmp, "under-test.yaml")
    with open(rules, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": groups}, f)
    with open(test_file, encoding="utf-8") as f:
        t = yaml.safe_load(f)
    t["rule_files"] = [rules]
    test = os.path.join(tmp, "test.yaml")
    with open(test, "w", encoding="utf-8") as f:
        yaml.safe_dump(t, f)
    r = subprocess.run(["promtool", "test", "rules", test], capture_output=True, text=True)
    out = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    return ([] if r.returncode == 0 else out[:40]), len(t.get("tests") or [])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", action="append", default=[])
    ap.add_argument("--dashboard", action="append", default=[])
    ap.add_argument("--scrape", action="append", default=[])
    ap.add_argument("--rules-test")
    ap.add_argument("--lazy", action="append", default=[], metavar="NAME=SOURCE",
                    help="a counter created on the first error, registered in SOURCE")
    ap.add_argument("--no-promtool", action="store_true", help="structural check only")
    ap.add_argument("--names-only", action="store_true", help="skip the syntax checks")
    a = ap.parse_args()
    passed = failed = 0

    def report(name, errs, detail=""):
        nonlocal passed, failed
        if errs:
            failed += 1
            print(f"FAIL {name}")
            for e in errs:
                print(f"     {e}")
        else:
            passed += 1
            print(f"PASS {name}" + (f" ({detail})" if detail else ""))

    rule_exprs, groups = [], []
    for p in a.rules:
        ex, gr = load_rules(p)
        rule_exprs += ex
        groups += gr
    dash_exprs = [e for p in a.dashboard for e in load_dashboard(p)]
    recorded = {r for _, _, r in rule_exprs if r}
    exprs = rule_exprs + dash_exprs

    if not a.names_only:
        structural = []
        for where, expr, _ in exprs:
            try:
                analyse(expr)
            except PromQLError as e:
                structural.append(f"{where}: {e}")
        report("PromQL structure (brackets, functions, matchers)", structural,
               f"{len(exprs)} expressions")
        if a.no_promtool or not shutil.which("promtool"):
            print("SKIP promtool check rules: promtool not installed (Debian package prometheus)"
                  if not a.no_promtool else "SKIP promtool: --no-promtool")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                report("promtool check rules (rules and dashboard queries)",
                       promtool_check(groups, dash_exprs, tmp), f"{len(exprs)} expressions")
                if a.rules_test:
                    errs, n = promtool_test(groups, a.rules_test, tmp)
                    report(f"promtool test rules {os.path.basename(a.rules_test)}", errs,
                           f"{n} test groups")
    if a.scrape:
        try:
            have = exported([read_scrape(s) for s in a.scrape])
        except (OSError, ValueError) as e:
            report("scrapes readable", [str(e)])
            have = None
        lazy, lerrs = {}, []
        for item in a.lazy:
            name, _, src = item.partition("=")
            try:
                with open(src, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                lerrs.append(f"--lazy {item}: {e}")
                continue
            # registered as "<what>_total" under the program's prefix
            if not any(f'"{name[i + 1:]}"' in text for i in range(len(name)) if name[i] == "_"):
                lerrs.append(f"--lazy {name}: {src} does not register it")
            lazy[name] = src
        if a.lazy:
            report("lazy counters are still registered by their programs", lerrs,
                   ", ".join(sorted(lazy)))
        if have is not None:
            errs, n = check_names(exprs, recorded, have, lazy)
            report("every metric of the rules and dashboards is exported", errs,
                   f"{n} uses of metrics, {len(have)} exported series names in "
                   f"{len(a.scrape)} scrapes")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
