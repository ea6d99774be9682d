"""The Kubernetes manifests, built and validated offline.

    python -m tools.k8s build dev|prod    the overlay as `kubectl apply -k` would send it
    python -m tools.k8s check             both overlays built, every manifest validated

kustomize is built from the module pinned in tools/kustomize/go.mod into the git-ignored
``.cache/bin``, as tools/infra.py builds FerretDB, the first time it is needed. Built-in kinds
are validated against the Kubernetes API's schemas that kubernetes-validate ships, strictly:
a field the API does not know is an error, as kubectl's server-side field validation makes it.
The operators' kinds are validated against the openAPIV3Schema of their CRDs, read from the
operators' Go modules at the releases pinned below (checked against their go.sum hashes), with
unknown fields refused likewise. Not checked: the CRDs' CEL rules (x-kubernetes-validations),
and what only a cluster knows (that the Secrets exist, that a selector matches a pod).
"""

import argparse
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
KUSTOMIZE_MODULE = ROOT / "tools" / "kustomize"
KUSTOMIZE = ROOT / ".cache" / "bin" / "kustomize"
SCHEMAS = ROOT / ".cache" / "k8s-schemas"

# The oldest Kubernetes the manifests are meant for, and the newest kubernetes-validate knows:
# a field too new for the one, or an API gone from the other, fails.
KUBERNETES_VERSIONS = ("1.32", "1.37")

# The operators whose kinds the manifests use: module, release, the module's hash as go.sum
# records it, and its CRD files. The README's install steps name the same releases.
OPERATORS = (
    ("github.com/rabbitmq/cluster-operator/v2", "v2.16.0",
     "h1:oYJm+1tXIatGHtiUWyN9hGdO+0eWsXA/j1b81wh0IqI=",
     ["config/crd/bases/rabbitmq.com_rabbitmqclusters.yaml"]),
    ("github.com/rabbitmq/messaging-topology-operator", "v1.17.4",
     "h1:WCvf2BolzOwX8czc52EM/KMluKgjHRUIWs5DtubWUB8=",
     [f"config/crd/bases/rabbitmq.com_{plural}.yaml"
      for plural in ("vhosts", "users", "permissions", "policies")]),
    ("github.com/mongodb/mongodb-kubernetes-operator", "v0.13.0",
     "h1:tbR6z7f3DZmeQJgPsC+Xp193kdADMzcwFGqlTvO9gh0=",
     ["config/crd/bases/mongodbcommunity.mongodb.com_mongodbcommunity.yaml"]),
    ("github.com/prometheus-operator/prometheus-operator", "v0.85.0",
     "h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=",
     ["example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"]),
    ("github.com/kedacore/keda/v2", "v2.21.0",
     "h1:R6z2HZvstK4RLUMxroNACzBj74xGxt3kG59b5Xc+Xps=",
     [f"config/crd/bases/keda.sh_{plural}.yaml"
      for plural in ("scaledobjects", "triggerauthentications")]),
)


def log(msg):
    print(f"[k8s] {msg}", file=sys.stderr, flush=True)


def go(*args, cwd):
    done = subprocess.run(["go", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"go {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout


def pinned_kustomize():
    found = re.search(r"^\s*sigs\.k8s\.io/kustomize/kustomize/v5 (v\S+)",
                      (KUSTOMIZE_MODULE / "go.mod").read_text(), re.MULTILINE)
    return found.group(1)


def kustomize():
    """The kustomize binary at the pinned version, built from the Go module proxy if it is
    missing or another version."""
    version = pinned_kustomize()
    if KUSTOMIZE.exists():
        built = subprocess.run([str(KUSTOMIZE), "version"], capture_output=True, text=True)
        if built.stdout.strip() == version:
            return KUSTOMIZE
    log(f"building kustomize {version} from the Go module proxy (one time, about a minute)")
    KUSTOMIZE.parent.mkdir(parents=True, exist_ok=True)
    go("build", "-o", str(KUSTOMIZE), "sigs.k8s.io/kustomize/kustomize/v5", cwd=KUSTOMIZE_MODULE)
    return KUSTOMIZE


def build(overlay):
    """The overlay's manifests, as dicts."""
    done = subprocess.run([str(kustomize()), "build", str(OVERLAYS / overlay)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"kustomize build {overlay} failed:\n{done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def crd_schemas():
    """{(apiVersion, kind): JSON Schema} for every served version of the pinned CRDs; cached
    per release in .cache/k8s-schemas, so only a new pin needs Go and the proxy."""
    schemas = {}
    for module, version, checksum, files in OPERATORS:
        cached = SCHEMAS / f"{module.replace('/', '_')}@{version}.json"
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(download_crds(module, version, checksum, files)))
        for key, schema in json.loads(cached.read_text()):
            schemas[tuple(key)] = schema
    return schemas


def download_crds(module, version, checksum, files):
    log(f"reading the CRDs of {module}@{version} from the Go module proxy (one time)")
    # Outside any module: the download is checked against the checksum database, and then
    # against the hash pinned here.
    info = json.loads(go("mod", "download", "-json", f"{module}@{version}", cwd=SCHEMAS))
    if info.get("Sum") != checksum:
        raise RuntimeError(f"{module}@{version} hashes to {info.get('Sum')}, not {checksum}")
    schemas = []
    for name in files:
        crd = yaml.safe_load((Path(info["Dir"]) / name).read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for served in crd["spec"]["versions"]:
            if served.get("served"):
                schemas.append(([f"{group}/{served['name']}", kind],
                                strict(served["schema"]["openAPIV3Schema"])))
    return schemas


def strict(schema):
    """A CRD's structural schema as JSON Schema that refuses unknown fields (where the CRD does
    not keep them, x-kubernetes-preserve-unknown-fields) and accepts null where it is nullable."""
    out = dict(schema)
    for key in ("properties", "patternProperties"):
        if key in schema:
            out[key] = {name: strict(sub) for name, sub in schema[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            out[key] = strict(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            out[key] = [strict(sub) for sub in schema[key]]
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    if schema.get("nullable") and "type" in schema:
        out["type"] = [schema["type"], "null"]
    return out


@cache
def _crd_validators():
    return {key: jsonschema.Draft7Validator(schema) for key, schema in crd_schemas().items()}


def problems(doc):
    """What is wrong with one manifest, as sentences; none when it is valid."""
    where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    key = (doc.get("apiVersion"), doc.get("kind"))
    validators = _crd_validators()
    if key in validators:
        return [f"{where}: {error.message} at {'/'.join(map(str, error.absolute_path)) or '/'}"
                for error in validators[key].iter_errors(doc)]
    found = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = "/".join(map(str, error.absolute_path)) or "/"
            found.append(f"{where} (Kubernetes {version}): {error.message} at {path}")
        except kubernetes_validate.SchemaNotFoundError:
            found.append(f"{where}: {key[0]} {key[1]} is in neither Kubernetes {version} nor the "
                         "pinned CRDs")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.k8s", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build").add_argument("overlay", choices=["dev", "prod"])
    commands.add_parser("check")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(yaml.safe_dump_all(build(args.overlay), sort_keys=False), end="")
        return
    failed = False
    for overlay in ("dev", "prod"):
        documents = build(overlay)
        found = [problem for doc in documents for problem in problems(doc)]
        print(f"{overlay}: {len(documents)} manifests, {len(found)} problems")
        for problem in found:
            print(f"  {problem}")
        failed = failed or bool(found)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
