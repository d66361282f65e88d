#!/usr/bin/python3
"""Who may talk to what, checked on a rendered kustomization (used by
k8s_validate.py): Strimzi KafkaUser ACLs, NetworkPolicies, KEDA ScaledObjects
and the monitoring objects (PrometheusRule runbook links, Grafana dashboard).

Everything expected is derived from the programs' rendered configuration
(input.topics, kafka.group_id, decisions.topic, <source>.topic, redis.url,
sink.backend, metrics.pushgateway, kafka.brokers), the CronJobs' --sources,
schemas/topics.yaml (partitions, dead_letters) and the few outputs a program
has in code (FIXED_OUTPUTS, checked against the sources); the manifests must
grant exactly that: a topic missing from an ACL or one too many is an error.

Library only; `k8s_access.py acl-topics KAFKA_USERS.yaml` prints each user's
read/write topics as JSON (the live metrics check compares the topics the
running programs report with them).
"""
import fnmatch
import json
import os
import re
import sys
from dataclasses import dataclass, field

import yaml

# Programs that consume with a consumer group (the stage loop).
CONSUMERS = {"privacy-shield", "enricher", "embedder", "snowflake-sink", "weaviate-sink",
             "risk-svc"}
# input.topics defaults (each program's --help; k8s_validate's --help check
# compares them when the programs are built).
DEFAULT_INPUTS = {
    "privacy-shield": "source.social.tiktok,source.social.facebook,source.market.shopify,"
                      "source.market.daraz",
    "enricher": "clean.social,sink.snowflake.orders",
    "embedder": "enriched.social",
    "snowflake-sink": "sink.snowflake.orders,context.weather,risk.decisions,audit.privacy",
    "weaviate-sink": "sink.weaviate.vectors",
    "risk-svc": "sink.snowflake.orders",
}
# Outputs fixed in a program's code, per input topic pattern, and the file
# that names them (the check fails when the name is no longer there).
FIXED_OUTPUTS = {
    "privacy-shield": ("services/privacy-shield/shield.c", {
        "source.social.*": ["clean.social", "audit.privacy"],
        "source.market.*": ["sink.snowflake.orders", "audit.privacy"]}),
    "enricher": ("services/enricher/enricher.c", {"clean.social": ["enriched.social"]}),
    "embedder": ("services/embedder/embedder.h", {"enriched.social": ["sink.weaviate.vectors"]}),
}
# Output topics that are settings: key -> default.
SETTING_OUTPUTS = {"risk-svc": {"decisions.topic": "risk.decisions"}}
SCRAPER_TOPICS = {"shopify": "source.market.shopify", "daraz": "source.market.daraz",
                  "weather": "context.weather", "facebook": "source.social.facebook",
                  "tiktok": "source.social.tiktok"}
# dlq-replay's groups all start with this (dlq-replay, dlq-replay-reader,
# --group dlq-replay-<filter>).
DLQ_REPLAY_GROUP_PREFIX = "dlq-replay"

# NetworkPolicy peers by the labels of their pods.
PEERS = [
    ("kafka", {"strimzi.io/cluster": "sensory-kafka"}),
    ("redis", {"app.kubernetes.io/name": "redis"}),
    ("postgres", {"app.kubernetes.io/name": "postgresql"}),
    ("weaviate", {"app.kubernetes.io/name": "weaviate"}),
    ("pushgateway", {"app.kubernetes.io/name": "prometheus-pushgateway"}),
    ("dns", {"k8s-app": "kube-dns"}),
]
PEER_PORTS = {"kafka": {9092, 9093}, "redis": {6379}, "postgres": {5432}, "weaviate": {8080},
              "pushgateway": {9091}, "dns": {53}, "internet": {443}}
# The internet peer must not include the node-local/cloud metadata range.
INTERNET_MUST_EXCEPT = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}
INGRESS_FROM = {"monitoring": "metrics", "merchant-gateway": "http"}

SEVERITIES = {"critical", "warning", "info"}
RUNBOOKS = "docs/runbooks.md"


