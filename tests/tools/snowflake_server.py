#!/usr/bin/python3
"""Contract server for snowflake-sink's Snowflake store: the SQL API v2 on
127.0.0.1 (ephemeral port), never a real account.

  snowflake_server.py --spec OPENAPI.yaml --fixtures DIR --public-key PEM
                      --account XY12345 --user SENSORY_LOADER
                      --port-file F --log F [--fault KIND:N ...]

Every request is checked against the OpenAPI document (path, method,
parameters with their types and formats, required headers, the JSON body's
schema) plus what Snowflake's docs add: `retry=true` on a resubmission, a
key-pair JWT (RS256 signature verified with the public key; iss =
ACCOUNT.USER.SHA256:<fingerprint of that key>, sub = ACCOUNT.USER, a lifetime
of at most one hour, not expired) with X-Snowflake-Authorization-Token-Type:
KEYPAIR_JWT, and a User-Agent. A request that breaks a rule is logged with
"violation" and counted. Every response served is checked against the
document's schema for its status, too.

Statements are executed against an in-memory model of the warehouse, so a
test can compare final states: `CALL sensory_sink_apply(?, ?)` MERGEs the
batch into orders (a newer event time wins), price_history,
weather_observations, risk_decisions, privacy_audit and sink_offsets (raised
only; rows below the kept offset skipped) all or nothing, as the procedure in
deploy/sql/snowflake.sql does; a value Snowflake cannot cast (a price beyond
NUMBER(14,2), year 0) fails the whole statement with 422 and Snowflake's
error code. The statements of --init-schema and the offset lookups are
understood as well.

requestId: a request id seen before is answered from its first execution
when retry=true is set (never executed twice). Without retry=true it runs
again (what Snowflake does; a restarted sink cannot know what its
predecessor sent): counted as "reexecuted", with the rows it wrote.

Faults, by the number N of the batch statement (CALL, counted from 1):
  202:N   answer 202 with a statement handle; the first poll answers 202
          again, the second 200
  429:N   answer 429 with Retry-After: 1, without executing
  503:N   answer 503 with Retry-After: 1, without executing
  drop:N  execute, then close the connection without an answer
  401:N   answer 401 (as for an expired token), without executing

GET /_test/state answers the model and the counters as JSON. Stop with
SIGTERM.
"""
import argparse
import base64
import copy
import datetime
import decimal
import hashlib
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
HANDLE_RE = re.compile(r"^[0-9a-fA-F-]{8,63}$")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# ---- the OpenAPI document --------------------------------------------------------------


