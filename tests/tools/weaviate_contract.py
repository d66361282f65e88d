#!/usr/bin/python3
"""Weaviate contract server for tests and benchmarks: a local stand-in for the
Weaviate REST API on 127.0.0.1 that checks every request against Weaviate's
own OpenAPI document (tests/fixtures/api/weaviate-openapi.json, swagger 2.0),
keeps objects in memory and answers like Weaviate does:

  POST   /v1/batch/objects          per-object results (200 even when some fail)
  DELETE /v1/batch/objects          where-filter deletions (id ContainsAny/Equal)
  POST   /v1/objects                one object (the way the seed wrote them)
  GET    /v1/objects/{class}/{id}   ?include=vector
  DELETE /v1/objects/{class}/{id}
  GET    /v1/schema, /v1/schema/{class}; POST /v1/schema, /v1/schema/{class}/properties
  POST   /v1/graphql                Get { Class(hybrid: {...}, where: {...}, limit: N) {...} }
                                    with relativeScoreFusion / rankedFusion, BM25 over
                                    the searchable text properties, cosine vectors

Property values are checked against the class's dataType, with Weaviate's
messages ("invalid text property 'content' on class 'SocialPost': not a
string, but float64"); vectors of a class keep one length.

Control (not Weaviate's API; under /__control/):
  POST /__control/faults  {"faults": [FAULT, ...]}   appended; each applies `times` times
     {"kind": "status", "status": 500}                answer with that status, write nothing
     {"kind": "slow", "seconds": 3}                   write, then answer after a delay
     {"kind": "drop", "when": "before"|"after"}       close the connection without an answer
     {"kind": "object_error", "post_id": "p1", "message": "..."}
                                                      that object fails with the message
     common keys: "times" (default 1; -1 = always), "method" and "path" (prefix;
     default POST /v1/batch/objects)
  POST /__control/reset      forget faults, objects, classes and counters
  GET  /__control/state      {"violations": [...], "requests": {...}, "objects": N}
  GET  /__control/objects    every object: {"<class>": {"<id>": {"properties", "vector"}}}

  weaviate_contract.py --spec FILE --port-file F [--port N] [--api-key-file F]
                       [--class-file F (a class to have from the start)] [--log F]

A request that breaks the spec is answered 422 (as Weaviate would refuse it)
and recorded as a violation; tests assert there are none. Stop with SIGTERM.
"""
import argparse
import array
import json
import math
import re
import signal
import sys
import threading
import time
import urllib.parse
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema

# RefResolver works in Debian's jsonschema 4.10 and still in later ones (deprecated).
warnings.filterwarnings("ignore", category=DeprecationWarning)

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
WORD = re.compile(r"[0-9A-Za-z\u00c0-\uffff]+")
NUMBER_TYPES = {int, float}
HYBRID_MAX = 100  # QUERY_HYBRID_MAXIMUM_RESULTS: candidates per leg before fusion