@dataclass
class Workload:
    svc: str
    obj: dict
    container: dict
    config: dict  # flattened settings of its --config file
    args: list
    env: dict
    labels: dict
    namespace: str
    extra: dict = field(default_factory=dict)

    @property
    def where(self):
        return f"{self.obj.get('kind')}/{self.obj['metadata'].get('name')}"


def csv(s):
    return [t.strip() for t in (s or "").split(",") if t.strip()]


def inputs_of(w):
    return csv(w.config.get("input.topics") or DEFAULT_INPUTS.get(w.svc, ""))


def arg_value(args, flag):
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def expected_access(ws, topics):
    """svc -> {"read": set, "write": set, "groups": set of (name, patternType)}
    for the workloads of one program (a program may run as several CronJobs)."""
    exp = {}
    for w in ws:
        e = exp.setdefault(w.svc, {"read": set(), "write": set(), "groups": set()})
        if w.svc in CONSUMERS:
            ins = inputs_of(w)
            e["read"] |= set(ins)
            e["groups"].add((w.config.get("kafka.group_id") or w.svc, "literal"))
            routes = FIXED_OUTPUTS.get(w.svc, ("", {}))[1]
            for t in ins:
                for pat, outs in routes.items():
                    if fnmatch.fnmatchcase(t, pat):
                        e["write"] |= set(outs)
                dl = (topics.get(t) or {}).get("dead_letters")
                if dl:
                    e["write"].add(dl)
            for key, default in SETTING_OUTPUTS.get(w.svc, {}).items():
                t = w.config.get(key, default)
                if t:
                    e["write"].add(t)
        elif w.svc == "scraper-ingest":
            for src in csv(arg_value(w.args, "--sources") or w.config.get("sources")):
                t = w.config.get(f"{src}.topic") or SCRAPER_TOPICS.get(src)
                if t:
                    e["write"].add(t)
                    dl = (topics.get(t) or {}).get("dead_letters")
                    if dl:
                        e["write"].add(dl)
    return exp


def dlq_replay_access(topics):
    dlqs = {t["dead_letters"] for t in topics.values() if t.get("dead_letters")}
    return {"read": dlqs,
            "write": {n for n, t in topics.items() if t.get("dead_letters") in dlqs},
            "groups": {(DLQ_REPLAY_GROUP_PREFIX, "prefix")}}


def user_access(user):
    """(access dict, errors) of a KafkaUser's ACLs."""
    acc = {"read": set(), "write": set(), "groups": set()}
    errs = []
    name = user["metadata"]["name"]
    authz = (user.get("spec") or {}).get("authorization") or {}
    if authz.get("type") != "simple":
        errs.append(f"KafkaUser/{name}: authorization.type must be simple")
    if ((user.get("spec") or {}).get("authentication") or {}).get("type") != "scram-sha-512":
        errs.append(f"KafkaUser/{name}: authentication.type must be scram-sha-512")
    for acl in authz.get("acls") or []:
        r = acl.get("resource") or {}
        ops = set(acl.get("operations") or ([acl["operation"]] if acl.get("operation") else []))
        if acl.get("type", "allow") != "allow":
            errs.append(f"KafkaUser/{name}: deny ACLs are not used here")
        rt, rn, pt = r.get("type"), r.get("name"), r.get("patternType", "literal")
        if rt == "topic" and pt == "literal" and ops == {"Read", "Describe"}:
            acc["read"].add(rn)
        elif rt == "topic" and pt == "literal" and ops == {"Write", "Describe"}:
            acc["write"].add(rn)
        elif rt == "group" and ops == {"Read"}:
            acc["groups"].add((rn, pt))
        else:
            errs.append(f"KafkaUser/{name}: unexpected ACL {rt} {rn} ({pt}) {sorted(ops)}: "
                        "topics get [Read, Describe] or [Write, Describe], groups [Read]")
    return acc, errs


