#!/usr/bin/python3
"""Offline validation of Sensory's k8s/ manifests and deploy/Dockerfile.

No cluster, kubectl or Docker engine is needed. The tool

1. renders every kustomization under k8s/ itself (the subset of kustomize the
   repo uses; any other kustomization field is an error, so the renderer cannot
   silently diverge) and, when `kubectl kustomize` is available, compares its
   rendering with kubectl's;
2. validates each rendered object against the Kubernetes 1.30 standalone-strict
   JSON schema of its kind, or for custom resources against the CRD's
   openAPIV3Schema of the version used (made strict: unknown fields rejected),
   and each kustomization.yaml against kustomization.json;
3. applies Sensory policy (security context, resources, probes, config keys,
   env names, secret mounts, topics == schemas/topics.yaml, ...);
4. checks that k8s/base/kafka-topics.yaml is what k8s/gen-topics.py generates;
5. checks deploy/Dockerfile statically;
6. runs the negative fixtures of tests/fixtures/k8s-bad/ and asserts each is
   rejected for the expected reason (the tool must be able to fail).

Prints one PASS/FAIL/SKIP line per check and closes with "N passed, M failed";
exits 1 when anything failed.

Usage: k8s_validate.py [--repo DIR] [--bin DIR] [--fixtures DIR]
       k8s_validate.py --check-dir KUSTOMIZATION_DIR   (validate one, print errors)
"""
import argparse
import copy
import ctypes
import ctypes.util
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8s_access  # noqa: E402  (ACLs, NetworkPolicies, KEDA, monitoring)

# ---------------------------------------------------------------------------
# Data: what the services accept. MUST match the config tables in common/ and
# services/*/ (conf_entry_t: yaml key + env). When $SENSORY_BIN/<service>
# exists its --help output is checked against what the manifests use.
# ---------------------------------------------------------------------------

# Environment variables every service may read (brief + common/core/config.c).
ALLOWED_ENV = {
    "KAFKA_BROKERS", "REDIS_URL", "REDIS_PASSWORD_FILE", "DATABASE_URL", "PRIVACY_HMAC_KEY_FILE",
    "PRIVACY_KEY_ID", "DLQ_KEY_FILE", "LOG_LEVEL", "METRICS_ADDR", "SCHEMAS_DIR",
    # scraper-ingest API credentials (files of the Secret sensory-scraper-tokens)
    "SHOPIFY_TOKEN_FILE", "DARAZ_APP_SECRET_FILE", "DARAZ_ACCESS_TOKEN_FILE",
    "WEATHER_API_KEY_FILE", "FACEBOOK_TOKEN_FILE", "TIKTOK_TOKEN_FILE",
    # weaviate-sink (common/store/weaviate.h, pg.h, services/weaviate-sink/post_sink.c)
    "WEAVIATE_API_KEY_FILE", "WEAVIATE_URL", "SINK_BACKEND", "DATABASE_PASSWORD_FILE",
    # risk-svc API keys (file of the Secret sensory-risk-api-keys)
    "RISK_API_KEYS_FILE",
}
# Environment variables of one program's own settings (its conf_entry_t .env).
SERVICE_ENV = {
    "embedder": {"EMBEDDER_THREADS"},
}
# Programs whose compute threads must follow the container's CPU limit: env
# name of the thread count (services/embedder/threads.h: more threads than
# the CFS quota are throttled; the program clamps, the manifest should agree).
THREADS_ENV = {
    "embedder": "EMBEDDER_THREADS",
}
# KAFKA_<PROPERTY> env is a librdkafka pass-through (common/core/config.c).
KAFKA_ENV_RE = re.compile(r"^KAFKA_[A-Z0-9_]+$")

# YAML keys (dotted, after flattening) per service; "kafka.<property>" keys not
# listed are librdkafka pass-through.
ALLOWED_CONFIG_KEYS = {
    "scraper-ingest": {
        "kafka.brokers", "kafka.timeout_ms", "redis.url", "redis.password_file",
        "redis.connect_timeout_ms", "redis.command_timeout_ms", "redis.prefix", "lock.ttl_ms",
        "metrics.file", "metrics.pushgateway", "log.level", "schemas.dir", "dlq.key_file",
        "message.max_bytes", "sources", "max_pages", "file.batch", "http.timeout_ms",
        "http.connect_timeout_ms", "http.retries", "http.backoff_ms", "http.backoff_max_ms",
        "http.retry_after_max_s", "shopify.base_url", "shopify.api_version",
        "shopify.merchant_id", "shopify.rate_per_sec", "shopify.limit", "daraz.base_url",
        "daraz.app_key", "daraz.merchant_id", "daraz.created_after", "daraz.limit",
        "daraz.rate_per_sec", "weather.base_url", "weather.cities", "weather.rate_per_sec",
        "facebook.base_url", "facebook.api_version", "facebook.post_ids", "facebook.limit",
        "facebook.rate_per_sec", "tiktok.base_url", "tiktok.keywords", "tiktok.start_date",
        "tiktok.max_count", "tiktok.rate_per_sec",
    },
    "privacy-shield": {
        "kafka.brokers", "kafka.group_id", "input.topics", "schemas.dir",
        "privacy.hmac_key_file", "privacy.key_id", "dlq.key_file", "log.level",
        "metrics.addr", "message.max_bytes",
    },
    "enricher": {
        "kafka.brokers", "kafka.group_id", "input.topics", "schemas.dir", "dlq.key_file",
        "log.level", "metrics.addr", "message.max_bytes", "redis.url", "redis.password_file",
        "redis.connect_timeout_ms", "redis.command_timeout_ms", "cache.size", "cache.ttl_ms", "missing.log_interval_ms",
        "missing.log_ids",
    },
    "snowflake-sink": {
        "kafka.brokers", "kafka.group_id", "input.topics", "log.level", "metrics.addr",
        "dlq.key_file", "message.max_bytes", "commit.interval_ms", "shutdown.timeout_ms",
        "schemas.dir", "sink.backend", "sink.tables", "sink.batch_records", "sink.batch_bytes",
        "sink.batch_age_ms", "database.url", "database.password_file",
        "database.connect_timeout_ms", "database.statement_timeout_ms", "snowflake.account",
        "snowflake.user", "snowflake.private_key_file", "snowflake.private_key_passphrase_file",
        "snowflake.url", "snowflake.database", "snowflake.schema", "snowflake.warehouse",
        "snowflake.role", "snowflake.statement_timeout_s", "snowflake.request_timeout_ms",
        "snowflake.jwt_lifetime_s", "snowflake.retries", "snowflake.retry_after_max_s",
    },
    "embedder": {
        "kafka.brokers", "kafka.group_id", "input.topics", "schemas.dir", "dlq.key_file",
        "log.level", "metrics.addr", "message.max_bytes", "model.dir", "model.id",
        "model.max_tokens", "batch.max_messages", "batch.max_tokens", "batch.linger_ms",
        "cache.entries", "threads",
    },
    "weaviate-sink": {
        "kafka.brokers", "kafka.group_id", "input.topics", "schemas.dir", "dlq.key_file",
        "log.level", "metrics.addr", "message.max_bytes", "sink.backend",
        "sink.batch_records", "sink.batch_bytes", "sink.batch_age_ms",
        "weaviate.url", "weaviate.api_key_file", "weaviate.class", "weaviate.consistency_level",
        "weaviate.timeout_ms", "weaviate.connect_timeout_ms", "weaviate.retries",
        "weaviate.batch_objects", "weaviate.max_request_bytes", "weaviate.object_retries",
        "weaviate.startup_wait_ms", "database.url", "database.password_file",
        "database.connect_timeout_ms", "database.statement_timeout_ms",
    },
    "dlq-replay": {
        "kafka.brokers", "log.level", "dlq.key_file", "timeout_ms", "max_attempts", "group",
    },
    "risk-svc": {
        "kafka.brokers", "kafka.group_id", "input.topics", "schemas.dir", "dlq.key_file",
        "log.level", "metrics.addr", "message.max_bytes", "privacy.hmac_key_file",
        "privacy.key_id", "redis.url", "redis.password_file", "redis.connect_timeout_ms",
        "redis.command_timeout_ms", "http.addr", "http.threads", "http.max_body",
        "risk.api_keys_file", "risk.rate_limit", "risk.rate_burst", "risk.fail_mode",
        "rules.file", "decisions.topic", "decisions.queue_max", "history.prefix",
        "history.order_ttl_days", "history.customer_ttl_days", "history.velocity_max",
    },
}
# The env variable of a YAML key (same table entry). Env beats the file, so a
# key set in the ConfigMap while its env is set too is dead config.
CONFIG_KEY_ENV = {
    "kafka.brokers": "KAFKA_BROKERS", "schemas.dir": "SCHEMAS_DIR",
    "privacy.hmac_key_file": "PRIVACY_HMAC_KEY_FILE", "privacy.key_id": "PRIVACY_KEY_ID",
    "dlq.key_file": "DLQ_KEY_FILE", "log.level": "LOG_LEVEL", "metrics.addr": "METRICS_ADDR",
    "redis.url": "REDIS_URL", "redis.password_file": "REDIS_PASSWORD_FILE",
    "database.url": "DATABASE_URL",
    "weaviate.api_key_file": "WEAVIATE_API_KEY_FILE", "weaviate.url": "WEAVIATE_URL",
    "sink.backend": "SINK_BACKEND", "database.password_file": "DATABASE_PASSWORD_FILE",
    "database.url": "DATABASE_URL", "risk.api_keys_file": "RISK_API_KEYS_FILE",
    "database.password_file": "DATABASE_PASSWORD_FILE", "sink.backend": "SINK_BACKEND",
    "snowflake.private_key_file": "SNOWFLAKE_PRIVATE_KEY_FILE",
    "snowflake.private_key_passphrase_file": "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_FILE",
    "threads": "EMBEDDER_THREADS",
}
# Sensory's own keys under "kafka." (everything else there goes to librdkafka).
SENSORY_KAFKA_KEYS = {"kafka.brokers", "kafka.group_id"}