class Spec:
    def __init__(self, path):
        self.doc = yaml.safe_load(open(path))

    def resolve(self, node):
        """Follows "$ref": "#/a/b" pointers, recursively."""
        if isinstance(node, dict):
            if "$ref" in node:
                target = self.doc
                for part in node["$ref"][2:].split("/"):
                    target = target[part]
                return self.resolve(target)
            return {k: self.resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        return node

    def json_schema(self, schema):
        """OpenAPI 3.0 schema → JSON Schema: `nullable` becomes a null type,
        documentation keywords go."""
        if isinstance(schema, list):
            return [self.json_schema(s) for s in schema]
        if not isinstance(schema, dict):
            return schema
        out = {}
        for k, v in schema.items():
            if k in ("example", "description", "nullable"):
                continue
            if k == "properties":
                out[k] = {name: self.json_schema(s) for name, s in v.items()}
            elif k == "items":
                out[k] = self.json_schema(v)
            else:
                out[k] = v
        if schema.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        return out

    def operation(self, method, path):
        for template, item in self.doc["paths"].items():
            pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"
            m = re.match(pattern, path)
            if m and method.lower() in item:
                item = self.resolve(item)
                params = item.get("parameters", []) + item[method.lower()].get("parameters", [])
                return item[method.lower()], params, m.groupdict()
        return None, None, None


def check_param(p, raw, errors):
    schema = p.get("schema", {})
    name = p["name"]
    t = schema.get("type")
    if t == "boolean" and raw not in ("true", "false"):
        errors.append("%s %s: not a boolean" % (p["in"], name))
    elif t == "integer":
        if not re.match(r"^-?\d+$", raw):
            errors.append("%s %s: not an integer" % (p["in"], name))
        elif "minimum" in schema and int(raw) < schema["minimum"]:
            errors.append("%s %s: below minimum" % (p["in"], name))
    if schema.get("format") == "uuid" and not UUID_RE.match(raw):
        errors.append("%s %s: not a uuid" % (p["in"], name))
    if raw == "" and p.get("allowEmptyValue") is False:
        errors.append("%s %s: empty" % (p["in"], name))


# ---- the warehouse model ------------------------------------------------------------------


class StatementError(Exception):
    def __init__(self, code, sql_state, message):
        super().__init__(message)
        self.code, self.sql_state, self.message = code, sql_state, message


def as_time(v):
    """TIMESTAMP_TZ from text, as Snowflake's AUTO detection would."""
    if v is None:
        return None
    try:
        t = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise StatementError("100035", "22007", "Timestamp '%s' is not recognized" % v)
    if t.tzinfo is None:
        raise StatementError("100035", "22007", "Timestamp '%s' is not recognized" % v)
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_number(v, precision, scale):
    if v is None:
        return None
    try:
        d = decimal.Decimal(v)
    except decimal.InvalidOperation:
        raise StatementError("100038", "22018", "Numeric value '%s' is not recognized" % v)
    if not d.is_finite() or abs(d) >= decimal.Decimal(10) ** (precision - scale):
        raise StatementError("100039", "22003", "Numeric value '%s' is out of range" % v)
    return str(d.quantize(decimal.Decimal(1).scaleb(-scale)))


class Warehouse:
    def __init__(self):
        self.t = {"orders": {}, "price_history": {}, "weather_observations": {},
                  "risk_decisions": {}, "privacy_audit": {}, "sink_offsets": {},
                  "schema_migrations": {}}
        self.ddl = []
        self.written = 0  # rows the batches wrote (not skipped as below the kept offsets)

    def apply(self, sink, batch):
        """sensory_sink_apply: every table and the offsets, or nothing."""
        t = copy.deepcopy(self.t)
        doc = json.loads(batch)
        kept = t["sink_offsets"]

        def fresh(row):
            topic, part, off = row[-3], int(row[-2]), int(row[-1])
            return not (part >= 0 and off < kept.get((sink, topic, part), -1))

        def latest(rows, key, order):
            best = {}
            for r in rows:
                k = key(r)
                if k not in best or order(r) >= order(best[k]):
                    best[k] = r
            return best.values()

        written = 0
        orders = [r for r in doc.get("orders", []) if fresh(r)]
        written += len(orders)
        for r in orders:  # casts first: one bad value fails the statement
            r[6] = as_number(r[6], 14, 2)
            r[5] = as_number(r[5], 38, 0)
            r[14] = as_time(r[14])
        for r in latest(orders, lambda r: (r[1], r[0], r[3]), lambda r: (r[14], int(r[17]))):
            k = (r[1], r[0], r[3])
            old = t["orders"].get(k)
            if old is None or (r[14], int(r[17])) >= (old["event_time"], old["kafka_offset"]):
                t["orders"][k] = {"order_status": r[8], "event_time": r[14], "price": r[6],
                                  "kafka_offset": int(r[17]), "quantity": r[5]}
        for r in orders:
            k = (r[1], r[3], r[6], r[7])
            ph = t["price_history"].setdefault(k, {"first": r[14], "last": r[14], "order": r[0]})
            if (r[14], r[0]) < (ph["first"], ph["order"]):
                ph["first"], ph["order"] = r[14], r[0]
            ph["last"] = max(ph["last"], r[14])
        for r in (r for r in doc.get("weather_observations", []) if fresh(r)):
            t["weather_observations"][(r[0], as_time(r[1]))] = r[:7]
            written += 1
        for r in (r for r in doc.get("risk_decisions", []) if fresh(r)):
            written += 1
            k = (r[0], r[4])
            decided = as_time(r[5])
            old = t["risk_decisions"].get(k)
            if old is None or decided >= old["decided_at"]:
                t["risk_decisions"][k] = {"score": r[1], "decision": r[2], "decided_at": decided,
                                          "decision_id": r[6], "features": r[7]}
        for r in (r for r in doc.get("privacy_audit", []) if fresh(r)):
            t["privacy_audit"][(r[0], int(r[1]), int(r[2]))] = r[3:7]
            written += 1
        for topic, part, nxt in doc.get("offsets", []):
            k = (sink, topic, int(part))
            kept[k] = max(kept.get(k, -1), int(nxt))
        self.t = t
        self.written += written

    def execute(self, statement, bindings, multi):
        """Returns (columns, rows) of the statement's result."""
        b = [bindings[k]["value"] for k in sorted(bindings, key=int)] if bindings else []
        s = " ".join(statement.split())
        if s == "CALL sensory_sink_apply(?, ?)":
            self.apply(b[0], b[1])
            return ["SENSORY_SINK_APPLY"], [["ok"]]
        if s.startswith("SELECT next_offset FROM sink_offsets"):
            v = self.t["sink_offsets"].get((b[0], b[1], int(b[2])))
            return ["NEXT_OFFSET"], [[str(v)]] if v is not None else []
        if s.startswith("CREATE TABLE IF NOT EXISTS schema_migrations"):
            return ["status"], [["Table SCHEMA_MIGRATIONS successfully created."]]
        if s.startswith("SELECT version FROM schema_migrations"):
            return ["VERSION"], [[str(v)] for (c, v) in sorted(self.t["schema_migrations"])
                                 if c == b[0]]
        if s.startswith("MERGE INTO schema_migrations"):
            self.t["schema_migrations"].setdefault((b[0], int(b[1])), b[2])
            return ["number of rows inserted"], [["1"]]
        if multi:
            if "sensory_sink_apply" in s and "$$" not in s:
                raise StatementError("001003", "42000", "SQL compilation error: syntax error")
            self.ddl.append(statement)
            return ["multiple statement execution"], [["Multiple statements executed successfully."]]
        raise StatementError("002003", "42S02",
                             "SQL compilation error: unknown statement '%s'" % s[:40])


# ---- the server -------------------------------------------------------------------------


class State:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.spec = Spec(a.spec)
        self.log = open(a.log, "a", buffering=1)
        self.wh = Warehouse()
        self.faults = {}
        for f in a.fault or []:
            kind, n = f.split(":")
            self.faults.setdefault(int(n), []).append(kind)
        fx = a.fixtures
        self.tpl = {s: json.load(open("%s/snowflake_statements_%d.json" % (fx, s)))
                    for s in (200, 202, 422)}
        pem = open(a.public_key, "rb").read()
        self.key = serialization.load_pem_public_key(pem)
        der = self.key.public_bytes(serialization.Encoding.DER,
                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        self.fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
        self.calls = 0
        self.executions = {}  # requestId -> times executed
        self.answers = {}  # requestId -> (status, body) of the execution
        self.handles = {}  # statement handle -> [polls left answering 202, (status, body)]
        self.throttled = {}  # requestId -> time of the 429/503
        self.retry_gaps = []  # seconds between a 429/503 and the resubmission
        self.counters = {"requests": 0, "violations": 0, "retries": 0, "dedup": 0, "polls": 0,
                         "faults": 0, "rejected_statements": 0, "reexecuted": 0,
                         "reexecuted_rows": 0}
        self.violations = []

    def violation(self, what):
        self.counters["violations"] += 1
        self.violations.append(what)

    def check_jwt(self, auth, token_type):
        if token_type != "KEYPAIR_JWT":
            return "X-Snowflake-Authorization-Token-Type is not KEYPAIR_JWT"
        if not auth or not auth.startswith("Bearer "):
            return "no Bearer token"
        parts = auth[7:].split(".")
        if len(parts) != 3:
            return "token is not a JWS compact serialisation"
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
        except ValueError:
            return "token parts are not base64url JSON"
        if header.get("alg") != "RS256":
            return "alg is not RS256"
        try:
            self.key.verify(sig, (parts[0] + "." + parts[1]).encode(), padding.PKCS1v15(),
                            hashes.SHA256())
        except InvalidSignature:
            return "signature does not verify with the public key"
        sub = "%s.%s" % (self.a.account.upper(), self.a.user.upper())
        if claims.get("sub") != sub:
            return "sub is not %s" % sub
        if claims.get("iss") != sub + "." + self.fingerprint:
            return "iss does not name the key's fingerprint"
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int):
            return "iat/exp are not integers"
        if exp - iat > 3600:
            return "lifetime over one hour"
        if exp <= now or iat > now + 60:
            return "token expired or issued in the future"
        return None


def make_handler(st):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body, headers=None, op=None):
            if op is not None and status in (200, 202, 422):
                resp = st.spec.resolve(op["responses"][str(status)])
                schema = st.spec.json_schema(resp["content"]["application/json"]["schema"])
                try:
                    jsonschema.Draft4Validator(schema).validate(body)
                except jsonschema.ValidationError as e:
                    st.violation("served %d body breaks the spec: %s" % (status, e.message))
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def result(self, handle, columns, rows):
            body = copy.deepcopy(st.tpl[200])
            body["statementHandle"] = handle
            body["statementStatusUrl"] = "/api/v2/statements/" + handle
            body["createdOn"] = int(time.time() * 1000)
            body["resultSetMetaData"] = {
                "numRows": len(rows), "format": "jsonv2",
                "rowType": [{"name": c, "type": "text", "length": 16777216, "precision": 0,
                             "scale": 0, "nullable": True} for c in columns],
                "partitionInfo": [{"rowCount": len(rows), "uncompressedSize": 64}]}
            body["data"] = rows
            return body

        def failure(self, handle, e):
            body = copy.deepcopy(st.tpl[422])
            body.update({"code": e.code, "sqlState": e.sql_state, "message": e.message,
                         "statementHandle": handle})
            return body

        def handle_request(self, method):
            parsed = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
            if parsed.path == "/_test/state" and method == "GET":
                with st.lock:
                    self.send(200, self.snapshot())
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            entry = {"method": method, "path": parsed.path, "query": parsed.query}
            with st.lock:
                st.counters["requests"] += 1
                errors = []
                op, params, path_vals = st.spec.operation(method, parsed.path)
                if op is None:
                    errors.append("no such operation in the spec")
                    self.finish_request(entry, errors, lambda: self.send(404, {"message": "no"}))
                    return
                known = set()
                for p in params:
                    known.add(p["name"])
                    if p["in"] == "query":
                        vals = query.get(p["name"])
                        if vals is None:
                            if p.get("required"):
                                errors.append("query %s missing" % p["name"])
                            continue
                        check_param(p, vals[0], errors)
                    elif p["in"] == "header":
                        v = self.headers.get(p["name"])
                        if v is None:
                            if p.get("required"):
                                errors.append("header %s missing" % p["name"])
                            continue
                        check_param(p, v, errors)
                    elif p["in"] == "path":
                        check_param(p, path_vals[p["name"]], errors)
                for name in query:
                    if name == "retry":  # documented by Snowflake, missing from this spec
                        check_param({"name": "retry", "in": "query",
                                     "schema": {"type": "boolean"}}, query[name][0], errors)
                    elif name not in known:
                        errors.append("query %s is not in the spec" % name)
                ua = self.headers.get("User-Agent", "")
                if not re.match(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/\S+", ua):
                    errors.append("User-Agent is not product/version")
                jwt_error = st.check_jwt(self.headers.get("Authorization"),
                                         self.headers.get("X-Snowflake-Authorization-Token-Type"))
                body = None
                if method == "POST" and parsed.path == "/api/v2/statements":
                    if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                        errors.append("Content-Type is not application/json")
                    schema = st.spec.json_schema(
                        op["requestBody"]["content"]["application/json"]["schema"])
                    try:
                        body = json.loads(raw)
                        jsonschema.Draft4Validator(schema).validate(body)
                    except (ValueError, jsonschema.ValidationError) as e:
                        errors.append("request body breaks the spec: %s" % getattr(e, "message", e))
                        body = None
                    for k, v in ((body or {}).get("bindings") or {}).items():
                        if not k.isdigit() or not isinstance(v, dict) or \
                                v.get("type") not in ("TEXT", "FIXED", "REAL", "BOOLEAN",
                                                      "DATE", "TIMESTAMP_TZ"):
                            errors.append("binding %s is not {type, value}" % k)
                if jwt_error:
                    errors.append("JWT: " + jwt_error)
                    self.finish_request(entry, errors, lambda: self.send(
                        401, {"code": "390144", "message": "JWT token is invalid."}))
                    return
                if body is None and method == "POST" and parsed.path == "/api/v2/statements":
                    self.finish_request(entry, errors, lambda: self.send(
                        400, {"code": "391903", "message": "bad request"}))
                    return
                if method == "GET":
                    self.finish_request(entry, errors, lambda: self.poll(path_vals, op))
                    return
                if parsed.path != "/api/v2/statements":
                    self.finish_request(entry, errors, lambda: self.send(
                        422, {"code": "000709", "message": "nothing to cancel",
                              "statementHandle": path_vals["statementHandle"]}))
                    return
                self.submit(entry, errors, query, body, op)

        def finish_request(self, entry, errors, respond):
            for e in errors:
                st.violation(e)
            if errors:
                entry["violation"] = "; ".join(errors)
            st.log.write(json.dumps(entry) + "\n")
            respond()

        def submit(self, entry, errors, query, body, op):
            rid = query.get("requestId", [None])[0]
            retry = query.get("retry", ["false"])[0] == "true"
            entry.update({"requestId": rid, "retry": retry})
            if rid is None:
                errors.append("no requestId: a resubmission could run twice")
            if retry:
                st.counters["retries"] += 1
            if rid in st.throttled:
                st.retry_gaps.append(time.time() - st.throttled.pop(rid))
            again = rid in st.answers
            if again:
                if not retry:
                    # Legitimate only from a new process, which cannot know
                    # what its predecessor sent: it runs again, and must
                    # write nothing (the MERGE skips rows below the kept
                    # offsets): counted, with the rows it changed.
                    st.counters["reexecuted"] += 1
                else:
                    st.counters["dedup"] += 1
                    status, answer = st.answers[rid]
                    entry["answered_from_first_execution"] = True
                    self.finish_request(entry, errors, lambda: self.send(status, answer, op=op))
                    return
            statement = body["statement"]
            is_call = " ".join(statement.split()) == "CALL sensory_sink_apply(?, ?)"
            faults = []
            if is_call:
                st.calls += 1
                faults = st.faults.get(st.calls, [])
                entry["call"] = st.calls
            if "429" in faults or "503" in faults:
                st.counters["faults"] += 1
                st.throttled[rid] = time.time()
                code = 429 if "429" in faults else 503
                self.finish_request(entry, errors, lambda: self.send(
                    code, None, {"Retry-After": "1"}))
                return
            if "401" in faults:
                st.counters["faults"] += 1
                self.finish_request(entry, errors, lambda: self.send(
                    401, {"code": "390114", "message": "Authentication token has expired."}))
                return
            handle = str(uuid.uuid4())
            multi = ((body.get("parameters") or {}).get("multi_statement_count") == 0)
            try:
                before = st.wh.written
                columns, rows = st.wh.execute(statement, body.get("bindings"), multi)
                if again:
                    st.counters["reexecuted_rows"] += st.wh.written - before
                status, answer = 200, self.result(handle, columns, rows)
            except StatementError as e:
                st.counters["rejected_statements"] += 1
                status, answer = 422, self.failure(handle, e)
            except (KeyError, IndexError, TypeError, ValueError) as e:
                errors.append("statement's bindings do not fit it: %s" % e)
                status, answer = 422, self.failure(handle, StatementError(
                    "002043", "42601", "SQL compilation error"))
            st.executions[rid] = st.executions.get(rid, 0) + 1
            st.answers[rid] = (status, answer)
            entry.update({"executed": True, "status": status})
            if "drop" in faults:
                st.counters["faults"] += 1
                entry["dropped"] = True
                self.finish_request(entry, errors, lambda: None)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if "202" in faults:
                st.counters["faults"] += 1
                st.handles[handle] = [1, (status, answer)]
                running = copy.deepcopy(st.tpl[202])
                running["statementHandle"] = handle
                running["statementStatusUrl"] = "/api/v2/statements/" + handle
                st.answers[rid] = (202, running)
                self.finish_request(entry, errors, lambda: self.send(202, running, op=op))
                return
            self.finish_request(entry, errors, lambda: self.send(status, answer, op=op))

        def poll(self, path_vals, op):
            st.counters["polls"] += 1
            h = path_vals["statementHandle"]
            if h not in st.handles:
                self.send(404, {"message": "no such statement"})
                return
            pending = st.handles[h]
            if pending[0] > 0:
                pending[0] -= 1
                running = copy.deepcopy(st.tpl[202])
                running["statementHandle"] = h
                self.send(202, running, op=op)
                return
            status, answer = pending[1]
            self.send(status, answer, op=op)

        def snapshot(self):
            t = st.wh.t
            return {
                "counters": st.counters,
                "violations": st.violations[:50],
                "executions": st.executions,
                "retry_gaps": st.retry_gaps,
                "calls": st.calls,
                "tables": {k: len(v) for k, v in t.items()},
                "orders": [[k[0], k[1], k[2], v["order_status"], v["event_time"]]
                           for k, v in sorted(t["orders"].items())],
                "sink_offsets": [[k[0], k[1], k[2], v] for k, v in sorted(t["sink_offsets"].items())],
                "schema_migrations": [[k[0], k[1], v]
                                      for k, v in sorted(t["schema_migrations"].items())],
                "ddl": len(st.wh.ddl),
            }

        def do_GET(self):
            self.handle_request("GET")

        def do_POST(self):
            self.handle_request("POST")

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--public-key", required=True)
    ap.add_argument("--account", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fault", action="append")
    a = ap.parse_args()
    st = State(a)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(st))
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    import signal
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()


if __name__ == "__main__":
    main()
