"""Path templating quality against real public API descriptions, without the spec.

    python bench/discovery_eval.py                 # all documents, Rich table
    python bench/discovery_eval.py --json          # machine-readable
    python bench/discovery_eval.py --values 3:6    # fewer distinct values per template

For each document in ``bench/data/discovery/*.paths`` (the (method, template) pairs of a
real API; see PROVENANCE.md there), concrete traffic is generated from the templates:
values in the API's own style (Stripe prefixed ids, UUIDs, GitHub owners/repos/branches
drawn from shared pools so the same names recur across endpoints, Open Banking opaque
ids, …), ``--values`` distinct values per parametrised template, Pareto-skewed request
counts, and every literal endpoint of the spec (``/gists/public``, ``/customers/search``).
``apisight.discovery.templating.Templater`` then learns templates from the distinct paths
alone and the recovered (method, template) pairs are scored against the spec's, with
parameters compared as ``{}`` (names ignored):

- precision, recall, F1 of the recovered pairs;
- over-merged: recovered templates that swallowed paths of 2+ spec templates;
- under-merged: spec templates whose paths were split over 2+ recovered templates.

Parameters the spec declares as a small enum (``{package_type}`` = npm|maven|…) are
expanded into literals in the ground truth: from traffic alone a closed set of a few
values *is* literal, which is what the templater is asked to keep.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from apisight.discovery.templating import Templater

DATA = Path(__file__).resolve().parent / "data" / "discovery"
PARAM = re.compile(r"\{([^}]+)\}")

# -- pools of realistic names, shared within a document ------------------------------------

USERS = [
    "octocat",
    "torvalds",
    "gaearon",
    "sindresorhus",
    "tj",
    "addyosmani",
    "yyx990803",
    "kentcdodds",
    "mojombo",
    "defunkt",
    "pjhyett",
    "wycats",
    "dhh",
    "fabpot",
    "taylorotwell",
    "jashkenas",
    "substack",
    "isaacs",
    "mitsuhiko",
    "kennethreitz",
    "alice-dev",
    "bob_smith",
    "carol99",
    "dave-ops",
    "erin-lee",
    "frank.miller",
    "grace-h",
    "heidi42",
    "ivan-k",
    "judy-w",
    "mallory-x",
    "oscar-dev",
    "peggy-p",
    "trent-t",
    "victor-v",
    "walter-w",
    "name1",
    "name2",
    "name3",
    "admin1",
]
ORGS = [
    "github",
    "microsoft",
    "google",
    "facebook",
    "vercel",
    "netflix",
    "stripe",
    "shopify",
    "hashicorp",
    "mozilla",
    "apache",
    "kubernetes",
    "docker",
    "rust-lang",
    "golang",
    "nodejs",
    "python",
    "django",
    "pallets",
    "psf",
    "acme-corp",
    "globex",
    "initech",
    "umbrella-co",
    "hooli",
    "piedpiper",
]
REPOS = [
    "hello-world",
    "spoon-knife",
    "linux",
    "react",
    "vue",
    "next.js",
    "express",
    "flask",
    "django",
    "requests",
    "rails",
    "terraform",
    "vscode",
    "typescript",
    "kubernetes",
    "moby",
    "rust",
    "go",
    "node",
    "cpython",
    "numpy",
    "pandas",
    "fastapi",
    "homebrew-core",
    "dotfiles",
    "awesome-python",
    "free-programming-books",
    "bootstrap",
    "tensorflow",
    "electron",
    "deno",
    "svelte",
    "angular",
    "jquery",
    "lodash",
    "webpack",
    "babel",
    "eslint",
    "prettier",
    "jest",
]
BRANCHES = [
    "main",
    "master",
    "develop",
    "staging",
    "release-1.2",
    "release-2.0",
    "hotfix-login",
    "feature-search",
    "feature-payments",
    "fix-typo",
    "dependabot-npm",
    "gh-pages",
    "trunk",
    "next",
    "canary",
    "beta",
]
LABELS = [
    "bug",
    "enhancement",
    "documentation",
    "duplicate",
    "good-first-issue",
    "help-wanted",
    "invalid",
    "question",
    "wontfix",
    "dependencies",
    "security",
    "performance",
    "breaking-change",
    "needs-triage",
    "stale",
]
ENVS = [
    "production",
    "staging",
    "development",
    "qa",
    "uat",
    "preview",
    "sandbox",
    "perf",
    "canary",
    "demo",
    "test",
    "dr-site",
]
SECRETS = [
    "NPM_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "DOCKERHUB_TOKEN",
    "SLACK_WEBHOOK",
    "SONAR_TOKEN",
    "CODECOV_TOKEN",
    "PYPI_API_TOKEN",
    "GH_PAT",
    "SENTRY_DSN",
    "DEPLOY_KEY",
    "GPG_PRIVATE_KEY",
]
FILES = [
    "README.md",
    "LICENSE",
    "package.json",
    "setup.py",
    "pyproject.toml",
    "Makefile",
    "Dockerfile",
    "docs",
    "src",
    "lib",
    "tests",
    "index.js",
    "main.go",
    "Cargo.toml",
    "go.mod",
    "requirements.txt",
    "CHANGELOG.md",
    "CONTRIBUTING.md",
    ".gitignore",
    "tsconfig.json",
]
APPS = [
    "dependabot",
    "renovate",
    "codecov",
    "netlify",
    "vercel",
    "circleci",
    "travis-ci",
    "snyk",
    "sonarcloud",
    "github-actions",
    "mergify",
    "stale-bot",
]
TEAMS = [
    "core",
    "platform",
    "frontend",
    "backend",
    "infra",
    "security",
    "docs",
    "devrel",
    "qa",
    "mobile",
    "data",
    "ml",
    "release-managers",
    "maintainers",
]
GITIGNORE = [
    "C",
    "Python",
    "Node",
    "Go",
    "Java",
    "Ruby",
    "Rust",
    "Swift",
    "Haskell",
    "Elixir",
    "Scala",
    "Kotlin",
    "Dart",
    "Julia",
    "Perl",
]
LICENSES = [
    "mit",
    "apache-2.0",
    "gpl-3.0",
    "gpl-2.0",
    "bsd-3-clause",
    "bsd-2-clause",
    "mpl-2.0",
    "lgpl-3.0",
    "agpl-3.0",
    "unlicense",
    "epl-2.0",
    "cc0-1.0",
    "bsl-1.0",
]
PACKAGES = [
    "left-pad",
    "lodash",
    "core",
    "cli",
    "utils",
    "sdk",
    "api-client",
    "web-ui",
    "auth-service",
    "billing",
    "notifier",
    "logger",
]
BOOKS = [f"bookTitle{n}" for n in range(10, 99)]


def _b62(rng: random.Random, n: int) -> str:
    body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))
    return body if any(c.isdigit() for c in body) else body[:-1] + rng.choice(string.digits)


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


# Stripe-style object prefixes, keyed by the collection the id follows
STRIPE_PREFIX = {
    "customers": "cus",
    "subscriptions": "sub",
    "setup_intents": "seti",
    "payment_intents": "pi",
    "payment_methods": "pm",
    "sessions": "cs_test",
    "quotes": "qt",
    "products": "prod",
    "accounts": "acct",
    "invoices": "in",
    "charges": "ch",
    "refunds": "re",
    "sources": "src",
    "tax_ids": "txi",
    "external_accounts": "ba",
    "balance_transactions": "cbtxn",
    "cash_balance_transactions": "ccsbtxn",
}


@dataclass
class Doc:
    name: str
    host: str
    style: str  # how identifiers look: stripe | uuid | github | ukob | crapi | vampi
    endpoints: list[tuple[str, str]]  # (method, template) as in the spec
    enums: dict[str, list[str]]


def load_doc(name: str, host: str, style: str) -> Doc:
    endpoints: list[tuple[str, str]] = []
    enums: dict[str, list[str]] = {}
    for line in (DATA / f"{name}.paths").read_text().splitlines():
        body, _, note = line.partition("#")
        for name_, values in re.findall(r"(\w+)=enum:([\w,.-]+)", note):
            enums[name_] = values.split(",")
        if body.strip():
            method, path = body.split()
            endpoints.append((method, path))
    return Doc(name, host, style, endpoints, enums)


DOCS = [
    ("stripe", "api.stripe.com", "stripe"),
    ("github", "api.github.com", "github"),
    ("modern_treasury", "app.moderntreasury.com", "uuid"),
    ("ukob_aisp", "ob.bank.example", "ukob"),
    ("crapi", "crapi.example", "crapi"),
    ("vampi", "vampi.example", "vampi"),
]


def value(doc: Doc, param: str, prev: str, rng: random.Random) -> str:
    """A realistic value for ``{param}`` that follows the literal ``prev``."""
    p = param.lower()
    if doc.style == "stripe":
        prefix = STRIPE_PREFIX.get(prev) or {"accountid": "acct", "invoiceid": "in"}.get(p, "obj")
        if p == "transaction" and prev not in STRIPE_PREFIX:
            prefix = "cbtxn"
        return f"{prefix}_{_b62(rng, rng.choice([14, 16, 24]))}"
    if doc.style == "uuid":
        return _uuid(rng)
    if doc.style == "ukob":
        if p == "accountid":
            return str(rng.randint(10000, 99999))
        if p == "consentid":
            return f"urn-alphabank-intent-{rng.randint(10000, 99999)}"
        return f"{_b62(rng, 6).lower()}-{_b62(rng, 8).lower()}-{rng.randint(10000, 99999)}"
    if doc.style == "crapi":
        if p == "vehicleid":
            return _uuid(rng)
        if p == "postid":
            return _b62(rng, 22)  # shortuuid, as in the spec's example
        return str(rng.randint(1, 99999))
    if doc.style == "vampi":
        return rng.choice(USERS) if p == "username" else rng.choice(BOOKS)
    # github
    pools = {
        "owner": USERS + ORGS,
        "template_owner": USERS + ORGS,
        "username": USERS,
        "assignee": USERS,
        "target_user": USERS,
        "org": ORGS,
        "enterprise": ORGS,
        "repo": REPOS,
        "repo_name": REPOS,
        "template_repo": REPOS,
        "branch": BRANCHES,
        "environment_name": ENVS,
        "secret_name": SECRETS,
        "path": FILES,
        "dir": FILES,
        "team_slug": TEAMS,
        "app_slug": APPS,
        "license": LICENSES,
        "package_name": PACKAGES,
    }
    if p in pools:
        return rng.choice(pools[p])
    if p == "name":
        return rng.choice(GITIGNORE if prev == "templates" else LABELS)
    if p == "tag":
        return f"v{rng.randint(0, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    if p in ("sha", "ref", "base", "head") or p.endswith("_sha"):
        return _hex(rng, 40)
    if p == "gist_id":
        return _hex(rng, 32)
    if p == "code":
        return _hex(rng, 20)
    if p == "client_id":
        return "Iv1." + _hex(rng, 16)
    return str(rng.randint(1, 10 ** rng.randint(2, 9)))


def expand_enums(doc: Doc) -> list[tuple[str, str, str]]:
    """(method, spec template, ground-truth template): enum parameters become literals."""
    out = []
    for method, template in doc.endpoints:
        variants = [template]
        for name, values in doc.enums.items():
            if "{" + name + "}" in template:
                variants = [v.replace("{" + name + "}", val) for v in variants for val in values]
        out.extend((method, template, v) for v in variants)
    return out


def normalise(template: str) -> str:
    """Parameters compared by position only: a segment with any ``{`` becomes ``{}``."""
    return "/".join("{}" if "{" in seg else seg for seg in template.split("/"))


def generate(doc: Doc, rng: random.Random, vmin: int, vmax: int) -> pl.DataFrame:
    """Distinct raw paths with request counts and the ground-truth template of each."""
    rows: dict[tuple[str, str], list] = {}
    for method, _, truth in expand_enums(doc):
        segs = truth.split("/")
        has_param = any("{" in s for s in segs)
        weight = rng.paretovariate(1.1)
        for _ in range(rng.randint(vmin, vmax) if has_param else 1):
            out = []
            for i, seg in enumerate(segs):
                prev = segs[i - 1] if i else ""
                out.append(PARAM.sub(lambda m, prev=prev: value(doc, m.group(1), prev, rng), seg))
            path = "/".join(out)
            count = max(1, int(weight * rng.paretovariate(1.3) * 3))
            key = (method, path)
            if key in rows:
                rows[key][2] += count
                rows[key][3].add(normalise(truth))
            else:
                rows[key] = [method, path, count, {normalise(truth)}]
    return pl.DataFrame(
        {
            "host": [doc.host] * len(rows),
            "method": [r[0] for r in rows.values()],
            "path": [r[1] for r in rows.values()],
            "count": [r[2] for r in rows.values()],
            "truth": [sorted(r[3]) for r in rows.values()],
        }
    )


def score(doc: Doc, traffic: pl.DataFrame, assigned: pl.DataFrame) -> dict:
    truth = {(m, normalise(t)) for m, _, t in expand_enums(doc)}
    pred = {(m, normalise(t)) for m, t in assigned.select("method", "template").unique().iter_rows()}
    tp = len(truth & pred)
    precision = tp / len(pred) if pred else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    by_pred: dict[tuple[str, str], set] = defaultdict(set)
    by_truth: dict[tuple[str, str], set] = defaultdict(set)
    for method, template, truths in assigned.select("method", "template", "truth").iter_rows():
        p = (method, normalise(template))
        for t in truths:
            by_pred[p].add(t)
            by_truth[(method, t)].add(p)
    over = sorted(f"{m} {t}" for (m, t), ts in by_pred.items() if len(ts) > 1)
    under = sorted(f"{m} {t}" for (m, t), ps in by_truth.items() if len(ps) > 1)
    return {
        "document": doc.name,
        "spec_endpoints": len(doc.endpoints),
        "truth_templates": len(truth),
        "distinct_paths": traffic.height,
        "requests": int(traffic["count"].sum()),
        "recovered": len(pred),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "over_merged": len(over),
        "under_merged": len(under),
        "missed": sorted(f"{m} {t}" for m, t in truth - pred),
        "spurious": sorted(f"{m} {t}" for m, t in pred - truth),
        "over_merged_templates": over,
        "under_merged_templates": under,
    }


def evaluate(
    name: str,
    host: str,
    style: str,
    *,
    seed: int = 7,
    vmin: int = 8,
    vmax: int = 20,
    min_distinct: int | None = None,
) -> dict:
    """Generate, template without the spec, and score one document."""
    doc = load_doc(name, host, style)
    traffic = generate(doc, random.Random(f"{seed}-{name}"), vmin, vmax)
    t0 = time.perf_counter()
    templater = Templater(min_distinct=min_distinct)
    assigned = templater.assign(traffic)
    seconds = time.perf_counter() - t0
    result = score(doc, traffic, assigned)
    result["seconds"] = round(seconds, 3)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print results as JSON")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--values", default="8:20", help="distinct values per parametrised template, MIN:MAX")
    ap.add_argument(
        "--min-distinct", type=int, default=None, help="Templater min_distinct (default: its own)"
    )
    ap.add_argument("--doc", action="append", help="only these documents (repeatable)")
    ap.add_argument("--details", action="store_true", help="list missed and spurious templates")
    args = ap.parse_args(argv)
    vmin, vmax = (int(x) for x in args.values.split(":"))
    results = [
        evaluate(n, h, s, seed=args.seed, vmin=vmin, vmax=vmax, min_distinct=args.min_distinct)
        for n, h, s in DOCS
        if not args.doc or n in args.doc
    ]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    table = Table(
        title=f"Path templating without the spec (values per template {vmin}-{vmax}, seed {args.seed})"
    )
    for col in ("document", "spec", "paths", "requests", "found", "P", "R", "F1", "over", "under", "s"):
        table.add_column(col, justify="left" if col == "document" else "right")
    for r in results:
        table.add_row(
            r["document"],
            str(r["truth_templates"]),
            f"{r['distinct_paths']:,}",
            f"{r['requests']:,}",
            str(r["recovered"]),
            f"{r['precision']:.3f}",
            f"{r['recall']:.3f}",
            f"{r['f1']:.3f}",
            str(r["over_merged"]),
            str(r["under_merged"]),
            f"{r['seconds']:.2f}",
        )
    console = Console(width=max(Console().width, 110))  # the table needs ~100 columns
    console.print(table)
    if args.details:
        for r in results:
            for key in ("missed", "spurious", "over_merged_templates", "under_merged_templates"):
                if r[key]:
                    console.print(f"[bold]{r['document']} {key}[/bold] ({len(r[key])})", highlight=False)
                    for item in r[key][:40]:
                        console.print("  " + item, highlight=False, markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