# Secrets the manifests may reference: name -> keys. The first two are created
# by operators from k8s/base/secret-template.yaml; the others by Strimzi.
KNOWN_SECRETS = {
    "sensory-privacy-key": {"hmac.key"},
    "sensory-dlq-key": {"dlq.key"},
    "sensory-scraper-tokens": {"shopify.token", "daraz.app_secret", "daraz.access_token",
                               "openweather.key", "facebook.token", "tiktok.token"},
    "sensory-weaviate-api-key": {"api.key"},
    "sensory-kafka-cluster-ca-cert": {"ca.crt"},  # Strimzi cluster CA (copied)
    "privacy-shield": {"password"},  # Strimzi KafkaUser secret
    # snowflake-sink's store: PostgreSQL password or the Snowflake key pair
    "sensory-warehouse": {"database.password", "snowflake.p8", "snowflake.passphrase"},
    "sensory-risk-api-keys": {"api-keys.txt"},  # risk-svc: NAME SCOPES SHA256HEX lines
}

IMAGE = "ghcr.io/sensory/sensory"
FLOATING_TAGS = {"", "latest", "main", "master", "dev", "edge"}
METRICS_PORT = 9102
TOPIC_CLUSTER = "sensory-kafka"

# Runtime packages of the image (decision) and the programs shipped.
RUNTIME_PACKAGES = {
    "librdkafka1", "libjansson4", "libyaml-0-2", "libssl3", "libcurl4", "libhiredis0.14",
    "libpq5", "libmicrohttpd12", "libpcre2-8-0", "libopenblas0-pthread", "libgomp1",
    "ca-certificates",
}
SLIM_BASE_PACKAGES = {"libc6", "libgcc-s1", "zlib1g", "libzstd1", "liblz4-1", "libsasl2-2",
                      "libgnutls30", "libstdc++6"}  # present or pulled in by the above

# Workload kinds whose pod template the policy checks.
POD_TEMPLATE_PATHS = {
    "Deployment": ["spec", "template"], "StatefulSet": ["spec", "template"],
    "DaemonSet": ["spec", "template"], "Job": ["spec", "template"],
    "CronJob": ["spec", "jobTemplate", "spec", "template"],
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass"}

# Strategic-merge list merge keys for the paths we patch (subset of the
# Kubernetes patchMergeKey tags).
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
    "volumeMounts": "mountPath", "ports": "containerPort", "imagePullSecrets": "name",
    "tolerations": None, "args": None, "command": None,
}

SUPPORTED_KUSTOMIZATION_FIELDS = {
    "apiVersion", "kind", "resources", "namespace", "labels", "commonLabels",
    "commonAnnotations", "images", "replicas", "patches", "configMapGenerator",
}


class RenderError(Exception):
    pass


# ---------------------------------------------------------------------------
# YAML helpers
# ---------------------------------------------------------------------------

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the CRDs are large


def load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=_LOADER) if d is not None]


def obj_id(o):
    md = o.get("metadata") or {}
    return (o.get("apiVersion"), o.get("kind"), md.get("namespace") or "", md.get("name"))


def fmt_id(o):
    md = o.get("metadata") or {}
    ns = md.get("namespace")
    return f"{o.get('kind')}/{(ns + '/') if ns else ''}{md.get('name')}"


def api_group_version(api_version):
    if "/" in (api_version or ""):
        g, v = api_version.split("/", 1)
        return g, v
    return "", api_version or ""


# ---------------------------------------------------------------------------
# The renderer (kustomize subset)
# ---------------------------------------------------------------------------

def strategic_merge(base, patch, key=None):
    """Strategic-merge `patch` into `base` (both plain data); returns the result."""
    if isinstance(patch, dict) and isinstance(base, dict):
        if patch.get("$patch") == "replace":
            return {k: v for k, v in patch.items() if k != "$patch"}
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, k)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(patch, list) and isinstance(base, list):
        mk = MERGE_KEYS.get(key)
        if mk and all(isinstance(i, dict) and mk in i for i in base + patch):
            out = [copy.deepcopy(i) for i in base]
            for item in patch:
                for idx, cur in enumerate(out):
                    if cur[mk] == item[mk]:
                        if item.get("$patch") == "delete":
                            out.pop(idx)
                        else:
                            out[idx] = strategic_merge(cur, item, None)
                        break
                else:
                    if item.get("$patch") != "delete":
                        out.append(copy.deepcopy(item))
            return out
        return copy.deepcopy(patch)
    return copy.deepcopy(patch)


def json_pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise RenderError(f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json6902_apply(doc, ops):
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, parts = op.get("op"), json_pointer(op.get("path", ""))
        if kind not in ("add", "replace", "remove", "test"):
            raise RenderError(f"JSON6902 op {kind!r} not supported by the offline renderer")
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        if isinstance(parent, list):
            idx = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(idx, copy.deepcopy(op["value"]))
            elif kind == "replace":
                parent[idx] = copy.deepcopy(op["value"])
            elif kind == "remove":
                parent.pop(idx)
            elif parent[idx] != op["value"]:
                raise RenderError(f"JSON6902 test failed at {op['path']}")
        else:
            if kind in ("replace", "remove", "test") and last not in parent:
                raise RenderError(f"JSON6902 {kind}: {op['path']} does not exist")
            if kind in ("add", "replace"):
                parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del parent[last]
            elif parent[last] != op["value"]:
                raise RenderError(f"JSON6902 test failed at {op['path']}")
    return doc


def target_matches(o, target):
    g, v = api_group_version(o.get("apiVersion"))
    md = o.get("metadata") or {}
    if "group" in target and target["group"] != g:
        return False
    if "version" in target and target["version"] != v:
        return False
    if "kind" in target and target["kind"] != o.get("kind"):
        return False
    if "name" in target and not re.fullmatch(target["name"], md.get("name") or ""):
        return False
    if "namespace" in target and target["namespace"] != md.get("namespace"):
        return False
    for f in ("labelSelector", "annotationSelector"):
        if f in target:
            raise RenderError(f"patch target {f} not supported by the offline renderer")
    return True


def apply_labels(o, pairs, selectors, templates):
    md = o.setdefault("metadata", {})
    md.setdefault("labels", {}).update(pairs)
    tpl = POD_TEMPLATE_PATHS.get(o.get("kind"))
    if tpl and (templates or selectors):
        t = o
        for p in tpl:
            t = t.setdefault(p, {})
        t.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
    if o.get("kind") == "CronJob" and (templates or selectors):
        # kustomize labels the Job template of a CronJob as well as its pod template.
        jt = o.setdefault("spec", {}).setdefault("jobTemplate", {})
        jt.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
    if selectors:
        kind = o.get("kind")
        spec = o.setdefault("spec", {})
        if kind == "Service":
            spec.setdefault("selector", {}).update(pairs)
        elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                      "PodDisruptionBudget"):
            spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)
        elif kind == "CronJob" or kind == "Job":
            pass  # kustomize leaves Job selectors alone (generated)
        elif kind not in ("ConfigMap", "Secret", "Namespace", "ServiceAccount", "KafkaTopic",
                          "ServiceMonitor"):
            raise RenderError(f"commonLabels selectors for kind {kind} are not supported by this renderer (use labels with includeSelectors)")


def pod_containers(pod_spec):
    return list(pod_spec.get("initContainers") or []) + list(pod_spec.get("containers") or [])


