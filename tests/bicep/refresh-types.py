#!/usr/bin/env python3
"""Extracts from the resource type definitions Azure publishes for Bicep the facts that
tests/bicep/main.rs checks infra/ against, into tests/bicep/types.json.

    python3 tests/bicep/refresh-types.py --az <Azure/bicep-types-az> --graph <microsoftgraph/msgraph-bicep-types>

Each argument is a clone (or a bare mirror) of the public repository; the files are read
from its HEAD with `git show`, and the commit is recorded in the output. For every
`resource` in infra/ (type@apiVersion) the output holds:

- every API version the data publishes for that type (to tell a missing version, and to
  name the newest GA one);
- the type graph of the version used and of the newest GA version, with descriptions
  dropped and references renumbered: object properties with their flags (required,
  read-only, write-only, deploy-time constant), string literal unions (closed enums),
  arrays, discriminated objects.

A refresh is this one command; the test then judges the template against the new data.
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "bicep" / "types.json"
RESOURCE = re.compile(r"^\s*resource\s+\w+\s+'([^'@]+)@([^']+)'", re.M)
# The Microsoft Graph extension's types: bicepconfig.json names v1.0:1.0.0.
GRAPH_TYPES = "generated/microsoftgraph/microsoft.graph/{api}/{version}/types.json"


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def used_resources():
    used = set()
    for path in sorted((ROOT / "infra").rglob("*.bicep")):
        used.update(RESOURCE.findall(path.read_text()))
    return sorted(used)


def graph_extension_version():
    config = json.loads((ROOT / "infra" / "bicepconfig.json").read_text())
    reference = config["extensions"]["microsoftGraphV1"]
    api, version = reference.rsplit("/", 1)[1].split(":")
    return api, version


def is_preview(version):
    return not re.fullmatch(r"\d{4}-\d{2}-\d{2}", version)


class Extractor:
    """Copies the reachable part of each file's type table into one table."""

    def __init__(self):
        self.types = []
        self.seen = {}

    def copy(self, table, index, origin):
        key = (origin, index)
        if key in self.seen:
            return self.seen[key]
        self.seen[key] = len(self.types)
        slot = len(self.types)
        self.types.append(None)
        self.types[slot] = self.strip(table, table[index], origin)
        return slot

    def ref(self, table, value, origin):
        return self.copy(table, int(value["$ref"].split("/")[-1]), origin)

    def strip(self, table, node, origin):
        kind = node["$type"]
        out = {"$type": kind}
        for key in ("name", "value", "pattern", "minLength", "maxLength", "minValue", "maxValue", "discriminator", "flags"):
            if key in node:
                out[key] = node[key]
        if kind == "ObjectType":
            out["properties"] = {
                name: {"type": self.ref(table, prop["type"], origin), "flags": prop.get("flags", 0)}
                for name, prop in node.get("properties", {}).items()
            }
            if "additionalProperties" in node:
                out["additionalProperties"] = self.ref(table, node["additionalProperties"], origin)
        elif kind == "ArrayType":
            out["itemType"] = self.ref(table, node["itemType"], origin)
        elif kind == "UnionType":
            out["elements"] = [self.ref(table, e, origin) for e in node["elements"]]
        elif kind == "DiscriminatedObjectType":
            out["baseProperties"] = {
                name: {"type": self.ref(table, prop["type"], origin), "flags": prop.get("flags", 0)}
                for name, prop in node.get("baseProperties", {}).items()
            }
            out["elements"] = {k: self.ref(table, v, origin) for k, v in node["elements"].items()}
        elif kind == "ResourceType":
            out["body"] = self.ref(table, node["body"], origin)
            for key in ("readableScopes", "writableScopes", "scopeType"):
                if key in node:
                    out[key] = node[key]
        return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--az", required=True, help="a clone of Azure/bicep-types-az")
    parser.add_argument("--graph", required=True, help="a clone of microsoftgraph/msgraph-bicep-types")
    args = parser.parse_args()

    files = [p for p in git(args.az, "ls-tree", "-r", "--name-only", "HEAD", "generated").split() if p.endswith("/types.json")]
    by_namespace = {}
    for path in files:
        parts = path.split("/")  # generated/<folder>/<namespace>/<version>/types.json
        by_namespace.setdefault(parts[2], []).append((parts[3], path))

    tables = {}

    def table(repo, path):
        if (repo, path) not in tables:
            tables[(repo, path)] = json.loads(git(repo, "show", f"HEAD:{path}"))
        return tables[(repo, path)]

    extractor = Extractor()
    versions, resources = {}, {}
    graph_api, graph_version = graph_extension_version()
    graph_path = GRAPH_TYPES.format(api=graph_api, version=graph_version)

    for type_name, api_version in used_resources():
        if type_name.startswith("Microsoft.Graph/"):
            candidates = [(graph_api, graph_path)]
            repo = args.graph
        else:
            candidates = by_namespace.get(type_name.split("/")[0].lower(), [])
            repo = args.az
        found = {}
        for version, path in candidates:
            for index, node in enumerate(table(repo, path)):
                if node["$type"] == "ResourceType" and node["name"].lower() == f"{type_name}@{version}".lower():
                    found[version] = (path, index)
        versions[type_name] = sorted(found)
        ga = sorted(v for v in found if not is_preview(v))
        wanted = {api_version} | ({ga[-1]} if ga else set())
        for version in sorted(wanted):
            if version in found and f"{type_name}@{version}" not in resources:
                path, index = found[version]
                resources[f"{type_name}@{version}"] = extractor.copy(table(repo, path), index, (repo, path))

    output = {
        "about": "Facts from Azure's published Bicep resource types for the resources in infra/; "
        "made by tests/bicep/refresh-types.py, read by tests/bicep/main.rs.",
        "sources": [
            {"repository": "Azure/bicep-types-az", "commit": git(args.az, "rev-parse", "HEAD").strip()},
            {
                "repository": "microsoftgraph/msgraph-bicep-types",
                "commit": git(args.graph, "rev-parse", "HEAD").strip(),
                "path": graph_path,
            },
        ],
        "versions": versions,
        "resources": resources,
        "types": extractor.types,
    }
    # One entry a line, so that a refresh reads as a diff of the types that changed.
    lines = ["{"]
    for key, value in output.items():
        if isinstance(value, list) and key == "types":
            items = [json.dumps(item, separators=(",", ":")) for item in value]
            lines.append(f'"{key}":[\n' + ",\n".join(items) + "\n],")
        elif isinstance(value, dict):
            items = [f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}" for k, v in value.items()]
            lines.append(f'"{key}":{{\n' + ",\n".join(items) + "\n},")
        else:
            lines.append(f"{json.dumps(key)}:{json.dumps(value, separators=(',', ':'))},")
    lines[-1] = lines[-1].rstrip(",")
    lines.append("}")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(resources)} resource types, {len(extractor.types)} type nodes, {OUT.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
