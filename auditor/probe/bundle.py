"""A probe bundle: everything `auditor probe -` needs on a remote probe host, sent over the
SSH connection's standard input by `auditor fleet run`, never on a command line or in an
environment: the flows (already derived and checked on the fleet host), their providers, the
CA files they validate against (by content), and the bind passwords and shared secrets.

The probe host answers with an ordinary results document on standard output. The secrets live
in the remote process's memory only; the CA files in a private folder removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated

from auditor import __version__
from auditor.documents.codec import decode, to_json
from auditor.documents.fields import in_range
from auditor.documents.jsonsource import parse_json
from auditor.errors import InputError, Problem
from auditor.inventory.secrets import Secret
from auditor.model.inventory import Flow, Inventory, Provider
from auditor.model.results import ResultsDocument, RunMeta, results_to_json
from auditor.probe.engine import ProbeOptions, probe_flows

FORMAT = "auditor-probe-bundle/1"
MAX_BYTES = 64 * 1024 * 1024
DISPLAY = "<standard input: probe bundle>"


@dataclass(frozen=True, slots=True)
class BundleOptions:
    timeout: Annotated[float, in_range(0.05, 600, "seconds")] = 3.0
    concurrency: Annotated[int, in_range(1, 8192, "a count")] = 2048
    per_destination: Annotated[int, in_range(1, 8192, "a count")] = 64
    retries: Annotated[int, in_range(0, 10, "a count")] = 0


@dataclass(frozen=True, slots=True)
class ProbeBundle:
    format: str
    tool_version: str
    inventory: str  # the inventory's name on the fleet host (for the results document)
    inventory_digest: str
    flows: tuple[Flow, ...]
    providers: tuple[Provider, ...]  # ca_file: a key of `files`
    files: Mapping[str, str]  # key -> PEM text
    secrets: Mapping[str, str]  # provider name -> password or shared secret
    options: BundleOptions


def compatible(local: str, remote: str) -> bool:
    """Bundles and results documents are read alike by auditors of one major.minor version."""
    return local.split(".")[:2] == remote.split(".")[:2]


def make_bundle(
    inventory: Inventory,
    flows: tuple[Flow, ...],
    passwords: Mapping[str, Secret],
    options: ProbeOptions,
) -> str:
    """The bundle's JSON text for these flows. Reads every CA file the providers name (the
    caller has checked them: `preflight`)."""
    names = {name for flow in flows for name in flow.providers}
    providers: list[Provider] = []
    files: dict[str, str] = {}
    for provider in inventory.providers:
        if provider.name not in names:
            continue
        if provider.ca_file is None:
            providers.append(provider)
            continue
        key = f"ca-{len(files)}.pem"
        files[key] = provider.ca_file.read_text(encoding="utf-8")
        providers.append(replace(provider, ca_file=Path(key)))
    bundle = ProbeBundle(
        format=FORMAT,
        tool_version=__version__,
        inventory=inventory.source.name,
        inventory_digest=inventory.digest,
        flows=flows,
        providers=tuple(providers),
        files=files,
        secrets={name: secret.reveal() for name, secret in passwords.items() if name in names},
        options=BundleOptions(
            options.timeout, options.concurrency, options.per_destination, options.retries
        ),
    )
    return json.dumps(to_json(bundle), sort_keys=True)


def read_bundle(stream: IO[bytes]) -> ProbeBundle:
    raw = stream.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise InputError([Problem(DISPLAY, None, "", "larger than 64 MiB")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(DISPLAY, None, "", "not UTF-8")]) from None
    data = parse_json(text, DISPLAY)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            [Problem(DISPLAY, None, "format", f"not a probe bundle (expected {FORMAT})")]
        )
    bundle, problems = decode(ProbeBundle, data)
    if bundle is None:
        # the path and the complaint only: a value here may be a secret
        raise InputError([Problem(DISPLAY, None, path, "not what a probe bundle holds")
                          for path, _ in problems[:5]])  # fmt: skip
    return bundle


def probe_bundle(bundle: ProbeBundle, out: IO[str] = sys.stdout) -> ResultsDocument:
    """Probe the bundle's flows from this host and write the results document to `out`."""
    folder = Path(tempfile.mkdtemp(prefix="auditor-bundle-"))  # mode 0700
    try:
        for key, text in bundle.files.items():
            if "/" in key or key.startswith("."):
                raise InputError([Problem(DISPLAY, None, f"files.{key}", "not a file name")])
            fd = os.open(folder / key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        providers = tuple(
            replace(p, ca_file=folder / p.ca_file.name) if p.ca_file is not None else p
            for p in bundle.providers
        )
        secrets = {name: Secret(value) for name, value in bundle.secrets.items()}
        o = bundle.options
        started = datetime.now(UTC)
        records = probe_flows(
            bundle.flows,
            providers,
            secrets,
            ProbeOptions(o.timeout, o.concurrency, o.per_destination, o.retries),
        )
        finished = datetime.now(UTC)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    doc = ResultsDocument(
        meta=RunMeta(
            tool_version=__version__,
            inventory=bundle.inventory,
            inventory_digest=bundle.inventory_digest,
            probing_host=socket.gethostname(),
            started_at=_stamp(started),
            finished_at=_stamp(finished),
            options={"bundle": True, "timeout": o.timeout, "concurrency": o.concurrency},
        ),
        records=records,
    )
    out.write(json.dumps(results_to_json(doc), indent=2) + "\n")
    out.flush()
    return doc


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
