"""Extract the netfilter projects' own test rules into tests/ruleset_corpus/ (issue 18, item 4).

    .venv/bin/python bench/ruleset_corpus_extract.py IPTABLES_CHECKOUT NFTABLES_CHECKOUT

IPTABLES_CHECKOUT: a git checkout of iptables (the `extensions/*.t` files: one rule per line,
`RULE;EXPECTED;OK|FAIL`). NFTABLES_CHECKOUT: a git checkout of nftables (`tests/py/*/*.t.json`:
the JSON of each rule of the Python test suite; `tests/shell/testcases/**/dumps/*.json-nft`:
`nft -j list ruleset` after each shell test). Both projects are GPL-2.0; the extracted lines
are test data only, written with the commit they came from (see tests/ruleset_corpus/README.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "ruleset_corpus"
_FAMILY_OF = {"libipt_": 4, "libip6t_": 6, "libxt_": 4}


def _git(checkout: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def _files(checkout: Path, prefix: str, suffix: str) -> list[str]:
    names = _git(checkout, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    return sorted(n for n in names if n.startswith(prefix) and n.endswith(suffix))


def iptables_rules(checkout: Path) -> list[dict[str, object]]:
    """Every rule the .t files expect iptables to take (`OK`), as iptables-save prints it."""
    out = []
    for name in _files(checkout, "extensions/lib", ".t"):
        base = name.rsplit("/", 1)[1]
        version = next((v for p, v in _FAMILY_OF.items() if base.startswith(p)), None)
        if version is None:
            continue  # arptables, ebtables
        table, chains = "filter", ["INPUT"]
        for line in _git(checkout, "show", f"HEAD:{name}").splitlines():
            if line.startswith("*"):
                table = line[1:].strip()
            elif line.startswith(":"):
                chains = line[1:].strip().split(",")
            elif line.count(";") >= 2 and not line.startswith("#"):
                rule, expected, verdict = line.rsplit(";", 2)
                if verdict.strip() != "OK":
                    continue
                shown = rule if expected in ("=", "") else expected
                out.append({"source": base, "version": version, "table": table,
                            "chain": chains[0], "rule": shown})  # fmt: skip
    return out


def nft_py_rules(checkout: Path) -> list[dict[str, object]]:
    """The JSON of each rule in tests/py (ip, ip6, inet, any): the expression list."""
    out = []
    for name in _files(checkout, "tests/py/", ".t.json"):
        family = name.split("/")[2]
        if family not in ("ip", "ip6", "inet", "any"):
            continue
        text = _git(checkout, "show", f"HEAD:{name}")
        for block in text.split("\n# ")[0:]:
            title, _, body = block.lstrip("# ").partition("\n")
            if not body.strip():
                continue
            try:
                expr = json.loads(body)
            except json.JSONDecodeError:
                continue
            fam = "inet" if family == "any" else family
            out.append({"source": name.removeprefix("tests/py/"), "family": fam,
                        "rule": title.strip(), "expr": expr})  # fmt: skip
    return out


def nft_shell_dumps(checkout: Path) -> list[dict[str, object]]:
    out = []
    for name in _files(checkout, "tests/shell/testcases/", ".json-nft"):
        doc = json.loads(_git(checkout, "show", f"HEAD:{name}"))
        out.append({"source": name.removeprefix("tests/shell/testcases/"), "dump": doc})
    return out


def _write_lines(path: Path, rows: list[dict[str, object]], head: dict[str, object]) -> None:
    lines = [json.dumps(head, separators=(",", ":"))]
    lines += [json.dumps(r, separators=(",", ":")) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    iptables, nftables = (Path(a) for a in sys.argv[1:3])
    ipt_commit = _git(iptables, "rev-parse", "HEAD").strip()
    nft_commit = _git(nftables, "rev-parse", "HEAD").strip()
    licence = "GPL-2.0 (test data of the netfilter project)"
    _write_lines(
        OUT / "iptables_t.jsonl",
        iptables_rules(iptables),
        {"from": "iptables extensions/*.t", "commit": ipt_commit, "licence": licence},
    )
    _write_lines(
        OUT / "nft_py.jsonl",
        nft_py_rules(nftables),
        {"from": "nftables tests/py/*/*.t.json", "commit": nft_commit, "licence": licence},
    )
    _write_lines(OUT / "nft_shell.jsonl", nft_shell_dumps(nftables),
                 {"from": "nftables tests/shell/testcases/**/dumps/*.json-nft",
                  "commit": nft_commit, "licence": licence})  # fmt: skip


if __name__ == "__main__":
    main()