def check_acls(objs, ws, topics, repo):
    errs = []
    users = {o["metadata"]["name"]: o for o in objs if o.get("kind") == "KafkaUser"}
    if not users:
        return errs
    exp = expected_access(ws, topics)
    if "dlq-replay" in users:
        exp["dlq-replay"] = dlq_replay_access(topics)
    for svc, (path, _) in FIXED_OUTPUTS.items():
        try:
            with open(os.path.join(repo, path), encoding="utf-8") as f:
                src = f.read()
        except OSError as e:
            errs.append(f"FIXED_OUTPUTS of {svc}: {e}")
            continue
        for outs in FIXED_OUTPUTS[svc][1].values():
            for t in outs:
                if f'"{t}"' not in src:
                    errs.append(f"FIXED_OUTPUTS: {path} no longer names {t} (update "
                                "tests/tools/k8s_access.py and the KafkaUser)")
    for svc in sorted(exp):
        if svc not in users:
            errs.append(f"program {svc} has no KafkaUser {svc}")
    for name, u in sorted(users.items()):
        if name not in exp:
            errs.append(f"KafkaUser/{name} belongs to no program in this rendering")
            continue
        acc, uerrs = user_access(u)
        errs += uerrs
        for what in ("read", "write", "groups"):
            missing = exp[name][what] - acc[what]
            extra = acc[what] - exp[name][what]
            if missing:
                errs.append(f"KafkaUser/{name}: {what} ACLs missing for {sorted(missing)}")
            if extra:
                errs.append(f"KafkaUser/{name}: {what} ACLs beyond its config: {sorted(extra)}")
        for t in acc["read"] | acc["write"]:
            if t not in topics:
                errs.append(f"KafkaUser/{name}: topic {t} is not in schemas/topics.yaml")
    return errs


# ---- NetworkPolicies --------------------------------------------------------

def selector_matches(sel, labels):
    """Kubernetes label selector semantics; an empty selector matches all."""
    if sel is None:
        return False
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for ex in sel.get("matchExpressions") or []:
        k, op, vals = ex.get("key"), ex.get("operator"), ex.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def peer_namespace(peer, own):
    ns_sel = peer.get("namespaceSelector")
    if ns_sel is None:
        return own
    name = (ns_sel.get("matchLabels") or {}).get("kubernetes.io/metadata.name")
    return name or "*"


def classify_peer(peer, own_ns):
    """('kafka@kafka', None) or (None, error)."""
    if "ipBlock" in peer:
        ib = peer["ipBlock"]
        if ib.get("cidr") != "0.0.0.0/0":
            return f"ipBlock:{ib.get('cidr')}", None
        missing = INTERNET_MUST_EXCEPT - set(ib.get("except") or [])
        if missing:
            return None, f"ipBlock 0.0.0.0/0 must except {sorted(missing)} (cluster, metadata)"
        return "internet", None
    labels = (peer.get("podSelector") or {}).get("matchLabels") or {}
    ns = peer_namespace(peer, own_ns)
    for name, want in PEERS:
        if all(labels.get(k) == v for k, v in want.items()):
            if name == "dns":
                return ("dns", None) if ns == "kube-system" else (None, "DNS peer outside "
                                                                         "kube-system")
            return (f"kafka@{ns}" if name == "kafka" else name), None
    if "podSelector" not in peer:
        return f"namespace:{ns}", None
    return None, f"unknown peer {json.dumps(peer, sort_keys=True)}"


def resolve_host_namespace(host, objs, own):
    """Namespace of the Service a program's host name points at (short name:
    its own namespace, or where an ExternalName Service there points)."""
    name = host.split(":")[0]
    parts = name.split(".")
    if len(parts) >= 2:
        return parts[1]
    for o in objs:
        if (o.get("kind") == "Service" and o["metadata"].get("name") == name
                and (o.get("spec") or {}).get("type") == "ExternalName"):
            return resolve_host_namespace(o["spec"].get("externalName", ""), [], own)
    return own


