#!/usr/bin/env python3
"""Checks the deployment kit under deploy/, then proves the checks bite.

1. Every YAML file parses.
2. Schemas, written here because no schema file may be fetched in CI (kubeconform, hadolint and
   the compose-spec JSON schema are not on the machine): compose.yaml against a table of the
   compose keys and types the file uses (unknown keys refused as compose-spec does), and its
   references (secrets, volumes, networks, depends_on); every Kubernetes object against its
   kind's required fields and types, and the objects against each other (selectors match
   template labels, Service targetPorts name container ports, Ingress backends name Service
   ports, probe and health-check paths are routes the gateway serves, NetworkPolicy egress only
   to DNS, KSeF and PostgreSQL, ConfigMap values strings).
3. The Containerfile: every COPY source exists in the build context (or names an earlier
   stage), the user is not root, a HEALTHCHECK on a gateway route, EXPOSE = the listen port,
   exec-form ENTRYPOINT (SIGTERM reaches the gateway, whose drain depends on it).
4. The essentials that keep a deployment safe (non-root, read-only root, probes, two or more
   replicas, a disruption budget, a migration step, the master key from a secret, a drain) and
   every KSEF_GW__SECTION__KEY variable being a real setting of config/gateway.example.toml.

Then a self-test feeds the same checks broken copies of the kit (one mistake each) and fails
unless each is caught with the expected message, and unless the intact copy passes.

Run: python3 .ci/check-deploy.py  (needs PyYAML; exits 1 with the list of problems).
     python3 .ci/check-deploy.py --rendered FILE  checks `kubectl kustomize` output the same way
     (patches merged, common labels applied: a NetworkPolicy must select the gateway's pods)."""

import copy
import ipaddress
import pathlib
import re
import shutil
import sys
import tempfile
import tomllib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


# --- a small JSON-schema-like validator ---------------------------------------------------
# A schema is a type name ("str", "int", "bool", "null", "any"), a tuple of alternatives, or a
# dict: {"list": S} a list of S; {"map": S} a mapping of string keys to S; {"enum": [...]};
# {"pattern": regex} a string matching it; {"obj": {key: S}, "req": [keys]} an object with
# only those keys (plus x-* extensions where compose allows them).

TYPES = {"str": str, "bool": bool, "null": type(None)}