def pod_spec_of(o):
    path = POD_TEMPLATE_PATHS.get(o.get("kind"))
    if not path:
        return None
    t = o
    for p in path:
        t = (t or {}).get(p)
    return (t or {}).get("spec")


def split_image(image):
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    name, tag = image, None
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        name, tag = image[:colon], image[colon + 1:]
    return name, tag, digest


def apply_images(o, images):
    spec = pod_spec_of(o)
    if not spec:
        return
    for c in pod_containers(spec):
        name, tag, digest = split_image(c.get("image", ""))
        for im in images:
            if im.get("name") != name:
                continue
            name = im.get("newName", name)
            if "newTag" in im:
                tag = str(im["newTag"])
            if "digest" in im:
                digest, tag = im["digest"], None
            c["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def find_kustomization(d):
    for n in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        p = os.path.join(d, n)
        if os.path.isfile(p):
            return p
    return None


def generate_configmaps(kdir, kfile, gens):
    """configMapGenerator, the subset used here: files (KEY=PATH or PATH) and
    literals, options.labels, and disableNameSuffixHash (required: the hash
    suffix kustomize appends is not reproduced)."""
    out = []
    for g in gens:
        opts = g.get("options") or {}
        unknown = set(g) - {"name", "files", "literals", "options"}
        if unknown or set(opts) - {"disableNameSuffixHash", "labels"}:
            raise RenderError(f"{kfile}: configMapGenerator fields {sorted(unknown)} / options "
                              f"{sorted(opts)} not supported by the offline renderer")
        if opts.get("disableNameSuffixHash") is not True:
            raise RenderError(f"{kfile}: configMapGenerator {g.get('name')} needs "
                              "options.disableNameSuffixHash: true here")
        data = {}
        for f in g.get("files") or []:
            key, _, path = f.partition("=") if "=" in f else (os.path.basename(f), "", f)
            with open(os.path.join(kdir, path), encoding="utf-8") as fh:
                data[key] = fh.read()
        for lit in g.get("literals") or []:
            key, _, val = lit.partition("=")
            data[key] = val
        md = {"name": g["name"]}
        if opts.get("labels"):
            md["labels"] = dict(opts["labels"])
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data})
    return out