def expected_egress(w, objs):
    exp = {"dns"}
    brokers = csv(w.config.get("kafka.brokers") or w.env.get("KAFKA_BROKERS"))
    if brokers:
        exp.add("kafka@" + resolve_host_namespace(brokers[0], objs, w.namespace))
    if w.config.get("redis.url") or w.svc == "scraper-ingest":
        exp.add("redis")
    backend = w.config.get("sink.backend")
    if w.svc == "snowflake-sink":
        exp.add("internet" if backend == "snowflake" else "postgres")
    if w.svc == "weaviate-sink":
        exp.add("postgres" if backend == "postgres" else "weaviate")
    if w.svc == "scraper-ingest":
        exp.add("internet")  # the source APIs (HTTPS)
        if w.config.get("metrics.pushgateway"):
            exp.add("pushgateway")
    return exp


def pod_access(w, policies):
    """(egress peers, ingress sources, default-denied?, errors) of a pod."""
    egress, ingress, errs = {}, {}, []
    denied_in = denied_out = False
    for np in policies:
        spec = np.get("spec") or {}
        if np["metadata"].get("namespace", w.namespace) != w.namespace or \
                not selector_matches(spec.get("podSelector"), w.labels):
            continue
        types = set(spec.get("policyTypes") or ["Ingress"])
        if "Ingress" in types and not spec.get("ingress"):
            denied_in = True
        if "Egress" in types and not spec.get("egress"):
            denied_out = True
        npn = f"NetworkPolicy/{np['metadata']['name']}"
        for rule in spec.get("egress") or []:
            if not rule.get("to"):
                errs.append(f"{npn}: egress rule without `to` opens every destination")
                continue
            if not rule.get("ports"):
                errs.append(f"{npn}: egress rule without ports opens every port")
            ports = {p.get("port") for p in rule.get("ports") or []}
            for peer in rule["to"]:
                name, err = classify_peer(peer, w.namespace)
                if err:
                    errs.append(f"{npn}: {err}")
                    continue
                base = name.split("@")[0]
                bad = {p for p in ports if p not in PEER_PORTS.get(base, set())}
                if bad:
                    errs.append(f"{npn}: {name} on ports {sorted(map(str, bad))}, expected "
                                f"{sorted(PEER_PORTS.get(base, set()))}")
                egress.setdefault(name, set()).add(npn)
        for rule in spec.get("ingress") or []:
            if not rule.get("from"):
                errs.append(f"{npn}: ingress rule without `from` opens the pod to everyone")
                continue
            ports = [p.get("port") for p in rule.get("ports") or []]
            for peer in rule["from"]:
                if "podSelector" in peer or "ipBlock" in peer:
                    errs.append(f"{npn}: ingress only from whole namespaces here")
                    continue
                ns = peer_namespace(peer, w.namespace)
                ingress.setdefault(ns, set()).update(ports)
    return egress, ingress, denied_in and denied_out, errs


def check_netpols(objs, ws):
    policies = [o for o in objs if o.get("kind") == "NetworkPolicy"]
    if not policies:
        return []
    errs = []
    for w in ws:
        egress, ingress, denied, perrs = pod_access(w, policies)
        errs += [f"{w.where}: {e}" for e in perrs]
        if not denied:
            errs.append(f"{w.where}: no default-deny NetworkPolicy (Ingress and Egress) selects "
                        "its pods")
        exp = expected_egress(w, objs)
        got = set(egress)
        if exp - got:
            errs.append(f"{w.where}: pods cannot reach {sorted(exp - got)} (its config needs it)")
        if got - exp:
            errs.append(f"{w.where}: pods may reach {sorted(got - exp)}, which its config does "
                        f"not use (allowed by {sorted(set().union(*(egress[g] for g in got - exp)))})")
        ports = {p.get("name") for p in w.container.get("ports") or []}
        want_in = {}
        if "metrics" in ports:
            want_in["monitoring"] = "metrics"
        if w.svc == "risk-svc" and "http" in ports:
            want_in["merchant-gateway"] = "http"
        for ns, pset in ingress.items():
            if ns not in INGRESS_FROM:
                errs.append(f"{w.where}: ingress from namespace {ns} is not planned")
            elif ns == "merchant-gateway" and w.svc != "risk-svc":
                errs.append(f"{w.where}: only risk-svc takes traffic from merchant-gateway")
            elif pset != {INGRESS_FROM[ns]}:
                errs.append(f"{w.where}: ingress from {ns} on {sorted(map(str, pset))}, "
                            f"expected port {INGRESS_FROM[ns]}")
        for ns in want_in:
            if ns not in ingress:
                errs.append(f"{w.where}: {ns} cannot reach port {want_in[ns]}")
    return errs