def validate(value, schema, where, out):
    if isinstance(schema, tuple):
        errors = []
        for alt in schema:
            e = []
            validate(value, alt, where, e)
            if not e:
                return
            errors.append(e)
        # The alternative of the value's own shape says what is wrong inside it.
        shaped = [e for e in errors if not (len(e) == 1 and e[0].startswith(f"{where}: ") and " is not a" in e[0])]
        if len(shaped) == 1:
            out.extend(shaped[0])
        else:
            out.append(f"{where}: {value!r} matches none of the allowed forms")
    elif schema == "any":
        return
    elif schema == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(f"{where}: {value!r} is not an integer")
    elif isinstance(schema, str):
        if not isinstance(value, TYPES[schema]):
            out.append(f"{where}: {value!r} is not a {schema}")
    elif "enum" in schema:
        if value not in schema["enum"]:
            out.append(f"{where}: {value!r} is not one of {schema['enum']}")
    elif "pattern" in schema:
        if not isinstance(value, str) or not re.fullmatch(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
    elif "list" in schema:
        if not isinstance(value, list):
            out.append(f"{where}: {value!r} is not a list")
            return
        for i, v in enumerate(value):
            validate(v, schema["list"], f"{where}[{i}]", out)
    elif "map" in schema:
        if not isinstance(value, dict):
            out.append(f"{where}: {value!r} is not a mapping")
            return
        for k, v in value.items():
            validate(v, schema["map"], f"{where}.{k}", out)
    elif "obj" in schema:
        if not isinstance(value, dict):
            out.append(f"{where}: {value!r} is not a mapping")
            return
        for k in schema.get("req", []):
            if k not in value:
                out.append(f"{where}: required key {k!r} missing")
        for k, v in value.items():
            if k in schema["obj"]:
                validate(v, schema["obj"][k], f"{where}.{k}", out)
            elif not (schema.get("x") and str(k).startswith("x-")):
                out.append(f"{where}: unknown key {k!r}")
    else:
        raise ValueError(f"bad schema {schema!r}")


STRS = {"list": "str"}
DURATION = {"pattern": r"(\d+(\.\d+)?(us|ms|s|m|h))+"}
SCALAR = ("str", "int", "bool", "null")

# Compose: the keys this kit uses, with the compose specification's types.
COMPOSE_SERVICE = {
    "x": True,
    "obj": {
        "image": "str",
        "build": ("str", {"obj": {"context": "str", "dockerfile": "str", "args": {"map": SCALAR}}, "req": ["context"]}),
        "command": ("str", STRS),
        "entrypoint": ("str", STRS),
        "environment": ({"map": SCALAR}, STRS),
        "env_file": ("str", STRS),
        "read_only": "bool",
        "tmpfs": ("str", STRS),
        "user": "str",
        "cap_drop": STRS,
        "cap_add": STRS,
        "security_opt": STRS,
        "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
        "stop_grace_period": DURATION,
        "secrets": {"list": ("str", {"obj": {"source": "str", "target": "str", "mode": "int"}, "req": ["source"]})},
        "volumes": {"list": ({"pattern": r"[^:]+:/[^:]*(:(ro|rw|z|Z))?"}, {"obj": {
            "type": {"enum": ["volume", "bind", "tmpfs"]}, "source": "str", "target": "str", "read_only": "bool"},
            "req": ["target"]})},
        "ports": {"list": ({"pattern": r"(\d+\.\d+\.\d+\.\d+:)?\d+(:\d+)?(/(tcp|udp))?"}, "int")},
        "healthcheck": {"obj": {
            "test": ({"pattern": r"\S.*"}, {"list": "str"}),
            "interval": DURATION, "timeout": DURATION, "start_period": DURATION, "start_interval": DURATION,
            "retries": "int", "disable": "bool"}},
        "depends_on": (STRS, {"map": {"obj": {
            "condition": {"enum": ["service_started", "service_healthy", "service_completed_successfully"]},
            "restart": "bool", "required": "bool"}, "req": ["condition"]}}),
        "profiles": STRS,
        "networks": (STRS, {"map": ("null", {"obj": {"ipv4_address": "str", "aliases": STRS}})}),
        "labels": ({"map": "str"}, STRS),
    },
}
COMPOSE = {
    "x": True,
    "obj": {
        "name": {"pattern": r"[a-z0-9][a-z0-9_-]*"},
        "services": {"map": COMPOSE_SERVICE},
        "secrets": {"map": {"obj": {"file": "str", "environment": "str", "external": "bool"}}},
        "volumes": {"map": ("null", {"obj": {"driver": "str", "external": "bool", "name": "str"}})},
        "networks": {"map": ("null", {"obj": {
            "internal": "bool", "driver": "str", "external": "bool",
            "ipam": {"obj": {"driver": "str", "config": {"list": {"obj": {"subnet": "str", "gateway": "str"}}}}}}})},
    },
    "req": ["services"],
}

# Kubernetes: per kind, the apiVersion and the fields this kit relies on.
NAME = {"pattern": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"}
LABELS = {"map": "str"}
META = {"obj": {"name": NAME, "namespace": NAME, "labels": LABELS, "annotations": {"map": "str"}}, "req": ["name"]}
SELECTOR = {"obj": {"matchLabels": LABELS}, "req": ["matchLabels"]}
PORT = ("int", {"pattern": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"})
PROBE = {"obj": {
    "httpGet": {"obj": {"path": {"pattern": "/.*"}, "port": PORT}, "req": ["path", "port"]},
    "initialDelaySeconds": "int", "periodSeconds": "int", "failureThreshold": "int", "timeoutSeconds": "int"},
    "req": ["httpGet"]}
CONTAINER = {"obj": {
    "name": NAME, "image": "str", "args": STRS, "command": STRS,
    "ports": {"list": {"obj": {"name": {"pattern": r"[a-z0-9-]{1,15}"}, "containerPort": "int",
                               "protocol": {"enum": ["TCP", "UDP"]}}, "req": ["containerPort"]}},
    "envFrom": {"list": {"obj": {"configMapRef": {"obj": {"name": NAME}, "req": ["name"]}}}},
    "env": {"list": {"obj": {"name": "str", "value": "str", "valueFrom": {"obj": {
        "secretKeyRef": {"obj": {"name": NAME, "key": "str"}, "req": ["name", "key"]}}}}, "req": ["name"]}},
    "volumeMounts": {"list": {"obj": {"name": NAME, "mountPath": "str", "readOnly": "bool"}, "req": ["name", "mountPath"]}},
    "securityContext": {"obj": {"readOnlyRootFilesystem": "bool", "allowPrivilegeEscalation": "bool",
                                "capabilities": {"obj": {"drop": STRS}}}},
    "readinessProbe": PROBE, "livenessProbe": PROBE, "startupProbe": PROBE,
    "resources": {"obj": {"requests": {"map": "str"}, "limits": {"map": "str"}}},
}, "req": ["name", "image"]}
POD = {"obj": {
    "containers": {"list": CONTAINER},
    "restartPolicy": {"enum": ["Always", "OnFailure", "Never"]},
    "terminationGracePeriodSeconds": "int",
    "automountServiceAccountToken": "bool",
    "securityContext": {"obj": {"runAsNonRoot": "bool", "runAsUser": "int", "runAsGroup": "int", "fsGroup": "int",
                                "seccompProfile": {"obj": {"type": "str"}}}},
    "topologySpreadConstraints": {"list": "any"},
    "volumes": {"list": {"obj": {"name": NAME, "emptyDir": ("null", {"obj": {"sizeLimit": "str"}}), "secret": {"obj": {
        "secretName": NAME, "defaultMode": "int", "items": {"list": {"obj": {"key": "str", "path": "str"}}}}}},
        "req": ["name"]}},
}, "req": ["containers"]}
TEMPLATE = {"obj": {"metadata": {"obj": {"labels": LABELS}}, "spec": POD}, "req": ["spec"]}
NETPOL_PEER = {"obj": {"namespaceSelector": SELECTOR, "podSelector": SELECTOR, "ipBlock": {"obj": {
    "cidr": "str", "except": STRS}, "req": ["cidr"]}}}
NETPOL_PORTS = {"list": {"obj": {"protocol": {"enum": ["TCP", "UDP", "SCTP"]}, "port": PORT}, "req": ["port"]}}


def kind(api, spec, req=("spec",)):
    return {"api": api, "schema": {"obj": {"apiVersion": "str", "kind": "str", "metadata": META, **spec},
                                   "req": ["apiVersion", "kind", "metadata", *req]}}


KINDS = {
    "ConfigMap": kind("v1", {"data": {"map": "str"}}, req=("data",)),
    "Deployment": kind("apps/v1", {"spec": {"obj": {
        "replicas": "int", "selector": SELECTOR, "template": TEMPLATE,
        "strategy": {"obj": {"type": {"enum": ["RollingUpdate", "Recreate"]}, "rollingUpdate": {
            "obj": {"maxSurge": PORT, "maxUnavailable": PORT}}}}}, "req": ["selector", "template"]}}),
    "Service": kind("v1", {"spec": {"obj": {"selector": LABELS, "type": "str", "ports": {"list": {"obj": {
        "name": "str", "port": "int", "targetPort": PORT, "protocol": {"enum": ["TCP", "UDP"]}}, "req": ["port"]}}},
        "req": ["selector", "ports"]}}),
    "Ingress": kind("networking.k8s.io/v1", {"spec": {"obj": {
        "ingressClassName": "str",
        "tls": {"list": {"obj": {"hosts": STRS, "secretName": NAME}}},
        "rules": {"list": {"obj": {"host": "str", "http": {"obj": {"paths": {"list": {"obj": {
            "path": {"pattern": "/.*"}, "pathType": {"enum": ["Exact", "Prefix", "ImplementationSpecific"]},
            "backend": {"obj": {"service": {"obj": {"name": NAME, "port": {"obj": {"name": "str", "number": "int"}}},
                                            "req": ["name", "port"]}}, "req": ["service"]}},
            "req": ["path", "pathType", "backend"]}}}, "req": ["paths"]}}}}}}}),
    "PodDisruptionBudget": kind("policy/v1", {"spec": {"obj": {
        "minAvailable": PORT, "maxUnavailable": PORT, "selector": SELECTOR}, "req": ["selector"]}}),
    "NetworkPolicy": kind("networking.k8s.io/v1", {"spec": {"obj": {
        "podSelector": SELECTOR, "policyTypes": {"list": {"enum": ["Ingress", "Egress"]}},
        "ingress": {"list": {"obj": {"from": {"list": NETPOL_PEER}, "ports": NETPOL_PORTS}}},
        "egress": {"list": {"obj": {"to": {"list": NETPOL_PEER}, "ports": NETPOL_PORTS}}}}}}),
    "Secret": kind("v1", {"type": "str", "data": {"map": "str"}, "stringData": {"map": "str"}}, req=()),
    "Job": kind("batch/v1", {"spec": {"obj": {
        "backoffLimit": "int", "ttlSecondsAfterFinished": "int", "template": TEMPLATE}, "req": ["template"]}}),
}
KUSTOMIZATION = {"obj": {
    "apiVersion": {"enum": ["kustomize.config.k8s.io/v1beta1"]}, "kind": {"enum": ["Kustomization"]},
    "namespace": NAME, "resources": STRS,
    "labels": {"list": {"obj": {"pairs": LABELS, "includeSelectors": "bool"}}},
    "images": {"list": {"obj": {"name": "str", "newName": "str", "newTag": "str"}, "req": ["name"]}},
    "secretGenerator": {"list": {"obj": {"name": NAME, "files": STRS, "options": {"obj": {
        "disableNameSuffixHash": "bool"}}}, "req": ["name"]}},
    "patches": {"list": {"obj": {"path": "str"}, "req": ["path"]}},
}, "req": ["apiVersion", "kind"]}
# A patch names its target and holds any part of it; only its frame is checked here, its
# content is checked merged by `kubectl kustomize` in .ci/run.
PATCH = {"obj": {"apiVersion": "str", "kind": "str", "metadata": META, "spec": "any"},
         "req": ["apiVersion", "kind", "metadata"]}


# --- facts from the code -------------------------------------------------------------------
def settings():
    doc = tomllib.loads((ROOT / "config" / "gateway.example.toml").read_text())
    keys = set()

    def walk(prefix, table):
        for k, v in table.items():
            path = prefix + [k]
            if isinstance(v, dict):
                walk(path, v)
            else:
                keys.add("__".join(p.upper() for p in path))

    walk([], doc)
    return keys


def root_routes():
    """GET paths registered at the root (health, readiness, metrics): the handlers named in
    `cfg.service(…health::NAME)` of src/http/mod.rs and src/server.rs, resolved to their
    #[get("PATH")] in src/http/health.rs."""
    names = set()
    for f in ("src/http/mod.rs", "src/server.rs"):
        names |= set(re.findall(r"\.service\((?:http::)?health::(\w+)\)", (ROOT / f).read_text()))
    health = (ROOT / "src/http/health.rs").read_text()
    paths = dict((n, p) for p, n in re.findall(r'#\[get\("([^"]+)"\)\]\s*pub async fn (\w+)', health))
    return {paths[n] for n in names if n in paths}


KNOWN = settings()
ROUTES = root_routes()
DEFAULT_LISTEN_PORT = int(tomllib.loads((ROOT / "config" / "gateway.example.toml").read_text())
                          ["server"]["listen"].rsplit(":", 1)[1])


# --- the checks ----------------------------------------------------------------------------
def check(deploy):
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    def env_names(text, where):
        for name in re.findall(r"KSEF_GW__([A-Z0-9_]+(?:__[A-Z0-9_]+)*)", text):
            if name == "SECTION__KEY":  # the placeholder in explanations
                continue
            need(name in KNOWN, f"{where}: KSEF_GW__{name} is not a setting in config/gateway.example.toml")

    docs = {}
    for path in sorted(list(deploy.rglob("*.yaml")) + list(deploy.rglob("*.yml"))):
        rel = path.relative_to(deploy.parent)
        try:
            docs[rel] = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as e:
            problems.append(f"{rel}: does not parse: {e}")
            continue
        env_names(path.read_text(), rel)
    need(docs, "no YAML files under deploy/")
    problems += containerfile(deploy)
    problems += compose(docs.get(pathlib.Path("deploy/compose.yaml"), [{}])[0], deploy)
    problems += kubernetes(docs, deploy)
    return problems


def containerfile(deploy):
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    text = (deploy / "Containerfile").read_text()
    for name in re.findall(r"KSEF_GW__([A-Z0-9_]+(?:__[A-Z0-9_]+)*)", text):
        need(name == "SECTION__KEY" or name in KNOWN, f"Containerfile: KSEF_GW__{name} is not a setting")
    # Instructions with their continuation lines joined, comments dropped.
    lines, current = [], ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") and not current:
            continue
        current += raw.rstrip("\\").rstrip() + " " if raw.endswith("\\") else raw
        if not raw.endswith("\\"):
            if current.strip():
                lines.append(current.strip())
            current = ""
    known = {"FROM", "RUN", "COPY", "ADD", "ENV", "ARG", "USER", "VOLUME", "WORKDIR", "EXPOSE", "HEALTHCHECK",
             "STOPSIGNAL", "ENTRYPOINT", "CMD", "LABEL", "SHELL"}
    stages, env, users, exposed, healthcheck, entrypoint = [], {}, [], [], None, None
    for line in lines:
        op, _, rest = line.partition(" ")
        need(op in known, f"Containerfile: unknown instruction {op}")
        if op == "FROM":
            m = re.search(r"\bAS\s+(\S+)", rest, re.I)
            stages.append(m.group(1) if m else None)
        elif op == "COPY":
            args = rest.split()
            from_stage = next((a.split("=", 1)[1] for a in args if a.startswith("--from=")), None)
            sources = [a for a in args if not a.startswith("--")][:-1]
            need(sources, f"Containerfile: COPY without a source: {line}")
            if from_stage:
                need(from_stage in stages, f"Containerfile: COPY --from={from_stage} names no earlier stage")
            else:
                for src in sources:
                    need((ROOT / src).exists(), f"Containerfile: COPY source {src} does not exist in the build context")
        elif op == "ENV":
            env.update(re.findall(r"(\w+)=(\S+)", rest))
        elif op == "USER":
            users.append(rest.split(":")[0])
        elif op == "EXPOSE":
            exposed += [int(p.split("/")[0]) for p in rest.split()]
        elif op == "HEALTHCHECK":
            healthcheck = rest
        elif op == "ENTRYPOINT":
            entrypoint = rest
    need(len(stages) >= 2, "Containerfile: not multi-stage")
    need(users and users[-1] not in ("0", "root"), "Containerfile: runs as root")
    need(healthcheck, "Containerfile: no HEALTHCHECK")
    if healthcheck:
        paths = re.findall(r"https?://[^/\s\"]+(/[^\s\"]*)", healthcheck)
        need(paths and all(p in ROUTES for p in paths),
             f"Containerfile: HEALTHCHECK path {paths} is not a gateway route ({sorted(ROUTES)})")
    listen = env.get("KSEF_GW__SERVER__LISTEN", f"127.0.0.1:{DEFAULT_LISTEN_PORT}")
    port = int(listen.rsplit(":", 1)[1])
    need(not listen.startswith("127."), f"Containerfile: the gateway listens on {listen}, unreachable from outside")
    need(exposed == [port], f"Containerfile: EXPOSE {exposed} is not the listen port {port}")
    if healthcheck:
        need(f":{port}/" in healthcheck, f"Containerfile: HEALTHCHECK does not ask port {port}")
    need(entrypoint and entrypoint.startswith("["), "Containerfile: ENTRYPOINT not in exec form (SIGTERM would not reach the gateway)")
    need('VOLUME ["/var/lib/ksef-gateway"]' in text, "Containerfile: no data volume /var/lib/ksef-gateway")
    ignore = (ROOT / ".containerignore")
    ignored = ignore.read_text().split() if ignore.exists() else []
    for must in ("target/", "deploy/secrets/", "deploy/k8s/overlays/production/secrets/"):
        need(must in ignored, f".containerignore: {must} would be sent into the image build")
    return problems


def compose(doc, deploy):
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    validate(doc, COMPOSE, "compose", problems)
    services = doc.get("services", {}) if isinstance(doc, dict) else {}
    if not isinstance(services, dict):
        return problems
    top = {k: set((doc.get(k) or {}).keys()) for k in ("secrets", "volumes", "networks")}
    for name, s in services.items():
        if not isinstance(s, dict):
            continue
        where = f"compose {name}"
        deps = s.get("depends_on") or {}
        for dep in deps:
            need(dep in services and dep != name, f"{where}: depends_on {dep!r} is not another service")
        for sec in s.get("secrets") or []:
            src = sec if isinstance(sec, str) else sec.get("source")
            need(src in top["secrets"], f"{where}: secret {src!r} is not declared under secrets:")
        for vol in s.get("volumes") or []:
            src = vol.split(":")[0] if isinstance(vol, str) else vol.get("source", "")
            if src and not src.startswith((".", "/", "~")):
                need(src in top["volumes"], f"{where}: volume {src!r} is not declared under volumes:")
            elif src.startswith("."):
                need((deploy / src).exists(), f"{where}: bind source {src} does not exist")
        for net in s.get("networks") or []:
            need(net in top["networks"], f"{where}: network {net!r} is not declared under networks:")
        build = s.get("build")
        if isinstance(build, dict):
            context = (deploy / build.get("context", ".")).resolve()
            need((context / build.get("dockerfile", "Dockerfile")).exists(),
                 f"{where}: build file {build.get('dockerfile')} does not exist in context {build.get('context')}")
        hc = (s.get("healthcheck") or {}).get("test")
        if isinstance(hc, list):
            need(hc and hc[0] in ("CMD", "CMD-SHELL", "NONE"), f"{where}: healthcheck test must start with CMD, CMD-SHELL or NONE")
    for name, sec in (doc.get("secrets") or {}).items():
        if isinstance(sec, dict) and "file" in sec:
            need(sec["file"].startswith("./secrets/"), f"compose secret {name}: file outside deploy/secrets (not ignored)")

    # The deployment's essentials.
    gateways = {n: s for n, s in services.items() if isinstance(s, dict) and "serve" in (s.get("command") or [])}
    need(len(gateways) >= 2, f"compose: {len(gateways)} gateway replicas, want 2 or more")
    need(any("postgres" in str(s.get("image", "")) for s in services.values()), "compose: no PostgreSQL")
    proxy_ips = [
        net.get("ipv4_address")
        for s in services.values()
        if "caddy" in str(s.get("image", ""))
        for net in (s.get("networks") or {}).values()
        if isinstance(net, dict)
    ]
    need(proxy_ips, "compose: no reverse proxy with a fixed address")
    for name, s in gateways.items():
        env = s.get("environment", {})
        need(s.get("read_only") is True, f"compose {name}: root filesystem not read-only")
        need(str(s.get("user", "0")).split(":")[0] not in ("0", "root"), f"compose {name}: runs as root")
        trusted = yaml.safe_load(env.get("KSEF_GW__AUTH__TRUSTED_PROXIES", "[]"))
        need(proxy_ips and proxy_ips[0] in trusted, f"compose {name}: the proxy's address is not a trusted proxy")
        need(env.get("KSEF_GW__VAULT__MASTER_KEY_FILE", "").startswith("/run/secrets/"),
             f"compose {name}: master key not from a secret file")
        need("master_key" in (s.get("secrets") or []), f"compose {name}: master_key secret not mounted")
        need(any("/var/lib/ksef-gateway" in v for v in s.get("volumes", [])), f"compose {name}: no data volume")
        for dep, cond in (s.get("depends_on") or {}).items():
            if dep == "migrate":
                need(cond.get("condition") == "service_completed_successfully",
                     f"compose {name}: starts before the migration has finished")
    need(any("migrate" in (s.get("command") or []) for s in services.values() if isinstance(s, dict)),
         "compose: no migration step")
    need(any("demo" in (s.get("profiles") or []) for s in services.values() if isinstance(s, dict)),
         "compose: no demo profile")
    # The proxy in front: its upstreams are the gateway services on the listen port, its
    # health check a route the gateway serves.
    caddy = (deploy / "Caddyfile").read_text()
    upstreams = re.findall(r"reverse_proxy\s+([^{\n]+)", caddy)
    for target in " ".join(upstreams).split():
        host, _, port = target.partition(":")
        need(host in gateways, f"Caddyfile: upstream {host} is not a gateway service")
        need(port == str(DEFAULT_LISTEN_PORT) or port == listen_port(deploy),
             f"Caddyfile: upstream {target} is not the gateway's port")
    for uri in re.findall(r"health_uri\s+(\S+)", caddy):
        need(uri in ROUTES, f"Caddyfile: health_uri {uri} is not a gateway route")
    return problems


def listen_port(deploy):
    m = re.search(r"KSEF_GW__SERVER__LISTEN=\S+:(\d+)", (deploy / "Containerfile").read_text())
    return m.group(1) if m else str(DEFAULT_LISTEN_PORT)


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def kubernetes(docs, deploy):
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    patch_files, secrets = set(), set()
    for kz in deploy.rglob("kustomization.yaml"):
        rel = kz.relative_to(deploy.parent)
        k = (docs.get(rel) or [{}])[0]
        validate(k, KUSTOMIZATION, str(rel), problems)
        for res in k.get("resources", []) + [p["path"] for p in k.get("patches", []) if "path" in p]:
            need((kz.parent / res).exists(), f"{rel}: {res} does not exist")
        patch_files |= {(kz.parent / p["path"]).resolve() for p in k.get("patches", []) if "path" in p}
        secrets |= {g["name"] for g in k.get("secretGenerator", []) if "name" in g}

    objects, patches = [], []
    for rel, ds in docs.items():
        if "k8s" not in rel.parts or rel.name == "kustomization.yaml":
            continue
        is_patch = (deploy.parent / rel).resolve() in patch_files
        for i, d in enumerate(ds):
            where = f"{rel}#{i}"
            k = d.get("kind") if isinstance(d, dict) else None
            if k not in KINDS:
                problems.append(f"{where}: unknown or missing kind {k!r}")
                continue
            need(d.get("apiVersion") == KINDS[k]["api"], f"{where}: {k} is {KINDS[k]['api']}, not {d.get('apiVersion')}")
            validate(d, PATCH if is_patch else KINDS[k]["schema"], where, problems)
            (patches if is_patch else objects).append((where, d))
    names = {(o["kind"], o.get("metadata", {}).get("name")) for _, o in objects}
    for where, p in patches:
        need((p["kind"], p.get("metadata", {}).get("name")) in names, f"{where}: patches no object of the base")
    return problems + k8s_objects(objects, patches, secrets, rendered=False)


def k8s_objects(objects, patches, secrets, rendered):
    """The objects against each other. `rendered`: the output of `kubectl kustomize`, where
    the kustomization's common labels are on every selector and pod, so a NetworkPolicy's
    podSelector can be matched against the pods it must restrict."""
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    by_kind = {}
    for where, o in objects:
        by_kind.setdefault(o["kind"], []).append((where, o))
    configmaps = {o["metadata"].get("name") for _, o in by_kind.get("ConfigMap", [])}

    # Workloads: labels, ports, probes, volumes, config and secret references.
    workloads = by_kind.get("Deployment", []) + by_kind.get("Job", [])
    pods = []  # (labels, container ports by name, numbers, kind)
    for where, w in workloads:
        spec = w.get("spec", {})
        tmpl = spec.get("template", {})
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        if w["kind"] == "Deployment":
            sel = (spec.get("selector") or {}).get("matchLabels") or {}
            need(matches(sel, labels), f"{where}: selector {sel} does not match the template labels {labels}")
        pod = tmpl.get("spec", {})
        if w["kind"] == "Job":
            need(pod.get("restartPolicy") in ("Never", "OnFailure"), f"{where}: a Job's pods need restartPolicy Never or OnFailure")
        volumes = {v.get("name") for v in pod.get("volumes", [])}
        for v in pod.get("volumes", []):
            if "secret" in v:
                need(v["secret"].get("secretName") in secrets, f"{where}: Secret {v['secret'].get('secretName')} is generated nowhere")
        by_name, numbers = {}, set()
        for c in pod.get("containers", []):
            for p in c.get("ports", []):
                by_name[p.get("name")] = p.get("containerPort")
                numbers.add(p.get("containerPort"))
            for m in c.get("volumeMounts", []):
                need(m.get("name") in volumes, f"{where}: volumeMount {m.get('name')} names no volume")
            for ef in c.get("envFrom", []):
                ref = (ef.get("configMapRef") or {}).get("name")
                need(ref in configmaps, f"{where}: envFrom ConfigMap {ref} does not exist")
            for e in c.get("env", []):
                ref = ((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
                if ref:
                    need(ref in secrets, f"{where}: env {e.get('name')} from Secret {ref}, which is generated nowhere")
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                get = (c.get(probe) or {}).get("httpGet")
                if get:
                    need(get.get("path") in ROUTES, f"{where}: {probe} path {get.get('path')} is not a gateway route ({sorted(ROUTES)})")
                    port = get.get("port")
                    need(port in by_name or port in numbers, f"{where}: {probe} port {port} is not a container port")
        pods.append((labels, by_name, numbers, w["kind"]))
        if w["kind"] == "Deployment":
            listen = None
            for _, cm in by_kind.get("ConfigMap", []):
                listen = (cm.get("data") or {}).get("KSEF_GW__SERVER__LISTEN", listen)
            if listen:
                need(int(listen.rsplit(":", 1)[1]) in numbers, f"{where}: containerPorts {sorted(numbers)} miss the listen port of {listen}")

    # Services select pods and target their ports; Ingresses target Service ports.
    service_ports = {}
    for where, s in by_kind.get("Service", []):
        sel = s.get("spec", {}).get("selector") or {}
        targets = [p for p in pods if matches(sel, p[0])]
        need(targets, f"{where}: selector {sel} matches no workload's pod labels")
        service_ports[s["metadata"].get("name")] = s.get("spec", {}).get("ports", [])
        for p in s.get("spec", {}).get("ports", []):
            tp = p.get("targetPort", p.get("port"))
            need(any(tp in by_name or tp in numbers for _, by_name, numbers, _ in targets),
                 f"{where}: targetPort {tp} is not a port of the selected containers")
    for where, ing in by_kind.get("Ingress", []):
        for rule in ing.get("spec", {}).get("rules", []):
            for path in (rule.get("http") or {}).get("paths", []):
                svc = ((path.get("backend") or {}).get("service") or {})
                ports = service_ports.get(svc.get("name"))
                need(ports is not None, f"{where}: backend Service {svc.get('name')} does not exist")
                port = svc.get("port") or {}
                need(ports is None or any(p.get("name") == port.get("name") or p.get("port") == port.get("number")
                                          for p in ports), f"{where}: backend port {port} is not a port of the Service")
    for where, pdb in by_kind.get("PodDisruptionBudget", []):
        spec = pdb.get("spec", {})
        need(("minAvailable" in spec) != ("maxUnavailable" in spec), f"{where}: set exactly one of minAvailable, maxUnavailable")
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        deps = [d for _, d in by_kind.get("Deployment", []) if matches(sel, d["spec"]["template"]["metadata"]["labels"])]
        need(deps, f"{where}: selector {sel} matches no Deployment")
        for d in deps:
            if isinstance(spec.get("minAvailable"), int):
                need(spec["minAvailable"] < d["spec"].get("replicas", 1), f"{where}: minAvailable blocks every drain")
    for where, np in by_kind.get("NetworkPolicy", []) + [p for p in patches if p[1]["kind"] == "NetworkPolicy"]:
        spec = np.get("spec", {})
        for rule in spec.get("egress", []):
            for peer in rule.get("to", []):
                block = peer.get("ipBlock")
                if block:
                    try:
                        net = ipaddress.ip_network(block["cidr"])
                        for ex in block.get("except", []):
                            need(ipaddress.ip_network(ex).subnet_of(net), f"{where}: except {ex} is not inside {net}")
                    except (ValueError, KeyError, TypeError) as e:
                        problems.append(f"{where}: bad ipBlock {block}: {e}")
        if "podSelector" in spec:
            need("Egress" in spec.get("policyTypes", []), f"{where}: egress not restricted")
            if rendered:
                sel = spec["podSelector"].get("matchLabels") or {}
                servers = [p[0] for p in pods if p[3] == "Deployment"]
                need(servers and all(matches(sel, labels) for labels in servers),
                     f"{where}: podSelector {sel} does not select the gateway's pods")
        ports = {p.get("port") for rule in spec.get("egress", []) for p in rule.get("ports", [])}
        if spec.get("egress"):
            need(ports <= {53, 443, 5432}, f"{where}: egress to more than DNS, KSeF, PostgreSQL: {sorted(ports, key=str)}")
            need({443, 5432} <= ports, f"{where}: no egress to KSeF or PostgreSQL")
        for rule in spec.get("ingress", []):
            for p in rule.get("ports", []):
                need(any(p.get("port") in numbers for _, _, numbers, _ in pods), f"{where}: ingress port {p.get('port')} is no container port")

    # The deployment's essentials.
    deployments = [d for _, d in by_kind.get("Deployment", []) if d["metadata"].get("name") == "ksef-gateway"]
    need(deployments, "k8s: no base Deployment")
    for d in deployments:
        spec = d["spec"]
        need(spec.get("replicas", 1) >= 2, "k8s Deployment: fewer than 2 replicas")
        pod = spec["template"]["spec"]
        c = pod["containers"][0]
        need(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "k8s: readiness not /readyz")
        need(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "k8s: liveness not /healthz")
        need(pod.get("securityContext", {}).get("runAsNonRoot") is True, "k8s: pod may run as root")
        need(c.get("securityContext", {}).get("readOnlyRootFilesystem") is True, "k8s: root filesystem writable")
        need(c.get("resources", {}).get("requests"), "k8s: no resource requests")
        need(pod.get("terminationGracePeriodSeconds", 30) > 20, "k8s: grace period not above shutdown_timeout_s")
        need(any(v.get("secret") for v in pod.get("volumes", [])), "k8s: master key not from a Secret")
    for _, p in patches:
        if p["kind"] == "Deployment" and "replicas" in (p.get("spec") or {}):
            need(p["spec"]["replicas"] >= 2, "k8s overlay: fewer than 2 replicas")
    for k in ("Service", "Ingress", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy"):
        need(by_kind.get(k), f"k8s: no {k}")
    need(any(c.get("args") == ["migrate"] for _, j in by_kind.get("Job", []) for c in j["spec"]["template"]["spec"]["containers"]),
         "k8s: no migration Job")
    return problems


# --- self-test: one broken copy per mistake -------------------------------------------------
# (file under deploy/, text to replace, its replacement, what the report must say)
BREAKAGES = [
    ("compose.yaml", "  restart: unless-stopped\n  # More", "  restart_policy: always\n  # More", "unknown key 'restart_policy'"),
    ("compose.yaml", "migrate: {condition: service_completed_successfully}", "migrate: {condition: service_done}", "is not one of"),
    ("compose.yaml", "retries: 20", "retries: twenty", "is not an integer"),
    ("compose.yaml", "secrets: [master_key, postgres_password]", "secrets: [master_key, db_password]", "secret 'db_password' is not declared"),
    ("compose.yaml", "profiles: [demo]", "profiles: demo", "is not a list"),
    ("compose.yaml", "stop_grace_period: 30s", "stop_grace_period: half a minute", "does not match"),
    ("compose.yaml", "volumes: [gateway-2-data:/var/lib/ksef-gateway]", "volumes: [gateway-3-data:/var/lib/ksef-gateway]", "volume 'gateway-3-data' is not declared"),
    ("compose.yaml", "  secrets: [master_key, postgres_password]\n  # The database", "  secrets: [postgres_password]\n  # The database", "master_key secret not mounted"),
    ("Caddyfile", "health_uri /readyz", "health_uri /ready", "health_uri /ready is not a gateway route"),
    ("compose.yaml", "services:\n  postgres:", "services:\n  postgres: [", "does not parse"),
    ("k8s/base/deployment.yaml", "      labels:\n        app.kubernetes.io/component: server", "      labels:\n        app.kubernetes.io/component: web", "does not match the template labels"),
    ("k8s/base/service.yaml", "targetPort: http", "targetPort: https", "targetPort https is not a port"),
    ("k8s/base/deployment.yaml", "path: /readyz", "path: /ready", "readinessProbe path /ready is not a gateway route"),
    ("k8s/base/deployment.yaml", "containerPort: 8080", "containerPort: 8081", "miss the listen port"),
    ("k8s/base/networkpolicy.yaml", "        - {protocol: TCP, port: 443}", "        - {protocol: TCP, port: 443}\n        - {protocol: TCP, port: 80}", "egress to more than DNS"),
    ("k8s/base/configmap.yaml", 'KSEF_GW__DATABASE__POOL_SIZE: "8"', "KSEF_GW__DATABASE__POOL_SIZE: 8", "is not a str"),
    ("k8s/base/pdb.yaml", "metadata:\n  name: ksef-gateway", "metadata:\n  labels: {}", "required key 'name' missing"),
    ("k8s/base/ingress.yaml", "port: {name: http}", "port: {name: https}", "backend port"),
    ("k8s/base/migrate-job.yaml", "restartPolicy: Never", "restartPolicy: Always", "restartPolicy Never or OnFailure"),
    ("k8s/base/deployment.yaml", "apiVersion: apps/v1", "apiVersion: apps/v1beta1", "Deployment is apps/v1"),
    ("k8s/base/deployment.yaml", "secretKeyRef: {name: ksef-gateway, key: database-url}", "secretKeyRef: {name: db, key: database-url}", "Secret db, which is generated nowhere"),
    ("Containerfile", "COPY config/gateway.example.toml", "COPY config/gateway.toml", "COPY source config/gateway.toml does not exist"),
    ("Containerfile", "EXPOSE 8080", "EXPOSE 9090", "EXPOSE [9090] is not the listen port 8080"),
    ("Containerfile", "USER 10001:10001", "USER root", "runs as root"),
    ("Containerfile", "HEALTHCHECK --interval", "# HEALTHCHECK --interval", "no HEALTHCHECK"),
    ("Containerfile", "/healthz\"]", "/health\"]", "HEALTHCHECK path ['/health'] is not a gateway route"),
    ("Containerfile", 'ENTRYPOINT ["/usr/local/bin/ksef-gateway", "--data-dir", "/var/lib/ksef-gateway"]',
     "ENTRYPOINT /usr/local/bin/ksef-gateway --data-dir /var/lib/ksef-gateway", "ENTRYPOINT not in exec form"),
    ("Containerfile", "COPY --from=builder", "COPY --from=build", "COPY --from=build names no earlier stage"),
]


def self_test():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        intact = pathlib.Path(tmp) / "deploy"
        shutil.copytree(ROOT / "deploy", intact, ignore=shutil.ignore_patterns("secrets"))
        got = check(intact)
        if got:
            failures.append(f"the intact copy fails: {got}")
        for file, old, new, expect in BREAKAGES:
            broken = pathlib.Path(tmp) / "broken" / "deploy"
            shutil.rmtree(broken.parent, ignore_errors=True)
            shutil.copytree(intact, broken)
            text = (broken / file).read_text()
            if text.count(old) != 1:
                failures.append(f"{file}: the self-test's text {old!r} is not there once (update BREAKAGES)")
                continue
            (broken / file).write_text(text.replace(old, new))
            got = check(broken)
            if not any(expect in p for p in got):
                failures.append(f"{file}: {old!r} -> {new!r} not caught as {expect!r}; reported: {got}")
    return failures


def check_rendered(path):
    """Every object of a rendered overlay (`kubectl kustomize … > FILE`) against its kind's
    schema and the others: the overlay's patches merged, names and labels as applied."""
    problems, objects = [], []
    for i, d in enumerate(d for d in yaml.safe_load_all(pathlib.Path(path).read_text()) if d):
        where = f"rendered {d.get('kind')}/{(d.get('metadata') or {}).get('name')}"
        k = d.get("kind")
        if k not in KINDS:
            problems.append(f"{where}: unknown kind {k!r}")
            continue
        validate(d, KINDS[k]["schema"], where, problems)
        objects.append((where, d))
    secrets = {o["metadata"]["name"] for _, o in objects if o["kind"] == "Secret"}
    return problems + k8s_objects(objects, [], secrets, rendered=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rendered"]:
        problems = check_rendered(sys.argv[2])
        for p in problems:
            print("  -", p)
        if problems:
            sys.exit(1)
        print("rendered overlay ok: every object against its kind's schema and the others")
        sys.exit(0)
    problems = check(ROOT / "deploy")
    if problems:
        print("deploy kit problems:")
        for p in problems:
            print("  -", p)
        sys.exit(1)
    failures = self_test()
    if failures:
        print("the deploy checks miss broken files:")
        for f in failures:
            print("  -", f)
        sys.exit(1)
    print(f"deploy kit ok (schemas, references, Containerfile); self-test: {len(BREAKAGES)} broken copies caught")
