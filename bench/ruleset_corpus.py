"""The share of flows the real-world dumps leave unknown (issue 18, item 4): each dump of
tests/ruleset_corpus/ (ufw, Docker, kube-proxy, shorewall, firewalld, OpenWrt fw4) against its
flows (tests/corpus_support.py: sources and destinations the rules name and others, the ports
they name and common ones, TCP and UDP, the interfaces given), on FORWARD and INPUT; a dump
whose host's own addresses are known (shorewall, firewalld) also with them (`--local-address`).
Prints one line per dump, hook and addresses with the share unknown and the commonest reasons.

    .venv/bin/python bench/ruleset_corpus.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from corpus_support import DUMPS, decide, unknown_share

from auditor.ruleset import Hook


def main() -> None:
    for dump in DUMPS:
        for hook in (Hook.FORWARD, Hook.INPUT):
            for local in (False, True) if dump.local else (False,):
                decisions = decide(dump, hook, local)
                share, reasons = unknown_share(decisions)
                verdicts: dict[str, int] = {}
                for d in decisions:
                    verdicts[d.verdict.value] = verdicts.get(d.verdict.value, 0) + 1
                print(json.dumps({"dump": dump.name, "hook": hook.value, "local_address": local,
                                  "flows": len(decisions), "unknown_pct": round(100 * share, 1),
                                  "verdicts": verdicts,
                                  "reasons": reasons.most_common(3)}))  # fmt: skip


if __name__ == "__main__":
    main()