def render(kdir, extra_patches=(), seen_kfiles=None):
    """Renders the kustomization in kdir; returns a list of objects.
    extra_patches: additional patch file names (relative to kdir) to apply.
    seen_kfiles collects every kustomization file read (for schema checks)."""
    kfile = find_kustomization(kdir)
    if not kfile:
        raise RenderError(f"{kdir}: no kustomization.yaml")
    if seen_kfiles is not None:
        seen_kfiles.append(kfile)
    with open(kfile, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    unknown = set(k) - SUPPORTED_KUSTOMIZATION_FIELDS
    if unknown:
        raise RenderError(f"{kfile}: fields {sorted(unknown)} not supported by the offline "
                          "renderer (extend tests/tools/k8s_validate.py or avoid them)")
    objs = []
    for r in k.get("resources") or []:
        p = os.path.normpath(os.path.join(kdir, r))
        if os.path.isdir(p):
            objs.extend(render(p, seen_kfiles=seen_kfiles))
        elif os.path.isfile(p):
            objs.extend(load_yaml_docs(p))
        else:
            raise RenderError(f"{kfile}: resource {r} does not exist")
    objs.extend(generate_configmaps(kdir, kfile, k.get("configMapGenerator") or []))
    ids = [obj_id(o) for o in objs]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise RenderError(f"{kfile}: duplicate objects {sorted(map(str, dup))}")

    patches = list(k.get("patches") or []) + [{"path": p} for p in extra_patches]
    for pt in patches:
        if "path" in pt:
            ppath = os.path.join(kdir, pt["path"])
            if not os.path.isfile(ppath):
                raise RenderError(f"{kfile}: patch {pt['path']} does not exist")
            with open(ppath, encoding="utf-8") as f:
                text = f.read()
        else:
            text = pt.get("patch", "")
        body = list(yaml.safe_load_all(text))
        target = pt.get("target")
        if len(body) == 1 and isinstance(body[0], list):  # JSON6902
            if not target:
                raise RenderError(f"{kfile}: JSON6902 patch needs a target")
            hit = False
            for i, o in enumerate(objs):
                if target_matches(o, target):
                    objs[i] = json6902_apply(o, body[0])
                    hit = True
            if not hit:
                raise RenderError(f"{kfile}: patch target {target} matches nothing")
            continue
        for pdoc in body:
            if pdoc is None:
                continue
            if pdoc.get("$patch") == "delete" and not target:
                pmd = pdoc.get("metadata") or {}
                keep = [o for o in objs if not (
                    o.get("kind") == pdoc.get("kind")
                    and o.get("apiVersion") == pdoc.get("apiVersion")
                    and (o.get("metadata") or {}).get("name") == pmd.get("name"))]
                if len(keep) == len(objs):
                    raise RenderError(f"{kfile}: delete patch for {fmt_id(pdoc)} matches nothing")
                objs[:] = keep
                continue
            hit = False
            for i, o in enumerate(objs):
                if target:
                    ok = target_matches(o, target)
                else:
                    pmd = pdoc.get("metadata") or {}
                    ok = (o.get("kind") == pdoc.get("kind")
                          and o.get("apiVersion") == pdoc.get("apiVersion")
                          and (o.get("metadata") or {}).get("name") == pmd.get("name")
                          and (not pmd.get("namespace")
                               or pmd["namespace"] == (o.get("metadata") or {}).get("namespace")))
                if ok:
                    keep = {"apiVersion": o.get("apiVersion"), "kind": o.get("kind"),
                            "name": o["metadata"].get("name")}
                    objs[i] = strategic_merge(o, pdoc)
                    objs[i]["apiVersion"], objs[i]["kind"] = keep["apiVersion"], keep["kind"]
                    objs[i]["metadata"]["name"] = keep["name"]
                    hit = True
            if not hit:
                raise RenderError(f"{kfile}: patch for {fmt_id(pdoc)} matches nothing")

    ns = k.get("namespace")
    if ns:
        for o in objs:
            if o.get("kind") not in CLUSTER_SCOPED:
                o.setdefault("metadata", {})["namespace"] = ns
    if k.get("commonLabels"):
        for o in objs:
            apply_labels(o, k["commonLabels"], True, True)
    for lab in k.get("labels") or []:
        for o in objs:
            apply_labels(o, lab.get("pairs") or {}, bool(lab.get("includeSelectors")),
                         bool(lab.get("includeTemplates")))
    if k.get("commonAnnotations"):
        for o in objs:
            o.setdefault("metadata", {}).setdefault("annotations", {}).update(
                k["commonAnnotations"])
    for rep in k.get("replicas") or []:
        hit = False
        for o in objs:
            if (o.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet")
                    and o["metadata"].get("name") == rep.get("name")):
                o.setdefault("spec", {})["replicas"] = rep["count"]
                hit = True
        if not hit:
            raise RenderError(f"{kfile}: replicas for {rep.get('name')} matches nothing")
    if k.get("images"):
        for o in objs:
            apply_images(o, k["images"])
    return objs


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------

def crd_to_jsonschema(node):
    """OpenAPI v3 (structural, CRD flavour) -> strict JSON schema: objects with
    properties reject unknown fields unless x-kubernetes-preserve-unknown-fields."""
    if isinstance(node, list):
        return [crd_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in ("properties", "patternProperties"):
            out[k] = {pk: crd_to_jsonschema(pv) for pk, pv in v.items()}
        elif k.startswith("x-kubernetes-") or k in ("nullable", "description", "format"):
            continue
        else:
            out[k] = crd_to_jsonschema(v)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out = {"anyOf": [{"type": "integer"}, {"type": "string"}], **out}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"]
    if (out.get("type") == "object" and "properties" in out and "additionalProperties" not in out
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


class AllOf:
    """Validates against several schemas; each error names the file."""

    def __init__(self, validators):
        self.validators = validators

    def iter_errors(self, doc):
        for v, src in self.validators:
            for e in v.iter_errors(doc):
                if len(self.validators) > 1:
                    e.message = f"[{src}] {e.message}"
                yield e


class Schemas:
    def __init__(self, root):
        self.root = root
        self.core_dir = os.path.join(root, "v1.30.10-standalone-strict")
        # (group, version, kind) -> [(schema, source file, deprecated)]: every
        # CRD file (operator release) serving that version; an object must be
        # valid for all of them (an older and a newer KEDA or Strimzi).
        self.crds = {}
        for p in sorted(glob.glob(os.path.join(root, "crds", "*.yaml"))):
            for crd in load_yaml_docs(p):
                spec = crd.get("spec") or {}
                for ver in spec.get("versions") or []:
                    key = (spec["group"], ver["name"], spec["names"]["kind"])
                    sch = (ver.get("schema") or {}).get("openAPIV3Schema")
                    if sch and ver.get("served", True):
                        self.crds.setdefault(key, []).append(
                            (crd_to_jsonschema(sch), os.path.basename(p),
                             bool(ver.get("deprecated"))))
        self._cache = {}

    def for_object(self, o):
        """Returns (validator, description) or (None, reason)."""
        g, v = api_group_version(o.get("apiVersion"))
        kind = o.get("kind") or ""
        if (g, v, kind) in self.crds:
            entries = self.crds[(g, v, kind)]
            key = ("crd", g, v, kind)
            if key not in self._cache:
                self._cache[key] = AllOf([(jsonschema.Draft7Validator(sch), src)
                                          for sch, src, _ in entries])
            return self._cache[key], "+".join(src for _, src, _ in entries) + f" {v}"
        name = kind.lower() + (f"-{g.split('.')[0]}" if g else "") + f"-{v}.json"
        path = os.path.join(self.core_dir, name)
        if not os.path.isfile(path):
            return None, (f"no schema for {g or 'core'}/{v} {kind}: copy {name} (or the CRD) "
                          "into tests/fixtures/k8s-schemas/")
        if path not in self._cache:
            with open(path, encoding="utf-8") as f:
                self._cache[path] = jsonschema.Draft4Validator(json.load(f))
        return self._cache[path], name

    def crd_deprecated(self, o):
        g, v = api_group_version(o.get("apiVersion"))
        return any(dep for _, _, dep in self.crds.get((g, v, o.get("kind"))) or [])

    def kustomization_validator(self):
        with open(os.path.join(self.root, "kustomization.json"), encoding="utf-8") as f:
            return jsonschema.Draft4Validator(json.load(f))


def schema_errors(validator, doc, limit=5):
    errs = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    out = []
    for e in errs[:limit]:
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        out.append(f"{where}: {e.message[:200]}")
    return out


# ---------------------------------------------------------------------------
# librdkafka property check (ctypes; SKIP when the library is absent)
# ---------------------------------------------------------------------------

class Rdkafka:
    def __init__(self):
        self.lib = None
        for name in ("librdkafka.so.1", ctypes.util.find_library("rdkafka")):
            if not name:
                continue
            try:
                self.lib = ctypes.CDLL(name)
                break
            except OSError:
                pass
        if self.lib:
            self.lib.rd_kafka_conf_new.restype = ctypes.c_void_p
            self.lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                   ctypes.c_char_p, ctypes.c_char_p,
                                                   ctypes.c_size_t]
            self.lib.rd_kafka_conf_destroy.argtypes = [ctypes.c_void_p]

    def check(self, prop, value):
        """None when librdkafka accepts prop=value, else the reason."""
        conf = self.lib.rd_kafka_conf_new()
        err = ctypes.create_string_buffer(512)
        rc = self.lib.rd_kafka_conf_set(conf, prop.encode(), str(value).encode(), err, 512)
        self.lib.rd_kafka_conf_destroy(conf)
        return None if rc == 0 else err.value.decode(errors="replace")


# ---------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def flatten_config(node, prefix="", out=None):
    """Same flattening as common/core/config.c: nested maps -> dotted keys, a list of
    scalars -> comma-joined string."""
    out = {} if out is None else out
    if isinstance(node, dict):
        for k, v in node.items():
            flatten_config(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(node, list):
        if any(isinstance(i, (dict, list)) for i in node):
            raise ValueError(f"{prefix}: only lists of scalars are supported")
        out[prefix] = ",".join(str(i) for i in node)
    else:
        out[prefix] = "" if node is None else (str(node).lower() if isinstance(node, bool)
                                               else str(node))
    return out


class Context:
    def __init__(self, repo, topics, rdkafka, image_env):
        self.repo = repo
        self.topics = topics  # name -> dict
        self.rdkafka = rdkafka
        self.image_env = image_env  # ENV of the runtime image
        self.config_use = {}  # service -> set of config keys used (for --help check)
        self.env_use = {}  # service -> set of env names used
        self.deprecated = set()  # "Kind apiVersion" of deprecated CRD versions in use
        self.workloads = []  # k8s_access.Workload of the rendering being checked


# Programs whose readiness probe is /healthz on purpose (see the manifest).
READY_WHEN_ALIVE = {"risk-svc": "/healthz"}


def service_of_container(c):
    cmd = (c.get("command") or [None])[0] or ""
    return os.path.basename(cmd) if cmd.startswith("/usr/local/bin/") else c.get("name")


def check_pod(o, spec, objs, ctx, errs, prod):
    where = fmt_id(o)
    psc = spec.get("securityContext") or {}
    if spec.get("automountServiceAccountToken") is not False:
        errs.append(f"{where}: automountServiceAccountToken must be false")
    if psc.get("runAsUser") == 0:
        errs.append(f"{where}: pod runAsUser 0")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is None or grace < 30:
        errs.append(f"{where}: terminationGracePeriodSeconds must be >= 30 (SIGTERM drain)")
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    configmaps = {fmt_id(x): x for x in objs if x.get("kind") == "ConfigMap"}
    ns = (o.get("metadata") or {}).get("namespace") or ""
    for c in pod_containers(spec):
        cw = f"{where} container {c.get('name')}"
        sc = c.get("securityContext") or {}
        if not (sc.get("runAsNonRoot") is True or
                (psc.get("runAsNonRoot") is True and sc.get("runAsNonRoot") is not False)):
            errs.append(f"{cw}: runAsNonRoot must be true")
        if sc.get("runAsUser") == 0:
            errs.append(f"{cw}: runAsUser 0")
        if sc.get("readOnlyRootFilesystem") is not True:
            errs.append(f"{cw}: readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            errs.append(f"{cw}: allowPrivilegeEscalation must be false")
        if sc.get("privileged"):
            errs.append(f"{cw}: privileged")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            errs.append(f"{cw}: capabilities.drop must contain ALL")
        if (sc.get("capabilities") or {}).get("add"):
            errs.append(f"{cw}: capabilities.add not allowed")
        if ((sc.get("seccompProfile") or {}).get("type") or pod_seccomp) != "RuntimeDefault":
            errs.append(f"{cw}: seccompProfile RuntimeDefault required (pod or container)")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(part) or {}):
                    errs.append(f"{cw}: resources.{part}.{r} missing")
        # image
        name, tag, digest = split_image(c.get("image") or "")
        if name != IMAGE:
            errs.append(f"{cw}: image {c.get('image')!r} is not {IMAGE}")
        if not tag and not digest:
            errs.append(f"{cw}: image has neither tag nor digest")
        if prod and not digest and (tag or "") in FLOATING_TAGS:
            errs.append(f"{cw}: prod image tag {tag!r} is floating; pin a release or digest")
        # probes on long-running workloads
        ports = {p.get("name"): p for p in c.get("ports") or []}
        if o.get("kind") in ("Deployment", "StatefulSet", "DaemonSet") and \
                c in (spec.get("containers") or []):
            # An API that answers degraded without its dependencies (risk-svc,
            # fail-open) must stay in its Service: it is ready when alive.
            ready = READY_WHEN_ALIVE.get(service_of_container(c), "/readyz")
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", ready)):
                pr = c.get(probe)
                if not pr:
                    errs.append(f"{cw}: {probe} missing")
                    continue
                hg = pr.get("httpGet") or {}
                if hg.get("path") != path:
                    errs.append(f"{cw}: {probe} must GET {path}")
                if hg.get("port") != "metrics":
                    errs.append(f"{cw}: {probe} must use the named port metrics")
            mp = ports.get("metrics")
            if not mp or mp.get("containerPort") != METRICS_PORT:
                errs.append(f"{cw}: port metrics ({METRICS_PORT}) missing")
        # mounts
        mounts = {}
        for m in c.get("volumeMounts") or []:
            v = volumes.get(m.get("name"))
            if v is None:
                errs.append(f"{cw}: volumeMount {m.get('name')} has no volume")
                continue
            mounts[m.get("mountPath")] = (m, v)
            if ("secret" in v or "configMap" in v) and m.get("readOnly") is not True:
                errs.append(f"{cw}: mount {m.get('mountPath')} of a Secret/ConfigMap must be "
                            "readOnly")
        files = {}  # absolute path -> ("secret"|"configMap", name, key)
        for mpath, (m, v) in mounts.items():
            for src in ("secret", "configMap"):
                if src not in v:
                    continue
                ref = v[src]
                rname = ref.get("secretName") if src == "secret" else ref.get("name")
                items = ref.get("items")
                if src == "secret":
                    known = KNOWN_SECRETS.get(rname)
                    if known is None:
                        errs.append(f"{cw}: Secret {rname} is not a documented Secret "
                                    "(KNOWN_SECRETS / secret-template.yaml)")
                        known = set()
                    keys = known
                    mode = ref.get("defaultMode")
                    if mode is not None and (mode & 0o040) == 0:
                        errs.append(f"{cw}: Secret {rname} defaultMode {oct(mode)} is unreadable "
                                    "by the non-root user (fsGroup needs group read, 0440)")
                else:
                    cm = configmaps.get(f"ConfigMap/{ns + '/' if ns else ''}{rname}")
                    if cm is None:
                        errs.append(f"{cw}: ConfigMap {rname} is not in the rendered output")
                        continue
                    keys = set((cm.get("data") or {}).keys())
                for it in items or [{"key": k, "path": k} for k in keys]:
                    if it.get("key") not in keys:
                        errs.append(f"{cw}: {src} {rname} has no key {it.get('key')}")
                    files[os.path.join(mpath, it.get("path", ""))] = (src, rname, it.get("key"))
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if "secretKeyRef" in vf:
                ref = vf["secretKeyRef"]
                if ref.get("key") not in KNOWN_SECRETS.get(ref.get("name"), set()):
                    errs.append(f"{cw}: env {e.get('name')} uses undocumented Secret key "
                                f"{ref.get('name')}/{ref.get('key')}")
        # env names
        svc = service_of_container(c)
        env = {}
        for e in c.get("env") or []:
            n = e.get("name")
            env[n] = e.get("value")
            if n in ALLOWED_ENV or n in SERVICE_ENV.get(svc, ()):
                pass
            elif KAFKA_ENV_RE.match(n or ""):
                prop = n[6:].lower().replace("_", ".")
                if ctx.rdkafka.lib:
                    why = ctx.rdkafka.check(prop, "x")
                    if why and "Unknown" in why or why and "No such" in why:
                        errs.append(f"{cw}: env {n} -> librdkafka {prop}: {why}")
            else:
                errs.append(f"{cw}: env {n} is not a Sensory setting (ALLOWED_ENV)")
            ctx.env_use.setdefault(svc, set()).add(n)
        if c.get("envFrom"):
            errs.append(f"{cw}: envFrom hides which settings are used; list env explicitly")
        if svc in THREADS_ENV:
            check_threads_env(cw, c, THREADS_ENV[svc], errs)
        # file-valued settings must point into a read-only Secret mount
        for n, val in env.items():
            if n.endswith("_FILE"):
                if val not in files or files[val][0] != "secret":
                    errs.append(f"{cw}: env {n}={val} is not a file of a mounted Secret")
        # --config file
        args = list(c.get("args") or [])
        if "--config" in args:
            cfg_path = args[args.index("--config") + 1] if args.index("--config") + 1 < len(
                args) else ""
            if cfg_path != f"/etc/sensory/{svc}.yaml":
                errs.append(f"{cw}: --config must be /etc/sensory/{svc}.yaml, is {cfg_path}")
            if cfg_path not in files or files[cfg_path][0] != "configMap":
                errs.append(f"{cw}: --config {cfg_path} is not a file of a mounted ConfigMap")
            else:
                _, cmname, key = files[cfg_path]
                cm = configmaps[f"ConfigMap/{ns + '/' if ns else ''}{cmname}"]
                flat = check_service_config(cw, svc, cm["data"][key], env, c, files, ctx, errs)
                if flat is not None and c in (spec.get("containers") or []):
                    tpl = o
                    for part in POD_TEMPLATE_PATHS[o["kind"]]:
                        tpl = tpl[part]
                    ctx.workloads.append(k8s_access.Workload(
                        svc=svc, obj=o, container=c, config=flat, args=args, env=env,
                        labels=(tpl.get("metadata") or {}).get("labels") or {},
                        namespace=ns))
        elif o.get("kind") in ("Deployment", "CronJob", "Job"):
            errs.append(f"{cw}: no --config /etc/sensory/{svc}.yaml argument")


def cpu_quantity(q):
    """CPUs of a Kubernetes CPU quantity ("2", "1500m", "0.5"), or None."""
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(m?)", str(q).strip())
    if not m:
        return None
    return float(m.group(1)) / (1000 if m.group(2) else 1)


def check_threads_env(cw, c, name, errs):
    """The thread count must come from the container's own CPU limit
    (resourceFieldRef limits.cpu, divisor 1) or be a number no larger than
    that limit rounded down: more threads than the CFS quota are throttled."""
    limit = cpu_quantity(((c.get("resources") or {}).get("limits") or {}).get("cpu"))
    env = {e.get("name"): e for e in c.get("env") or []}
    e = env.get(name)
    if limit is None:
        return  # resources.limits.cpu missing is reported elsewhere
    if e is None:
        errs.append(f"{cw}: env {name} missing: set it from the CPU limit "
                    "(valueFrom.resourceFieldRef limits.cpu)")
        return
    ref = (e.get("valueFrom") or {}).get("resourceFieldRef")
    if ref is not None:
        if ref.get("resource") != "limits.cpu" or \
                ref.get("containerName", c.get("name")) != c.get("name") or \
                cpu_quantity(ref.get("divisor", "1")) != 1:
            errs.append(f"{cw}: env {name} must be the container's own limits.cpu "
                        "(resourceFieldRef, divisor 1)")
        elif limit != int(limit):
            errs.append(f"{cw}: CPU limit {limit:g} is not whole: {name} from it rounds up, "
                        "the program rounds the quota down; use whole CPUs")
        return
    try:
        n = int(e.get("value"))
    except (TypeError, ValueError):
        errs.append(f"{cw}: env {name}={e.get('value')!r} is not a number")
        return
    if n < 0 or n > max(1, int(limit)):
        errs.append(f"{cw}: env {name}={n} is more threads than its CPU limit {limit:g}")


def check_service_config(cw, svc, text, env, c, files, ctx, errs):
    try:
        flat = flatten_config(yaml.safe_load(text) or {})
    except (yaml.YAMLError, ValueError) as e:
        errs.append(f"{cw}: config {svc}.yaml does not parse: {e}")
        return None
    allowed = ALLOWED_CONFIG_KEYS.get(svc)
    if allowed is None:
        errs.append(f"{cw}: no ALLOWED_CONFIG_KEYS entry for service {svc}")
        allowed = set()
    for key, val in flat.items():
        ctx.config_use.setdefault(svc, set()).add(key)
        if key in allowed:
            pass
        elif key.startswith("kafka.") and key not in SENSORY_KAFKA_KEYS:
            if ctx.rdkafka.lib:
                why = ctx.rdkafka.check(key[6:], val)
                if why:
                    errs.append(f"{cw}: {svc}.yaml {key}: librdkafka rejects it: {why}")
        else:
            errs.append(f"{cw}: {svc}.yaml key {key} is unknown to {svc} "
                        "(the service would exit 2)")
        envname = CONFIG_KEY_ENV.get(key)
        if envname and (envname in env or envname in ctx.image_env):
            errs.append(f"{cw}: {svc}.yaml sets {key} but env {envname} is also set "
                        "(env wins: the file value is dead)")
        if key.endswith("_file") and (val not in files or files[val][0] != "secret"):
            errs.append(f"{cw}: {svc}.yaml {key}={val} is not a file of a mounted Secret")
    ma = flat.get("metrics.addr") or env.get("METRICS_ADDR") or f"0.0.0.0:{METRICS_PORT}"
    if not ma.endswith(f":{METRICS_PORT}"):
        errs.append(f"{cw}: metrics.addr {ma} does not serve the metrics port {METRICS_PORT}")
    for t in (flat.get("input.topics") or "").split(","):
        if t.strip() and t.strip() not in ctx.topics:
            errs.append(f"{cw}: input topic {t.strip()} is not in schemas/topics.yaml")
    return flat


def check_topics(objs, ctx, errs, strict_replication):
    found = {}
    for o in objs:
        if o.get("kind") != "KafkaTopic":
            continue
        md, spec = o.get("metadata") or {}, o.get("spec") or {}
        name = spec.get("topicName") or md.get("name")
        found[name] = o
        w = fmt_id(o)
        if (md.get("labels") or {}).get("strimzi.io/cluster") != TOPIC_CLUSTER:
            errs.append(f"{w}: label strimzi.io/cluster must be {TOPIC_CLUSTER}")
        t = ctx.topics.get(name)
        if not t:
            errs.append(f"{w}: topic {name} is not in schemas/topics.yaml")
            continue
        cfg = spec.get("config") or {}
        if spec.get("partitions") != t["partitions"]:
            errs.append(f"{w}: partitions {spec.get('partitions')} != {t['partitions']} "
                        "(topics.yaml)")
        if str(cfg.get("retention.ms")) != str(t["retention_hours"] * 3600000):
            errs.append(f"{w}: retention.ms {cfg.get('retention.ms')} != "
                        f"{t['retention_hours']}h (topics.yaml)")
        if cfg.get("cleanup.policy") != "delete":
            errs.append(f"{w}: cleanup.policy must be delete")
        rep, isr = spec.get("replicas"), cfg.get("min.insync.replicas")
        if strict_replication and (rep != 3 or str(isr) != "2"):
            errs.append(f"{w}: replicas/min.insync.replicas must be 3/2, are {rep}/{isr}")
        if isinstance(rep, int) and isr is not None and int(isr) > rep:
            errs.append(f"{w}: min.insync.replicas {isr} > replicas {rep}: unwritable")
    missing = set(ctx.topics) - set(found)
    if found and missing:
        errs.append(f"KafkaTopics missing for {sorted(missing)}")


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_objects(objs, schemas, ctx, label, prod, strict_replication):
    """All per-object checks of one rendering. Returns a list of error strings."""
    errs = []
    ctx.workloads = []
    for o in objs:
        w = fmt_id(o)
        md = o.get("metadata") or {}
        if not o.get("apiVersion") or not o.get("kind") or not md.get("name"):
            errs.append(f"{w}: apiVersion, kind and metadata.name are required")
            continue
        v, desc = schemas.for_object(o)
        if v is None:
            errs.append(f"{w}: {desc}")
        else:
            for e in schema_errors(v, o):
                errs.append(f"{w}: schema {desc}: {e}")
        if schemas.crd_deprecated(o):
            # Allowed (decision: v1beta2), reported so the move is not forgotten.
            ctx.deprecated.add(f"{o['kind']} {o['apiVersion']}")
        if not DNS1123_SUBDOMAIN.match(md["name"]) or len(md["name"]) > 253:
            errs.append(f"{w}: name is not a DNS-1123 subdomain")
        if o["kind"] == "Service" and not DNS1035_LABEL.match(md["name"]):
            errs.append(f"{w}: Service name must be a DNS-1035 label")
        if o["kind"] not in CLUSTER_SCOPED and md.get("namespace") != "sensory":
            errs.append(f"{w}: namespace must be sensory")
        if (md.get("labels") or {}).get("app.kubernetes.io/part-of") != "sensory":
            errs.append(f"{w}: label app.kubernetes.io/part-of=sensory missing")
        if o["kind"] == "Secret":
            errs.append(f"{w}: Secrets must not be rendered from git "
                        "(create them out of band, see k8s/base/secret-template.yaml)")
        spec = pod_spec_of(o)
        if spec is not None:
            check_pod(o, spec, objs, ctx, errs, prod)
        if o["kind"] == "Deployment":
            tpl_labels = ((o["spec"].get("template") or {}).get("metadata") or {}).get(
                "labels") or {}
            if not labels_match((o["spec"].get("selector") or {}).get("matchLabels"),
                                tpl_labels):
                errs.append(f"{w}: selector does not match the pod template labels")
            pdbs = [p for p in objs if p.get("kind") == "PodDisruptionBudget" and labels_match(
                ((p.get("spec") or {}).get("selector") or {}).get("matchLabels"), tpl_labels)]
            if not pdbs:
                errs.append(f"{w}: no PodDisruptionBudget selects its pods")
            for p in pdbs:
                if p["spec"].get("minAvailable") is not None and \
                        str(p["spec"]["minAvailable"]) == str(o["spec"].get("replicas", 1)):
                    errs.append(f"{fmt_id(p)}: minAvailable == replicas blocks every drain")
        if o["kind"] == "Service" and (o.get("spec") or {}).get("type") != "ExternalName":
            sel = (o.get("spec") or {}).get("selector") or {}
            pods = [x for x in objs if x.get("kind") == "Deployment" and labels_match(
                sel, ((x["spec"].get("template") or {}).get("metadata") or {}).get("labels")
                or {})]
            if not pods:
                errs.append(f"{w}: selector matches no pod template")
    check_topics(objs, ctx, errs, strict_replication)
    errs += k8s_access.check_rendering(objs, ctx.workloads, ctx.topics, prod, ctx.repo)
    return errs


# ---------------------------------------------------------------------------
# Dockerfile (static)
# ---------------------------------------------------------------------------

def dockerfile_instructions(path):
    lines, cur = [], ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            s = raw.rstrip("\n")
            if not cur and (s.lstrip().startswith("#") or not s.strip()):
                continue
            if cur and s.lstrip().startswith("#"):
                continue  # comment inside a continuation
            if s.endswith("\\"):
                cur += s[:-1] + " "
                continue
            cur += s
            lines.append(cur.strip())
            cur = ""
    if cur.strip():
        lines.append(cur.strip())
    out = []
    for ln in lines:
        parts = ln.split(None, 1)
        out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
    return out


def apt_packages(run_arg):
    pkgs = []
    for m in re.finditer(r"apt-get install ([^&;|]*)", run_arg):
        pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


_APT_KNOWN = {}


def apt_known(pkg):
    if pkg not in _APT_KNOWN:
        r = subprocess.run(["apt-cache", "show", pkg], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        _APT_KNOWN[pkg] = r.returncode == 0
    return _APT_KNOWN[pkg]


def apt_prefetch(pkgs):
    """One apt-cache call for all names; per-name calls only if one is unknown."""
    pkgs = [p for p in set(pkgs) if p not in _APT_KNOWN]
    if pkgs and subprocess.run(["apt-cache", "show"] + pkgs, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL).returncode == 0:
        _APT_KNOWN.update({p: True for p in pkgs})


def check_dockerfile(path, repo, bin_dir, require_exact_runtime=True):
    """Returns (errors, notes, image_env)."""
    errs, notes, env = [], [], {}
    ins = dockerfile_instructions(path)
    stages = []  # list of dicts
    for op, arg in ins:
        if op == "FROM":
            stages.append({"from": arg, "ops": []})
        elif not stages:
            if op != "ARG":
                errs.append(f"{op} before the first FROM")
        else:
            stages[-1]["ops"].append((op, arg))
    if len(stages) < 2:
        errs.append("not multi-stage (build + runtime)")
        return errs, notes, env
    if not stages[0]["from"].split()[0].startswith("debian:12"):
        errs.append(f"build stage is {stages[0]['from']}, not debian:12")
    if stages[-1]["from"].split()[0] != "debian:12-slim":
        errs.append(f"runtime stage is {stages[-1]['from']}, not debian:12-slim")
    have_apt = shutil.which("apt-cache") is not None
    if have_apt:
        apt_prefetch([p for st in stages for o, a in st["ops"] if o == "RUN"
                      for p in apt_packages(a)])
    copied_top = set()
    for si, st in enumerate(stages):
        for op, arg in st["ops"]:
            if op == "ADD":
                if re.search(r"(https?|git)://|git@", arg):
                    errs.append(f"ADD from a URL: {arg}")
                else:
                    errs.append(f"ADD used (use COPY): {arg}")
            if op in ("COPY", "ADD"):
                words = arg.split()
                flags = [w for w in words if w.startswith("--")]
                rest = [w for w in words if not w.startswith("--")]
                if arg.lstrip().startswith("["):
                    rest = json.loads(arg[arg.index("["):])
                if any(f.startswith("--from=") for f in flags):
                    continue
                for src in rest[:-1]:
                    if re.match(r"(https?|git)://", src):
                        continue  # reported above
                    hits = glob.glob(os.path.join(repo, src))
                    if not hits:
                        errs.append(f"COPY source {src} does not exist in the repo")
                    copied_top.add(src.strip("/").split("/")[0])
                    if src.strip("/") in (".", "build") or src.startswith("build/"):
                        errs.append(f"COPY {src} would import a host build tree")
            if op == "RUN":
                for p in apt_packages(arg):
                    if have_apt and not apt_known(p):
                        errs.append(f"stage {si}: Debian package {p} unknown to apt-cache")
            if op == "RUN" and si == len(stages) - 1 and "curl " in arg and "| sh" in arg:
                errs.append("runtime stage pipes a download into a shell")
    if not have_apt:
        notes.append("SKIP apt-cache not available: package names not checked")
    # root CMakeLists.txt's subdirectories must be copied into the build stage
    cml = os.path.join(repo, "CMakeLists.txt")
    if os.path.isfile(cml):
        with open(cml, encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"add_subdirectory\(\s*([A-Za-z0-9_./-]+)", text):
            top = m.group(1).split("/")[0]
            if top == "deploy":
                continue  # dev broker only: deliberately not built into the image
            if "$" not in top and top not in copied_top:
                errs.append(f"CMakeLists.txt add_subdirectory({m.group(1)}) not COPY'd")
        if "services" not in copied_top:
            errs.append("services/ not copied into the build stage")
    final = stages[-1]["ops"]
    users = [a for o, a in final if o == "USER"]
    if not users:
        errs.append("runtime stage has no USER (would run as root)")
    else:
        u = users[-1].split(":")[0]
        if not u.isdigit():
            errs.append(f"USER {users[-1]} is not numeric (kubelet cannot verify runAsNonRoot)")
        elif int(u) == 0:
            errs.append("USER is root")
        elif int(u) != 10001:
            errs.append(f"USER {u} is not 10001 (manifests use runAsUser 10001)")
    runtime_pkgs = set()
    for o, a in final:
        if o == "RUN":
            runtime_pkgs |= set(apt_packages(a))
        if o == "ENV":
            for k, v in re.findall(r"(\w+)=(\S+)", a):
                env[k] = v
    dev = {p for p in runtime_pkgs if p.endswith("-dev") or p in ("build-essential", "cmake")}
    if dev:
        errs.append(f"runtime stage installs build packages {sorted(dev)}")
    if require_exact_runtime and runtime_pkgs != RUNTIME_PACKAGES:
        errs.append(f"runtime packages differ from the decision: extra "
                    f"{sorted(runtime_pkgs - RUNTIME_PACKAGES)}, missing "
                    f"{sorted(RUNTIME_PACKAGES - runtime_pkgs)}")
    if env.get("SCHEMAS_DIR") != "/usr/local/share/sensory/schemas":
        errs.append("ENV SCHEMAS_DIR must be /usr/local/share/sensory/schemas")
    for k in ("LOG_LEVEL", "METRICS_ADDR", "KAFKA_BROKERS"):
        if k in env:
            errs.append(f"ENV {k} in the image would override every --config file")
    text_all = " ".join(a for st in stages for _, a in st["ops"])
    if "dev-broker" not in text_all:
        errs.append("nothing excludes dev-broker from the image")
    if "/usr/local/share/sensory/schemas" not in " ".join(a for o, a in final if o == "COPY"):
        errs.append("schemas are not copied to /usr/local/share/sensory/schemas")
    # Shared libraries of the built programs vs the runtime package list.
    if bin_dir and os.path.isdir(bin_dir) and shutil.which("readelf") and shutil.which("dpkg"):
        progs = [p for p in glob.glob(os.path.join(bin_dir, "*"))
                 if os.access(p, os.X_OK) and os.path.isfile(p)
                 and os.path.basename(p) != "dev-broker"]
        for p in progs:
            out = subprocess.run(["readelf", "-d", p], capture_output=True, text=True).stdout
            for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out):
                if "asan" in lib or "ubsan" in lib:
                    continue  # sanitizer build of the host, not the Release image
                r = subprocess.run(["dpkg", "-S", "*/" + lib], capture_output=True, text=True)
                owners = {ln.split(":")[0] for ln in r.stdout.splitlines() if ":" in ln}
                if not owners:
                    notes.append(f"NOTE {os.path.basename(p)}: {lib} owner unknown")
                elif not owners & (RUNTIME_PACKAGES | SLIM_BASE_PACKAGES):
                    errs.append(f"{os.path.basename(p)} needs {lib} from {sorted(owners)}, "
                                "not in the runtime stage")
        if progs:
            notes.append(f"checked NEEDED libraries of {len(progs)} built programs")
    else:
        notes.append("SKIP no built programs: shared-library coverage not checked")
    return errs, notes, env


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, name, detail=""):
        self.passed += 1
        print(f"PASS {name}" + (f" ({detail})" if detail else ""))

    def fail(self, name, errors):
        self.failed += 1
        print(f"FAIL {name}")
        for e in errors:
            print(f"     {e}")

    def check(self, name, errors, detail=""):
        (self.fail(name, errors) if errors else self.ok(name, detail))

    def skip(self, name, why):
        print(f"SKIP {name}: {why}")


def load_topics(repo):
    with open(os.path.join(repo, "schemas", "topics.yaml"), encoding="utf-8") as f:
        return {t["name"]: t for t in yaml.safe_load(f)["topics"]}


def validate_tree(kdir, schemas, ctx, prod, strict_replication, extra_patches=()):
    """Render + kustomization schema + object checks. Returns (objs, errors)."""
    kfiles = []
    try:
        objs = render(kdir, extra_patches, kfiles)
    except (RenderError, OSError, yaml.YAMLError, KeyError, IndexError, ValueError) as e:
        return [], [f"render: {e}"]
    errs = []
    kv = schemas.kustomization_validator()
    for kf in kfiles:
        for e in schema_errors(kv, yaml.safe_load(open(kf, encoding="utf-8"))):
            errs.append(f"{os.path.relpath(kf, ctx.repo)}: kustomization.json: {e}")
        with open(kf, encoding="utf-8") as f:
            res = (yaml.safe_load(f) or {}).get("resources") or []
        if any(os.path.basename(r) == "secret-template.yaml" for r in res):
            errs.append(f"{kf}: secret-template.yaml must not be a resource")
    errs += check_objects(objs, schemas, ctx, kdir, prod, strict_replication)
    return objs, errs


def validate_template(path, base_dir, schemas, ctx):
    """Schema and pod policy of a Job template, and the base's NetworkPolicies
    and KafkaUser for its program."""
    try:
        base = render(base_dir)
        tpl = load_yaml_docs(path)
    except (RenderError, OSError, yaml.YAMLError) as e:
        return [f"render: {e}"]
    errs = []
    ctx.workloads = []
    for o in tpl:
        v, desc = schemas.for_object(o)
        errs += [f"{fmt_id(o)}: schema {desc}: {e}" for e in schema_errors(v, o)] if v else \
            [f"{fmt_id(o)}: {desc}"]
        if (o.get("metadata") or {}).get("namespace") != "sensory":
            errs.append(f"{fmt_id(o)}: namespace must be sensory")
        spec = pod_spec_of(o)
        if spec is None:
            errs.append(f"{fmt_id(o)}: not a workload")
            continue
        check_pod(o, spec, base + [o], ctx, errs, prod=True)
    errs += k8s_access.check_netpols(base, ctx.workloads)
    users = {u["metadata"]["name"] for u in base if u.get("kind") == "KafkaUser"}
    for w in ctx.workloads:
        if w.svc not in users:
            errs.append(f"{w.where}: no KafkaUser {w.svc} in the base")
    if not ctx.workloads:
        errs.append("no container with a --config file")
    return errs


def normalise(objs):
    return {obj_id(o): json.loads(json.dumps(o, sort_keys=True, default=str)) for o in objs}


def diff_paths(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff_paths(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff_paths(x, y, f"{path}/{i}")
        return out
    return [] if a == b else [f"{path}: ours {str(a)[:80]!r} kubectl {str(b)[:80]!r}"]


def kubectl_crosscheck(kdir, objs):
    """Compares our rendering with `kubectl kustomize`. None = skipped."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return None
    r = subprocess.run([kubectl, "kustomize", kdir], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return [f"kubectl kustomize failed: {r.stderr.strip()[:400]}"]
    theirs = normalise([d for d in yaml.safe_load_all(r.stdout) if d])
    ours = normalise(objs)
    errs = []
    for i in sorted(set(ours) | set(theirs), key=str):
        if i not in theirs:
            errs.append(f"{i}: only in our rendering")
        elif i not in ours:
            errs.append(f"{i}: only in kubectl's rendering")
        else:
            errs += [f"{i[1]}/{i[3]}{d}" for d in diff_paths(ours[i], theirs[i])]
    return errs


def help_check(bin_dir, ctx, report):
    for svc in sorted(set(ctx.config_use) | set(ctx.env_use)):
        exe = os.path.join(bin_dir or "", svc)
        if not bin_dir or not os.access(exe, os.X_OK):
            report.skip(f"--help of {svc}", f"{exe} not built")
            continue
        r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
        text = r.stdout + r.stderr
        errs = []
        if r.returncode != 0:
            errs.append(f"{svc} --help exited {r.returncode}")
        # "yaml: KEY   env: ENV" pairs from the help text
        pairs = dict(re.findall(r"yaml: (\S+)(?:\s+env: (\S+))?", text))
        for key in sorted(ctx.config_use.get(svc, ())):
            if key.startswith("kafka.") and key not in SENSORY_KAFKA_KEYS:
                continue  # librdkafka pass-through, checked against librdkafka
            if key not in text:
                errs.append(f"config key {key} does not appear in {svc} --help")
            env = pairs.get(key)
            if env and (env in ctx.env_use.get(svc, set()) or env in ctx.image_env):
                errs.append(f"{key} is shadowed by env {env} (from --help)")
        want = k8s_access.DEFAULT_INPUTS.get(svc)
        m = re.search(r"yaml: input\.topics\s+env: \S+\s+default: (\S+)", text)
        if want and (not m or m.group(1) != want):
            errs.append(f"input.topics default of {svc} is {m.group(1) if m else None}, "
                        "tests/tools/k8s_access.py DEFAULT_INPUTS says " + want)
        for env in sorted(ctx.env_use.get(svc, ())):
            if KAFKA_ENV_RE.match(env) and env not in text:
                continue  # KAFKA_<PROPERTY> pass-through
            if env not in text:
                errs.append(f"env {env} does not appear in {svc} --help")
        report.check(f"--help of {svc} lists every config key and env the manifests use",
                     errs)


def run_all(args):
    repo = os.path.abspath(args.repo)
    fixtures = os.path.abspath(args.fixtures or os.path.join(repo, "tests", "fixtures"))
    report = Report()
    schemas = Schemas(os.path.join(fixtures, "k8s-schemas"))
    topics = load_topics(repo)
    rdk = Rdkafka()
    if not rdk.lib:
        report.skip("librdkafka property names", "librdkafka.so.1 not loadable")

    # Dockerfile first: its ENV feeds the shadowing check.
    dockerfile = os.path.join(repo, "deploy", "Dockerfile")
    derrs, notes, image_env = check_dockerfile(dockerfile, repo, args.bin)
    for n in notes:
        print(n if n.startswith(("SKIP", "NOTE")) else f"     {n}")
    report.check("deploy/Dockerfile static checks", derrs)
    ctx = Context(repo, topics, rdk, image_env)

    # Generated topics up to date.
    gen = os.path.join(repo, "k8s", "gen-topics.py")
    committed = os.path.join(repo, "k8s", "base", "kafka-topics.yaml")
    with tempfile.NamedTemporaryFile("r", suffix=".yaml") as tmp:
        r = subprocess.run([sys.executable, gen, "-o", tmp.name], capture_output=True, text=True)
        fresh = tmp.read()
    if r.returncode != 0:
        report.fail("k8s/base/kafka-topics.yaml is generated from topics.yaml", [r.stderr])
    else:
        with open(committed, encoding="utf-8") as f:
            same = f.read() == fresh
        report.check("k8s/base/kafka-topics.yaml is up to date with schemas/topics.yaml",
                     [] if same else ["stale: run /usr/bin/python3 k8s/gen-topics.py -o "
                                      "k8s/base/kafka-topics.yaml"])
    # The same spec must also be valid KafkaTopic v1 (Strimzi 1.x), so moving
    # off the deprecated v1beta2 stays a one-flag change.
    r = subprocess.run([sys.executable, gen, "--api-version", "kafka.strimzi.io/v1"],
                       capture_output=True, text=True)
    v1errs = []
    for o in yaml.safe_load_all(r.stdout):
        if o:
            v, desc = schemas.for_object(o)
            if v is None:
                v1errs.append(desc)
                break
            v1errs += [f"{fmt_id(o)}: {e}" for e in schema_errors(v, o)]
    report.check("generated topics also valid as Strimzi KafkaTopic v1", v1errs)

    # Every kustomization under k8s/.
    total = 0
    kdirs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(repo, "k8s", "**",
                                                                       "kustomization.yaml"),
                                                           recursive=True)})
    variants = [(d, ()) for d in kdirs]
    # The commented production TLS/SASL patch must keep working when enabled.
    auth = os.path.join(repo, "k8s", "overlays", "prod", "privacy-shield-kafka-auth.yaml")
    if os.path.isfile(auth):
        variants.append((os.path.dirname(auth), (os.path.basename(auth),)))
    for kdir, extra in variants:
        rel = os.path.relpath(kdir, repo) + (f" + {'+'.join(extra)}" if extra else "")
        prod = "/prod" in kdir
        strict = not kdir.endswith("/dev")
        objs, errs = validate_tree(kdir, schemas, ctx, prod, strict, extra)
        kinds = {}
        for o in objs:
            kinds[o.get("kind")] = kinds.get(o.get("kind"), 0) + 1
        detail = f"{len(objs)} objects: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        report.check(f"{rel}: renders, schemas, policy", errs, detail)
        total += len(objs)
        if extra:
            continue
        x = kubectl_crosscheck(kdir, objs) if objs else None
        if x is None:
            report.skip(f"{rel}: kubectl kustomize cross-check", "kubectl not available")
        else:
            report.check(f"{rel}: our rendering == kubectl kustomize", x)
    print(f"     {total} rendered objects validated across {len(variants)} renderings")
    for what in sorted(ctx.deprecated):
        print(f"NOTE {what} is a deprecated API version (still served); see k8s/README.md")

    # Job templates operators copy (k8s/jobs/): not resources, validated with
    # the base they run next to (its ConfigMaps, NetworkPolicies, KafkaUsers).
    for tpl in sorted(glob.glob(os.path.join(repo, "k8s", "jobs", "*.yaml"))):
        report.check(f"{os.path.relpath(tpl, repo)}: Job template valid against the base",
                     validate_template(tpl, os.path.join(repo, "k8s", "base"), schemas, ctx))

    # Secret template: well-formed, placeholders only, not a resource.
    tpl = os.path.join(repo, "k8s", "base", "secret-template.yaml")
    terrs = []
    try:
        docs = load_yaml_docs(tpl)
        names = {}
        for d in docs:
            v, desc = schemas.for_object(d)
            terrs += [f"{fmt_id(d)}: {e}" for e in schema_errors(v, d)] if v else [desc]
            names[d["metadata"]["name"]] = d
        for n in ("sensory-privacy-key", "sensory-dlq-key"):
            if n not in names:
                terrs.append(f"Secret {n} missing")
                continue
            data = names[n].get("stringData") or {}
            if set(data) != KNOWN_SECRETS[n]:
                terrs.append(f"{n}: keys {sorted(data)} != {sorted(KNOWN_SECRETS[n])}")
            if not all("REPLACE-ME" in str(v) for v in data.values()) or names[n].get("data"):
                terrs.append(f"{n}: must hold only REPLACE-ME placeholders")
    except (OSError, yaml.YAMLError, KeyError) as e:
        terrs.append(str(e))
    report.check("k8s/base/secret-template.yaml: two placeholder Secrets, valid", terrs)

    help_check(args.bin, ctx, report)

    # Negative fixtures: each must be rejected for its stated reason.
    bad_root = os.path.join(fixtures, "k8s-bad")
    for d in sorted(glob.glob(os.path.join(bad_root, "*"))):
        expect_file = os.path.join(d, "EXPECT") if os.path.isdir(d) else d + ".expect"
        if not os.path.isfile(expect_file):
            continue
        with open(expect_file, encoding="utf-8") as f:
            expect = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
        name = os.path.relpath(d, fixtures)
        if os.path.isdir(d):
            # Fixtures named prod-* are checked with the prod overlay's rules.
            prod = os.path.basename(d).startswith("prod-")
            _, errs = validate_tree(d, schemas, Context(repo, topics, rdk, image_env),
                                    prod=prod, strict_replication=True)
        else:  # a Dockerfile
            errs, _, _ = check_dockerfile(d, repo, None)
        text = "\n".join(errs)
        missing = [e for e in expect if e not in text]
        if not errs:
            report.fail(f"negative {name} is rejected", ["accepted, but must be rejected"])
        elif missing:
            report.fail(f"negative {name} is rejected for the right reason",
                        [f"expected an error containing {m!r}" for m in missing] +
                        ["got: " + e for e in errs[:6]])
        else:
            first = next(e for e in errs if expect and expect[0] in e) if expect else errs[0]
            report.ok(f"negative {name} is rejected", f"{len(errs)} errors, e.g. {first[-110:]}")

    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


def main():
    env = os.environ
    ap = argparse.ArgumentParser(description="Offline validation of k8s/ and deploy/Dockerfile")
    ap.add_argument("--repo", default=env.get("SENSORY_SOURCE_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--bin", default=env.get("SENSORY_BIN"))
    ap.add_argument("--fixtures", default=env.get("SENSORY_FIXTURES"))
    ap.add_argument("--check-dir", help="validate one kustomization dir and print its errors")
    args = ap.parse_args()
    if args.check_dir:
        repo = os.path.abspath(args.repo)
        fixtures = os.path.abspath(args.fixtures or os.path.join(repo, "tests", "fixtures"))
        schemas = Schemas(os.path.join(fixtures, "k8s-schemas"))
        ctx = Context(repo, load_topics(repo), Rdkafka(), {})
        objs, errs = validate_tree(os.path.abspath(args.check_dir), schemas, ctx,
                                   "/prod" in args.check_dir, not args.check_dir.endswith("dev"))
        for e in errs:
            print(e)
        print(f"{len(objs)} objects, {len(errs)} errors")
        return 1 if errs else 0
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