class Spec:
    """Routes and validators from the swagger 2.0 document."""

    def __init__(self, path):
        self.doc = json.load(open(path, encoding="utf-8"))
        self.base = self.doc.get("basePath", "")
        self.routes = []
        for tmpl, ops in self.doc["paths"].items():
            names = re.findall(r"{([^}]+)}", tmpl)
            rx = re.compile("^" + re.sub(r"{[^}]+}", "([^/]+)", re.escape(self.base + tmpl)
                                         .replace(r"\{", "{").replace(r"\}", "}")) + "$")
            for method, op in ops.items():
                if method == "parameters":
                    continue
                self.routes.append((method.upper(), rx, names, op, tmpl))
        self.validators = {}
        self.fast = self.fast_fields()

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self.validators.get(key)
        if v is None:
            resolver = jsonschema.RefResolver("", self.doc)
            v = jsonschema.Draft4Validator(schema, resolver=resolver,
                                           format_checker=jsonschema.FormatChecker())
            self.validators[key] = v
        return v

    def param(self, p):
        return self.doc["parameters"][p["$ref"].split("/")[-1]] if "$ref" in p else p

    def match(self, method, path):
        for m, rx, names, op, tmpl in self.routes:
            if m != method:
                continue
            g = rx.match(path)
            if g:
                return op, dict(zip(names, (urllib.parse.unquote(x) for x in g.groups()))), tmpl
        return None, None, None

    def check(self, method, path, query, body):
        """The violations of one request (a list of strings)."""
        op, pvals, tmpl = self.match(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in the spec"], None, None
        errs = []
        declared = {}
        body_schema = None
        for p in (self.param(x) for x in op.get("parameters", [])):
            declared[(p["in"], p["name"])] = p
            if p["in"] == "body":
                body_schema = p.get("schema")
        for name in query:
            p = declared.get(("query", name))
            if p is None:
                errs.append(f"{method} {tmpl}: query parameter {name} is not in the spec")
            elif p.get("type") == "integer" and not re.match(r"^-?\d+$", query[name]):
                errs.append(f"{method} {tmpl}: query parameter {name} must be an integer")
        for (where, name), p in declared.items():
            if where == "query" and p.get("required") and name not in query:
                errs.append(f"{method} {tmpl}: query parameter {name} is required")
            if where == "path" and p.get("format") == "uuid" and not UUID.match(pvals.get(name, "")):
                errs.append(f"{method} {tmpl}: path parameter {name} must be a uuid")
        if body_schema is not None:
            if body is None:
                if declared.get(("body", "body"), {}).get("required"):
                    errs.append(f"{method} {tmpl}: a JSON body is required")
            else:
                errs += self.check_body(method, tmpl, body_schema, body)
        elif body is not None:
            errs.append(f"{method} {tmpl}: the operation takes no body")
        return errs, op, pvals

    # The Object definition's top-level fields whose schema is only a JSON
    # type (plus uuid for id): an object with only these, of these types, is
    # valid without running jsonschema over it. Checked against the spec at
    # start (fast_fields()), so a spec that constrains them more turns the
    # shortcut off.
    FAST = {"class": str, "id": str, "properties": dict, "tenant": str}

    def fast_fields(self):
        obj = self.doc["definitions"].get("Object", {}).get("properties", {})
        want = {"class": ("string", None), "id": ("string", "uuid"), "tenant": ("string", None)}
        for k, (t, fmt) in want.items():
            d = obj.get(k, {})
            if d.get("type") != t or d.get("format") != fmt or set(d) - {"type", "format",
                                                                         "description"}:
                return False
        props = self.doc["definitions"].get("PropertySchema", {})
        return obj.get("properties", {}).get("$ref") == "#/definitions/PropertySchema" and \
            set(props) - {"type", "description"} == set() and props.get("type") == "object"

    def object_is_plain(self, o):
        if not self.fast or not isinstance(o, dict):
            return False
        for k, v in o.items():
            t = self.FAST.get(k)
            if t is None or not isinstance(v, t):
                return False
        return not isinstance(o.get("id"), str) or bool(UUID.match(o["id"]))

    def check_body(self, method, tmpl, schema, body):
        # Vectors are the bulk of a batch: check them here (the spec says an
        # array of numbers) and let jsonschema see the objects without them,
        # so a 100-object batch costs milliseconds, not seconds.
        stripped = body
        errs = []
        if isinstance(body, dict) and isinstance(body.get("objects"), list):
            stripped = dict(body)
            stripped["objects"] = []
            for i, o in enumerate(body["objects"]):
                if isinstance(o, dict) and "vector" in o:
                    v = o["vector"]
                    # set(map(type, ...)) runs in C: 384 floats in a few microseconds.
                    if not isinstance(v, list) or not set(map(type, v)) <= NUMBER_TYPES:
                        errs.append(f"{method} {tmpl}: /objects/{i}/vector must be an array "
                                    "of numbers")
                    o = {k: x for k, x in o.items() if k != "vector"}
                if not self.object_is_plain(o):  # else: valid by fast_fields()
                    stripped["objects"].append(o)
        elif isinstance(body, dict) and isinstance(body.get("vector"), list):
            v = body["vector"]
            if not set(map(type, v)) <= NUMBER_TYPES:
                errs.append(f"{method} {tmpl}: /vector must be an array of numbers")
            stripped = {k: x for k, x in body.items() if k != "vector"}
            if tmpl == "/objects" and self.object_is_plain(stripped):
                return errs
        for e in self.validator(schema).iter_errors(stripped):
            where = "/".join(str(x) for x in e.absolute_path)
            errs.append(f"{method} {tmpl}: /{where}: {e.message[:200]}")
        return errs

    def check_response(self, op, status, body):
        resp = op.get("responses", {}).get(str(status))
        if resp is None:
            return [f"response status {status} is not in the spec"]
        schema = resp.get("schema")
        if schema is None or body is None:
            return []
        if isinstance(body, list) and op.get("operationId") == "batch.objects.create":
            # Our own items: plain objects plus result; check one in full.
            body = body[:1]
        return [f"response /{'/'.join(str(x) for x in e.absolute_path)}: {e.message[:200]}"
                for e in self.validator(schema).iter_errors(body)]


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.classes = {}  # name -> class definition
        self.objects = {}  # class -> id -> {"properties", "vector", times}
        self.dims = {}
        self.faults = []
        self.violations = []
        self.requests = {}


GO_TYPES = {str: "string", int: "float64", float: "float64", bool: "bool", list: "[]interface {}",
            dict: "map[string]interface {}", type(None): "<nil>"}


def prop_error(cls, name, dtype, v):
    """Weaviate's message for a value of the wrong type, or None."""
    t = dtype[0] if dtype else "text"
    go = GO_TYPES.get(type(v), "unknown")
    if t[:1].isupper():  # a cross-reference: a list of {"beacon": "weaviate://..."}
        if not isinstance(v, list) or not all(isinstance(x, dict) and isinstance(
                x.get("beacon"), str) and x["beacon"].startswith("weaviate://") for x in v):
            return f"invalid cref property '{name}' on class '{cls}': not a list of beacons"
        return None
    if t in ("text", "string"):
        if not isinstance(v, str):
            return f"invalid text property '{name}' on class '{cls}': not a string, but {go}"
    elif t in ("text[]", "string[]"):
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            return f"invalid text array property '{name}' on class '{cls}': not a string array"
    elif t == "int":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (
                isinstance(v, float) and not v.is_integer()):
            return (f"invalid integer property '{name}' on class '{cls}': requires an "
                    f"integer, the given value is '{v}'")
    elif t == "number":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return f"invalid number property '{name}' on class '{cls}': requires a float"
    elif t == "date":
        if not isinstance(v, str) or not RFC3339.match(v):
            return (f"invalid date property '{name}' on class '{cls}': requires a string with "
                    f"a RFC3339 formatted date, but the given value is '{v}'")
    elif t == "boolean":
        if not isinstance(v, bool):
            return f"invalid boolean property '{name}' on class '{cls}': not a boolean"
    elif t == "uuid":
        if not isinstance(v, str) or not UUID.match(v):
            return f"invalid uuid property '{name}' on class '{cls}': not a valid uuid"
    return None


def tokens(text):
    return [w.lower() for w in WORD.findall(text)]


# ---- a small GraphQL reader (the Get queries post-search sends) ----------

class GqlError(Exception):
    pass


def gql_tokens(s):
    i, out = 0, []
    while i < len(s):
        c = s[i]
        if c in " \t\r\n,":
            i += 1
        elif c == "#":
            while i < len(s) and s[i] != "\n":
                i += 1
        elif c in "{}()[]:":
            out.append(("p", c))
            i += 1
        elif c == '"':
            j = i + 1
            while j < len(s) and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            if j >= len(s):
                raise GqlError("unterminated string")
            out.append(("s", json.loads(s[i:j + 1])))
            i = j + 1
        elif c == "-" or c.isdigit():
            m = re.match(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", s[i:])
            if not m:
                raise GqlError(f"bad number at {i}")
            t = m.group(0)
            out.append(("n", float(t) if any(x in t for x in ".eE") else int(t)))
            i += len(t)
        elif c.isalpha() or c == "_":
            m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", s[i:])
            out.append(("w", m.group(0)))
            i += len(m.group(0))
        else:
            raise GqlError(f"unexpected character {c!r} at {i}")
    return out


class Gql:
    def __init__(self, text):
        self.t = gql_tokens(text)
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self, kind=None, val=None):
        k, v = self.peek()
        if k is None or (kind and k != kind) or (val is not None and v != val):
            raise GqlError(f"expected {val or kind}, got {v!r}")
        self.i += 1
        return v

    def selection(self):
        self.take("p", "{")
        fields = []
        while self.peek() != ("p", "}"):
            name = self.take("w")
            args = {}
            if self.peek() == ("p", "("):
                self.take()
                while self.peek() != ("p", ")"):
                    k = self.take("w")
                    self.take("p", ":")
                    args[k] = self.value()
                self.take("p", ")")
            sub = self.selection() if self.peek() == ("p", "{") else None
            fields.append((name, args, sub))
        self.take("p", "}")
        return fields

    def value(self):
        k, v = self.peek()
        if k in ("s", "n"):
            self.i += 1
            return v
        if k == "w":
            self.i += 1
            return {"true": True, "false": False, "null": None}.get(v, v)
        if v == "[":
            self.take()
            out = []
            while self.peek() != ("p", "]"):
                out.append(self.value())
            self.take()
            return out
        if v == "{":
            self.take()
            out = {}
            while self.peek() != ("p", "}"):
                key = self.take("w")
                self.take("p", ":")
                out[key] = self.value()
            self.take()
            return out
        raise GqlError(f"unexpected {v!r}")


def where_ok(w, oid, props):
    op = w.get("operator")
    if op in ("And", "Or"):
        rs = [where_ok(x, oid, props) for x in w.get("operands", [])]
        return all(rs) if op == "And" else any(rs)
    if op == "Not":
        return not where_ok(w["operands"][0], oid, props)
    path = w.get("path", [])
    have = oid if path == ["id"] else props.get(path[0] if path else "")
    for key in ("valueText", "valueString", "valueDate", "valueInt", "valueNumber",
                "valueBoolean", "valueTextArray", "valueStringArray"):
        if key in w:
            want = w[key]
            break
    else:
        raise GqlError(f"where: no value for {path}")
    if "Date" in key and isinstance(have, str):
        have, want = parse_date(have), parse_date(want)
    if op == "Equal":
        return have == want or (isinstance(have, list) and want in have)
    if op == "NotEqual":
        return have != want
    if op == "ContainsAny":
        hv = have if isinstance(have, list) else [have]
        return any(x in hv for x in want)
    if have is None:
        return False
    return {"GreaterThan": have > want, "GreaterThanEqual": have >= want,
            "LessThan": have < want, "LessThanEqual": have <= want}[op]


def parse_date(s):
    s = s.replace("z", "Z").replace("Z", "+00:00").replace(" ", "T")
    from datetime import datetime
    return datetime.fromisoformat(s).timestamp()


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def bm25(store, cls, objs, query):
    """BM25F over the class's searchable text properties (k1 1.2, b 0.75)."""
    props = [p["name"] for p in store.classes[cls].get("properties", [])
             if p.get("dataType", [""])[0] in ("text", "text[]", "string", "string[]")
             and p.get("indexSearchable", True) and p.get("tokenization", "word") == "word"]
    docs = {}
    for oid, o in objs.items():
        words = []
        for p in props:
            v = o["properties"].get(p)
            if isinstance(v, list):
                v = " ".join(x for x in v if isinstance(x, str))
            if isinstance(v, str):
                words += tokens(v)
        docs[oid] = words
    q = set(tokens(query))
    n = len(docs) or 1
    avg = sum(len(w) for w in docs.values()) / n or 1
    df = {t: sum(1 for w in docs.values() if t in w) for t in q}
    out = {}
    for oid, words in docs.items():
        s = 0.0
        for t in q:
            f = words.count(t)
            if f:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * len(words) / avg))
        if s > 0:
            out[oid] = s
    return out