# ---- KEDA -------------------------------------------------------------------

def check_keda(objs, ws, topics, prod):
    sos = [o for o in objs if o.get("kind") == "ScaledObject"]
    deploys = {o["metadata"]["name"]: o for o in objs if o.get("kind") == "Deployment"}
    hpas = [o for o in objs if o.get("kind") == "HorizontalPodAutoscaler"]
    by_obj = {}
    for w in ws:
        if w.obj.get("kind") == "Deployment":
            by_obj[w.obj["metadata"]["name"]] = w
    errs, scaled = [], set()
    for so in sos:
        n = f"ScaledObject/{so['metadata']['name']}"
        spec = so.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        target = ref.get("name")
        if ref.get("kind", "Deployment") != "Deployment" or target not in deploys:
            errs.append(f"{n}: scaleTargetRef {target} is not a Deployment of this rendering")
            continue
        scaled.add(target)
        if "replicas" in (deploys[target].get("spec") or {}):
            errs.append(f"{n}: Deployment/{target} sets replicas; KEDA owns them (drop the field)")
        for h in hpas:
            if ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == target:
                errs.append(f"{n}: HorizontalPodAutoscaler/{h['metadata']['name']} also scales "
                            f"{target}; KEDA creates its own")
        w = by_obj.get(target)
        if not w:
            errs.append(f"{n}: {target} runs no configured program")
            continue
        ins = inputs_of(w)
        group = w.config.get("kafka.group_id") or w.svc
        brokers = csv(w.config.get("kafka.brokers"))
        want_ns = resolve_host_namespace(brokers[0], objs, w.namespace) if brokers else None
        want_svc = brokers[0].split(":")[0].split(".")[0] if brokers else None
        seen = set()
        for t in spec.get("triggers") or []:
            md = t.get("metadata") or {}
            if t.get("type") == "cpu":
                continue
            if t.get("type") != "kafka":
                errs.append(f"{n}: trigger {t.get('type')} (lag triggers are type kafka)")
                continue
            if md.get("consumerGroup") != group:
                errs.append(f"{n}: consumerGroup {md.get('consumerGroup')} != the program's "
                            f"kafka.group_id {group}")
            seen.add(md.get("topic"))
            for b in csv(md.get("bootstrapServers")):
                host = b.split(":")[0]
                if host.split(".")[0] != want_svc or \
                        resolve_host_namespace(b, objs, w.namespace) != want_ns or \
                        b.split(":")[-1] != brokers[0].split(":")[-1]:
                    errs.append(f"{n}: bootstrapServers {b} is not the program's Kafka "
                                f"({brokers[0]} → namespace {want_ns})")
                elif "." not in host:
                    errs.append(f"{n}: bootstrapServers {b}: KEDA runs in its own namespace, "
                                "give the Service's namespace")
            thr = md.get("lagThreshold")
            if not (isinstance(thr, str) and thr.isdigit() and int(thr) > 0):
                errs.append(f"{n}: lagThreshold must be a positive integer string")
        if seen != set(ins):
            errs.append(f"{n}: lag triggers for {sorted(t for t in seen if t)}, the program "
                        f"consumes {sorted(ins)}")
        parts = max((topics.get(t) or {}).get("partitions", 0) for t in ins) if ins else 0
        mx, mn = spec.get("maxReplicaCount", 100), spec.get("minReplicaCount", 0)
        if mx > parts:
            errs.append(f"{n}: maxReplicaCount {mx} > {parts} partitions of its widest input "
                        "(idle consumers never pass /readyz)")
        if mn < 1:
            errs.append(f"{n}: minReplicaCount {mn}: keep at least one consumer")
    if prod:
        for name, d in deploys.items():
            comp = ((d.get("metadata") or {}).get("labels") or {}).get(
                "app.kubernetes.io/component")
            if comp in ("stream-processor", "sink") and name not in scaled:
                errs.append(f"Deployment/{name}: a streaming stage without a KEDA ScaledObject "
                            "in prod")
    return errs


