#!/usr/bin/env python3
"""Checks the deployment kit under deploy/: every YAML file parses, and the essentials that
keep a deployment safe are there (non-root, read-only root, probes on /readyz and /healthz,
two or more replicas, a disruption budget, egress limits, a migration step, the master key
from a secret, a drain longer than nothing). Every KSEF_GW__SECTION__KEY variable used must be
a real setting of config/gateway.example.toml, so a typo fails here instead of at start.

Run: python3 .ci/check-deploy.py  (needs PyYAML; exits 1 with the list of problems)."""

import pathlib
import re
import sys
import tomllib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
problems = []


def need(cond, what):
    if not cond:
        problems.append(what)


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


KNOWN = settings()


def check_env_names(text, where):
    for name in re.findall(r"KSEF_GW__([A-Z0-9_]+(?:__[A-Z0-9_]+)*)", text):
        if name == "SECTION__KEY":  # the placeholder in explanations
            continue
        need(name in KNOWN, f"{where}: KSEF_GW__{name} is not a setting in config/gateway.example.toml")


docs = {}
for path in sorted(list(DEPLOY.rglob("*.yaml")) + list(DEPLOY.rglob("*.yml"))):
    rel = path.relative_to(ROOT)
    try:
        docs[rel] = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        problems.append(f"{rel}: does not parse: {e}")
        continue
    check_env_names(path.read_text(), rel)
need(docs, "no YAML files under deploy/")

# --- Containerfile -------------------------------------------------------------------------
cf = (DEPLOY / "Containerfile").read_text()
check_env_names(cf, "deploy/Containerfile")
need(len(re.findall(r"^FROM ", cf, re.M)) >= 2, "Containerfile: not multi-stage")
user = re.findall(r"^USER\s+(\S+)", cf, re.M)
need(user and not user[-1].startswith(("0", "root")), "Containerfile: runs as root")
need(re.search(r"^HEALTHCHECK .*\n?.*/healthz", cf, re.M), "Containerfile: no HEALTHCHECK on /healthz")
need('VOLUME ["/var/lib/ksef-gateway"]' in cf, "Containerfile: no data volume /var/lib/ksef-gateway")

# --- compose -------------------------------------------------------------------------------
compose = docs.get(pathlib.Path("deploy/compose.yaml"), [{}])[0]
services = compose.get("services", {})
gateways = {n: s for n, s in services.items() if "serve" in (s.get("command") or [])}
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
need(any("migrate" in (s.get("command") or []) for s in services.values()), "compose: no migration step")
need(any("demo" in (s.get("profiles") or []) for s in services.values()), "compose: no demo profile")

# --- Kubernetes ----------------------------------------------------------------------------
objects = [d for p, ds in docs.items() if "k8s" in p.parts for d in ds if "kind" in d]
by_kind = {}
for o in objects:
    by_kind.setdefault(o["kind"], []).append(o)
for kustomization in DEPLOY.rglob("kustomization.yaml"):
    k = yaml.safe_load(kustomization.read_text())
    for res in k.get("resources", []) + [p["path"] for p in k.get("patches", []) if "path" in p]:
        need((kustomization.parent / res).exists(), f"{kustomization.relative_to(ROOT)}: {res} does not exist")

deployments = [d for d in by_kind.get("Deployment", []) if d["metadata"]["name"] == "ksef-gateway"]
base = next((d for d in deployments if "selector" in d["spec"]), None)
need(base is not None, "k8s: no base Deployment")
if base:
    spec = base["spec"]
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
for patch in deployments:
    if patch is not base and "replicas" in patch["spec"]:
        need(patch["spec"]["replicas"] >= 2, "k8s overlay: fewer than 2 replicas")
need(by_kind.get("Service"), "k8s: no Service")
need(by_kind.get("Ingress"), "k8s: no Ingress")
need(by_kind.get("ConfigMap"), "k8s: no ConfigMap")
need(by_kind.get("PodDisruptionBudget"), "k8s: no PodDisruptionBudget")
jobs = by_kind.get("Job", [])
need(any(c.get("args") == ["migrate"] for j in jobs for c in j["spec"]["template"]["spec"]["containers"]),
     "k8s: no migration Job")
for np in by_kind.get("NetworkPolicy", []):
    if "podSelector" in np["spec"]:
        need("Egress" in np["spec"].get("policyTypes", []), "k8s NetworkPolicy: egress not restricted")
        ports = {p["port"] for rule in np["spec"].get("egress", []) for p in rule.get("ports", [])}
        need(ports <= {53, 443, 5432}, f"k8s NetworkPolicy: egress to more than DNS, KSeF, PostgreSQL: {ports}")
        need({443, 5432} <= ports, "k8s NetworkPolicy: no egress to KSeF or PostgreSQL")
need(by_kind.get("NetworkPolicy"), "k8s: no NetworkPolicy")

if problems:
    print("deploy kit problems:")
    for p in problems:
        print("  -", p)
    sys.exit(1)
print(f"deploy kit ok: {len(docs)} YAML files, {len(objects)} Kubernetes objects, {len(services)} compose services")