def fuse(legs, weights, fusion):
    """relativeScoreFusion or rankedFusion over [(id -> score)] legs, as Weaviate."""
    total, secondary = {}, {}
    for leg, w in zip(legs, weights):
        ranked = sorted(leg.items(), key=lambda kv: (-kv[1], kv[0]))[:HYBRID_MAX]
        if not ranked:
            continue
        hi, lo = ranked[0][1], ranked[-1][1]
        for rank, (oid, s) in enumerate(ranked):
            if fusion == "rankedFusion":
                add = w / (rank + 60)
            else:
                add = w if hi == lo else w * (s - lo) / (hi - lo)
            total[oid] = total.get(oid, 0.0) + add
            secondary[oid] = s
    return sorted(total, key=lambda oid: (-total[oid], -secondary[oid], oid)), total


def graphql(store, query):
    root = Gql(query).selection()
    data = {}
    for name, _, sub in root:
        if name != "Get":
            raise GqlError(f"only Get is served here, not {name}")
        data["Get"] = {}
        for cls, args, fields in sub or []:
            if cls not in store.classes:
                raise GqlError(f'Cannot query field "{cls}" on type "GetObjectsObj".')
            objs = store.objects.get(cls, {})
            if "where" in args:
                objs = {k: o for k, o in objs.items() if where_ok(args["where"], k, o["properties"])}
            limit = int(args.get("limit", 10))
            hy = args.get("hybrid")
            if hy is not None:
                alpha = float(hy.get("alpha", 0.75))
                fusion = hy.get("fusionType", "relativeScoreFusion")
                legs, weights = [], []
                if alpha > 0 and hy.get("vector"):
                    legs.append({k: cosine(hy["vector"], o["vector"]) for k, o in objs.items()
                                 if o.get("vector")})
                    weights.append(alpha)
                if alpha < 1 and hy.get("query"):
                    legs.append(bm25(store, cls, objs, hy["query"]))
                    weights.append(1 - alpha)
                order, scores = fuse(legs, weights, fusion)
            else:
                order, scores = sorted(objs), {}
            rows = []
            for oid in order[:limit]:
                o = objs[oid]
                row = {}
                for fname, _, fsub in fields or []:
                    if fname == "_additional":
                        add = {}
                        for a, _, _ in fsub or []:
                            if a == "id":
                                add["id"] = oid
                            elif a == "score":
                                add["score"] = repr(float(scores.get(oid, 0.0)))
                            elif a == "explainScore":
                                add["explainScore"] = "contract server"
                            elif a == "vector":
                                add["vector"] = list(o.get("vector") or [])
                            else:
                                add[a] = None
                        row["_additional"] = add
                    else:
                        row[fname] = o["properties"].get(fname)
                rows.append(row)
            data["Get"][cls] = rows
    return {"data": data}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real clients use it
    # Headers and body go out in two writes: with Nagle's algorithm the body
    # would wait for the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True
    server_version = "weaviate-contract/1"

    def log_message(self, fmt, *args):
        if self.server.logf:
            self.server.logf.write("%s\n" % (fmt % args))
            self.server.logf.flush()

    def reply(self, status, body=None, op=None):
        st = self.server.store
        if op is not None and status < 600:
            for v in self.server.spec.check_response(op, status, body):
                with st.lock:
                    st.violations.append(f"{self.command} {self.path}: {v}")
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        st = self.server.store
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if url.path.startswith("/__control/"):
            return self.control(url.path, raw)
        with st.lock:
            key = f"{self.command} {url.path if not url.path.startswith('/v1/objects/') else '/v1/objects/{class}/{id}'}"
            st.requests[key] = st.requests.get(key, 0) + 1
        if self.server.api_key is not None and \
                self.headers.get("Authorization") != f"Bearer {self.server.api_key}":
            with st.lock:
                st.violations.append(f"{self.command} {url.path}: missing or wrong API key")
            return self.reply(401)
        try:
            body = json.loads(raw) if raw else None
        except ValueError as e:
            with st.lock:
                st.violations.append(f"{self.command} {url.path}: body is not JSON ({e})")
            return self.reply(400, {"error": [{"message": "body is not JSON"}]})
        if raw and "application/json" not in (self.headers.get("Content-Type") or ""):
            with st.lock:
                st.violations.append(f"{self.command} {url.path}: body without Content-Type "
                                     "application/json")
        errs, op, pvals = self.server.spec.check(self.command, url.path, query, body)
        if errs:
            with st.lock:
                st.violations.extend(errs)
            return self.reply(422, {"error": [{"message": e} for e in errs]},
                              op if op else None)
        fault = self.take_fault(self.command, url.path)
        if fault and fault["kind"] == "status":
            return self.reply(fault.get("status", 500),
                              {"error": [{"message": fault.get("message", "injected failure")}]}, op)
        if fault and fault["kind"] == "drop" and fault.get("when", "before") == "before":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status, out = self.serve(self.command, url.path, query, body, op, pvals)
        if fault and fault["kind"] == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault and fault["kind"] == "slow":
            time.sleep(float(fault.get("seconds", 3)))
        self.reply(status, out, op)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

    def take_fault(self, method, path):
        st = self.server.store
        with st.lock:
            for f in st.faults:
                if f["kind"] == "object_error" or f.get("times", 1) == 0:
                    continue
                if f.get("method", "POST") != method or not path.startswith(
                        f.get("path", "/v1/batch/objects")):
                    continue
                if f.get("times", 1) > 0:
                    f["times"] = f.get("times", 1) - 1
                return f
        return None

    def object_fault(self, post_id):
        st = self.server.store
        for f in st.faults:
            if f["kind"] == "object_error" and f.get("times", 1) != 0 and \
                    f.get("post_id") == post_id:
                if f.get("times", 1) > 0:
                    f["times"] = f.get("times", 1) - 1
                return f["message"]
        return None

    def put_object(self, o):
        """Stores one object like Weaviate; returns an error message or None."""
        st = self.server.store
        cls = o.get("class")
        if cls not in st.classes:
            return f"class '{cls}' not found in schema"
        oid = o.get("id")
        if not oid or not UUID.match(oid):
            return f"id '{oid}' is not a valid uuid"
        props = o.get("properties") or {}
        msg = self.object_fault(props.get("post_id"))
        if msg:
            return msg
        known = {p["name"]: p.get("dataType", ["text"]) for p in st.classes[cls].get("properties", [])}
        for name, v in props.items():
            if name not in known:
                return f"no such prop with name '{name}' found in class '{cls}' in the schema"
            e = prop_error(cls, name, known[name], v)
            if e:
                return e
        vec = o.get("vector")
        if vec:
            d = st.dims.get(cls)
            if d is not None and d != len(vec):
                return (f"insert to vector index: new node has a vector with length {len(vec)}. "
                        f"Existing nodes have vectors with length {d}")
            st.dims[cls] = len(vec)
        now = int(time.time() * 1000)
        objs = st.objects.setdefault(cls, {})
        old = objs.get(oid.lower())
        # float32 arrays: 1.5 KB per 384-dim vector instead of ~9 KB of floats
        # (a benchmark stores 100,000).
        objs[oid.lower()] = {"properties": props, "vector": array.array("f", vec or []),
                             "creationTimeUnix": old["creationTimeUnix"] if old else now,
                             "lastUpdateTimeUnix": now}
        return None

    def serve(self, method, path, query, body, op, pv):
        st = self.server.store
        with st.lock:
            if path == "/v1/batch/objects" and method == "POST":
                out = []
                for o in body.get("objects") or []:
                    err = self.put_object(o)
                    item = {k: v for k, v in o.items() if k != "vector"}
                    item["result"] = {"status": "FAILED", "errors": {"error": [{"message": err}]}} \
                        if err else {"status": "SUCCESS"}
                    out.append(item)
                return 200, out
            if path == "/v1/batch/objects" and method == "DELETE":
                m = body.get("match", {})
                cls = m.get("class")
                objs = st.objects.get(cls, {})
                try:
                    hits = [k for k, o in objs.items() if where_ok(m.get("where", {}), k,
                                                                      o["properties"])]
                except (GqlError, KeyError, TypeError) as e:
                    return 422, {"error": [{"message": f"invalid where filter: {e}"}]}
                res = []
                for k in hits:
                    if not body.get("dryRun"):
                        del objs[k]
                    res.append({"id": k, "status": "DRYRUN" if body.get("dryRun") else "SUCCESS"})
                return 200, {"match": m, "output": body.get("output", "minimal"),
                             "dryRun": bool(body.get("dryRun")),
                             "results": {"matches": len(hits), "limit": 10000,
                                         "successful": len(hits), "failed": 0,
                                         "objects": res if body.get("output") == "verbose" else []}}
            if path == "/v1/objects" and method == "POST":
                err = self.put_object(body)
                if err:
                    return 422, {"error": [{"message": err}]}
                return 200, {k: v for k, v in body.items()}
            if path.startswith("/v1/objects/"):
                cls, oid = pv["className"], pv["id"].lower()
                o = st.objects.get(cls, {}).get(oid)
                if method == "DELETE":
                    if o is None:
                        return 404, None
                    del st.objects[cls][oid]
                    return 204, None
                if method == "GET":
                    if o is None:
                        return 404, None
                    out = {"class": cls, "id": oid, "properties": o["properties"],
                           "creationTimeUnix": o["creationTimeUnix"],
                           "lastUpdateTimeUnix": o["lastUpdateTimeUnix"]}
                    if "vector" in (query.get("include") or ""):
                        out["vector"] = list(o["vector"])
                    return 200, out
            if path == "/v1/schema" and method == "GET":
                return 200, {"classes": list(st.classes.values())}
            if path == "/v1/schema" and method == "POST":
                name = body.get("class")
                if name in st.classes:
                    return 422, {"error": [{"message": f"class name {name} already exists"}]}
                c = dict(body)
                c.setdefault("vectorizer", "none")
                c.setdefault("properties", [])
                st.classes[name] = c
                return 200, c
            if path.startswith("/v1/schema/"):
                cls = pv["className"]
                c = st.classes.get(cls)
                if c is None:
                    return 404, None
                if path.endswith("/properties") and method == "POST":
                    if any(p["name"] == body.get("name") for p in c["properties"]):
                        return 422, {"error": [{"message": "property already exists"}]}
                    c["properties"].append(body)
                    return 200, body
                if method == "GET":
                    return 200, c
            if path == "/v1/graphql" and method == "POST":
                try:
                    return 200, graphql(st, body.get("query", ""))
                except (GqlError, KeyError, ValueError, TypeError, IndexError) as e:
                    return 200, {"errors": [{"message": str(e)}]}
        return 404, None

    def control(self, path, raw):
        st = self.server.store
        with st.lock:
            if path == "/__control/faults":
                st.faults += json.loads(raw)["faults"]
                return self.reply(200, {"faults": len(st.faults)})
            if path == "/__control/reset":
                st.reset()
                self.server.load_class()
                return self.reply(200, {})
            if path == "/__control/state":
                return self.reply(200, {"violations": st.violations, "requests": st.requests,
                                        "objects": sum(len(v) for v in st.objects.values()),
                                        "faults_left": [f for f in st.faults
                                                        if f.get("times", 1) != 0]})
            if path == "/__control/objects":
                return self.reply(200, {c: {k: {"properties": o["properties"],
                                                "vector": list(o["vector"])}
                                            for k, o in objs.items()}
                                        for c, objs in st.objects.items()})
        return self.reply(404, {"error": [{"message": "no such control"}]})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--api-key-file")
    ap.add_argument("--class-file", help="a class definition (JSON) present from the start")
    ap.add_argument("--log")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.spec = Spec(a.spec)
    srv.store = Store()
    srv.api_key = open(a.api_key_file).read().strip() if a.api_key_file else None
    srv.logf = open(a.log, "a") if a.log else None

    def load_class():
        if a.class_file:
            c = json.load(open(a.class_file))
            srv.store.classes[c["class"]] = c
    srv.load_class = load_class
    load_class()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