# ---- monitoring -------------------------------------------------------------

def github_anchor(heading):
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


def runbook_sections(repo):
    path = os.path.join(repo, RUNBOOKS)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    return {github_anchor(m.group(1)): m.group(1)
            for m in re.finditer(r"^#{2,4} +(.+?) *$", text, re.M)}


def check_monitoring(objs, repo):
    errs = []
    rules = [o for o in objs if o.get("kind") == "PrometheusRule"]
    sections = runbook_sections(repo) if rules else {}
    alerts = set()
    for pr in rules:
        n = f"PrometheusRule/{pr['metadata']['name']}"
        if sections is None:
            errs.append(f"{n}: {RUNBOOKS} missing")
            sections = {}
        for g in (pr.get("spec") or {}).get("groups") or []:
            for r in g.get("rules") or []:
                if "alert" not in r:
                    continue
                a = r["alert"]
                alerts.add(a)
                if (r.get("labels") or {}).get("severity") not in SEVERITIES:
                    errs.append(f"{n}: alert {a}: labels.severity must be one of "
                                f"{sorted(SEVERITIES)}")
                ann = r.get("annotations") or {}
                for k in ("summary", "description", "runbook_url"):
                    if not ann.get(k):
                        errs.append(f"{n}: alert {a}: annotation {k} missing")
                url = ann.get("runbook_url") or ""
                anchor = url.split("#", 1)[1] if "#" in url else ""
                if not url.split("#")[0].endswith(RUNBOOKS):
                    errs.append(f"{n}: alert {a}: runbook_url must point into {RUNBOOKS}")
                elif anchor not in sections:
                    errs.append(f"{n}: alert {a}: {RUNBOOKS} has no section #{anchor}")
                elif sections[anchor] != a:
                    errs.append(f"{n}: alert {a}: its runbook section is titled "
                                f"{sections[anchor]!r}, not the alert's name")
    if rules and sections:
        for anchor, title in sections.items():
            if re.fullmatch(r"[A-Z][A-Za-z0-9]+", title) and title not in alerts:
                errs.append(f"{RUNBOOKS}: section {title} names no alert of the PrometheusRule")
    for cm in objs:
        labels = (cm.get("metadata") or {}).get("labels") or {}
        if cm.get("kind") != "ConfigMap" or "grafana_dashboard" not in labels:
            continue
        n = f"ConfigMap/{cm['metadata']['name']}"
        if labels["grafana_dashboard"] != "1":
            errs.append(f"{n}: the Grafana sidecar selects grafana_dashboard: \"1\"")
        for key, text in (cm.get("data") or {}).items():
            try:
                dash = json.loads(text)
            except ValueError as e:
                errs.append(f"{n}: {key} is not JSON: {e}")
                continue
            exprs = [t.get("expr") for p in dash.get("panels") or [] for t in p.get("targets")
                     or []]
            if not dash.get("uid") or not exprs or not all(exprs):
                errs.append(f"{n}: {key} needs a uid and panels whose targets all have expr")
    return errs


def check_rendering(objs, ws, topics, prod, repo):
    return (check_acls(objs, ws, topics, repo) + check_netpols(objs, ws)
            + check_keda(objs, ws, topics, prod) + check_monitoring(objs, repo))


def main(argv):
    if len(argv) == 3 and argv[1] == "acl-topics":
        out = {}
        with open(argv[2], encoding="utf-8") as f:
            for u in yaml.safe_load_all(f):
                if u and u.get("kind") == "KafkaUser":
                    acc, _ = user_access(u)
                    out[u["metadata"]["name"]] = {"read": sorted(acc["read"]),
                                                  "write": sorted(acc["write"])}
        json.dump(out, sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    print("usage: k8s_access.py acl-topics KAFKA_USERS.yaml", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
