"""A probe bundle: everything `auditor probe -` needs on a remote probe host to probe every
pair of a fleet's site, sent over the SSH connection's standard input by `auditor fleet run`,
never on a command line or in an environment: per pair, the flows (already derived and checked
on the fleet host), their providers, the CA files they validate against (by content), and the
bind passwords and shared secrets.

The probe host answers with a *probe stream* on standard output: a first line that names the
stream's format (so a probe host that does not read this bundle format says so before anything
is probed), then, as each pair is probed (in the bundle's order), one frame: a JSON header line
(`pair`, `exit_status`, `error`, `length`) followed by `length` bytes, that pair's ordinary
results document (none when the pair failed: `error` says why, and the next pair is probed);
last, an end line. The secrets live in the remote process's memory only; each pair's CA files
in a private folder removed when that pair is done.

A pair may ask for claim mode (`claim`: the interface, the pair's addresses with their
prefixes, the child type, the gateways): the probe host borrows the free addresses for that
pair's probe and releases them after it (the claim itself is `auditor.claim`'s, handed in as a
`Claimer`). Once nobody reads the stream any more (the connection lost, the fleet killed), the
probe host stops: SIGTERM to itself, which releases what it claimed on the way out.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any, Protocol

from netaddr import IPAddress, IPNetwork

from auditor import __version__
from auditor.documents.codec import decode, to_json
from auditor.documents.fields import in_range
from auditor.documents.jsonsource import parse_json
from auditor.errors import AuditorError, InputError, Problem, Terminated, terminate_raises
from auditor.inventory.secrets import Secret
from auditor.model.findings import compute_verdict
from auditor.model.inventory import Flow, Inventory, Provider
from auditor.model.record import ProbeRecord
from auditor.model.results import ResultsDocument, RunMeta, results_to_json
from auditor.model.verdict import exit_code
from auditor.probe.engine import ProbeOptions, probe_flows
from auditor.redact import redact
from auditor.textout import printable

# /2: one bundle per site with all its pairs, answered by a probe stream (/1: one pair per
# process, answered by one results document). A probe host that reads only /1 refuses /2.
# /3: /2 with a pair's `claim`. A site's bundle is /3 only when one of its pairs claims: a /2
# reader ignores keys it does not know, so it would probe without claiming; it refuses /3.
FORMAT = "auditor-probe-bundle/2"
FORMAT_CLAIM = "auditor-probe-bundle/3"
FORMATS = (FORMAT, FORMAT_CLAIM)
STREAM = "auditor-probe-stream/1"
MAX_BYTES = 256 * 1024 * 1024  # a site's bundle
MAX_DOCUMENT = 64 * 1024 * 1024  # one pair's results document in the stream
MAX_HEADER = 64 * 1024  # one header line of the stream
DISPLAY = "<standard input: probe bundle>"


@dataclass(frozen=True, slots=True)
class BundleOptions:
    timeout: Annotated[float, in_range(0.05, 600, "seconds")] = 3.0
    concurrency: Annotated[int, in_range(1, 8192, "a count")] = 2048
    per_destination: Annotated[int, in_range(1, 8192, "a count")] = 64
    retries: Annotated[int, in_range(0, 10, "a count")] = 0


@dataclass(frozen=True, slots=True)
class BundleClaim:
    """Claim mode at the probe host (a fleet file's `claim:`): borrow the pair's free
    `addresses` on `interface` for its probe, release them after it."""

    interface: str
    addresses: tuple[IPNetwork, ...]  # the flows' sources, with the inventory's prefixes
    mode: str | None = None  # ipvlan | macvlan; None: what the kernel offers
    gateways: tuple[IPAddress, ...] = ()  # at most one per family; none: the interface's


# What probes a pair from claimed addresses: a context (the claim, released at its end) that
# gives the prober to use and the claim's description for the results document.
Prober = Callable[..., tuple[ProbeRecord, ...]]
Claimer = Callable[[BundleClaim], contextlib.AbstractContextManager[tuple[Prober, Any]]]


@dataclass(frozen=True, slots=True)
class PairBundle:
    """One pair of the site: what its probe needs."""

    name: str  # the pair's name in the fleet (the stream's frames carry it back)
    inventory: str  # the inventory's name on the fleet host (for the results document)
    inventory_digest: str
    flows: tuple[Flow, ...]
    providers: tuple[Provider, ...]  # ca_file: a key of `files`
    files: Mapping[str, str]  # key -> PEM text
    secrets: Mapping[str, str]  # provider name -> password or shared secret
    options: BundleOptions
    claim: BundleClaim | None = None  # claim mode at the probe host (None: its own addresses)


@dataclass(frozen=True, slots=True)
class ProbeBundle:
    """A site's bundle: its pairs, probed one after the other in this order."""

    format: str
    tool_version: str
    pairs: tuple[PairBundle, ...]


def compatible(local: str, remote: str) -> bool:
    """Bundles and results documents are read alike by auditors of one major.minor version."""
    return local.split(".")[:2] == remote.split(".")[:2]


def make_bundle(
    name: str,
    inventory: Inventory,
    flows: tuple[Flow, ...],
    passwords: Mapping[str, Secret],
    options: ProbeOptions,
    *,
    claim: BundleClaim | None = None,
) -> str:
    """One pair's part of a site's bundle (JSON text; `site_bundle` joins them). Reads every
    CA file the providers name (the caller has checked them: `preflight`)."""
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
    pair = PairBundle(
        name=name,
        inventory=inventory.source.name,
        inventory_digest=inventory.digest,
        flows=flows,
        providers=tuple(providers),
        files=files,
        secrets={name: secret.reveal() for name, secret in passwords.items() if name in names},
        options=BundleOptions(
            options.timeout, options.concurrency, options.per_destination, options.retries
        ),
        claim=claim,
    )
    return json.dumps(to_json(pair), sort_keys=True)


def site_bundle(pairs: Sequence[str], *, claims: bool = False) -> bytes:
    """The bundle of a site whose pairs' parts (`make_bundle`) are these, in this order;
    `claims`: one of them has a `claim` (the bundle is FORMAT_CLAIM then)."""
    head = json.dumps({"format": bundle_format(claims), "tool_version": __version__})[:-1]
    return f'{head}, "pairs": [{", ".join(pairs)}]}}'.encode()


def bundle_format(claims: bool) -> str:
    return FORMAT_CLAIM if claims else FORMAT


def read_bundle(stream: IO[bytes]) -> ProbeBundle:
    raw = stream.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise InputError([Problem(DISPLAY, None, "", f"larger than {MAX_BYTES >> 20} MiB")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(DISPLAY, None, "", "not UTF-8")]) from None
    data = parse_json(text, DISPLAY)
    if not isinstance(data, dict) or data.get("format") not in FORMATS:
        raise InputError(
            [
                Problem(
                    DISPLAY, None, "format", f"not a probe bundle (expected {' or '.join(FORMATS)})"
                )
            ]
        )
    bundle, problems = decode(ProbeBundle, data)
    if bundle is None:
        # the path and the complaint only: a value here may be a secret
        raise InputError([Problem(DISPLAY, None, path, "not what a probe bundle holds")
                          for path, _ in problems[:5]])  # fmt: skip
    names = [pair.name for pair in bundle.pairs]
    if len(set(names)) != len(names):
        raise InputError([Problem(DISPLAY, None, "pairs", "a pair name given twice")])
    if bundle.format == FORMAT and any(pair.claim is not None for pair in bundle.pairs):
        raise InputError([Problem(DISPLAY, None, "format", f"a claim needs {FORMAT_CLAIM}")])
    return bundle


# ---- the probe host's side: the stream -----------------------------------------------------


def probe_bundle(bundle: ProbeBundle, out: IO[bytes], claimer: Claimer | None = None) -> None:
    """Probe each pair of the bundle from this host, in order, and write the probe stream to
    `out`: a pair's frame as soon as it is done. A pair that fails (a bad CA file name, an
    error of this host, an interface it cannot claim on) gets a frame with its one-line error
    and no document; the next pair is probed all the same. SIGTERM, SIGHUP, and nobody
    reading `out` any more end the stream (Terminated): a claim is released on the way out."""
    with _terminate_raises(), _stop_when_unread(out):
        _stream(bundle, out, claimer)


def _stream(bundle: ProbeBundle, out: IO[bytes], claimer: Claimer | None) -> None:
    out.write(_line({"format": STREAM, "tool_version": __version__, "pairs": len(bundle.pairs)}))
    out.flush()
    for pair in bundle.pairs:
        document, status, error = b"", 0, ""
        try:
            doc = probe_pair(pair, claimer)
            document = (json.dumps(results_to_json(doc), indent=2) + "\n").encode()
            status = exit_code(compute_verdict(pair.flows, doc.records))
        except Terminated:
            raise  # the whole stream ends, not this pair
        except AuditorError as exc:
            status, error = exc.exit_code, _first_line(str(exc) or type(exc).__name__)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            status, error = 3, _first_line(f"error: {where}{exc.strerror or exc}")
        except Exception as exc:  # one pair's failure is its frame, not the end
            status = 3
            error = _first_line(f"error: internal error ({type(exc).__name__}: {exc})")
        header = {"pair": pair.name, "exit_status": status, "error": error}
        out.write(_line({**header, "length": len(document)}) + document)
        out.flush()
    out.write(_line({"end": True, "pairs": len(bundle.pairs)}))
    out.flush()


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """SIGTERM and SIGHUP raise Terminated (so every `finally` runs: a claim is released, the
    CA folder removed); a claim session takes them over while it lasts, alike."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with terminate_raises():
        yield


@contextlib.contextmanager
def _stop_when_unread(out: IO[bytes]) -> Iterator[None]:
    """While the stream is written: once its reader is gone (a pipe or socket whose other end
    closed: the SSH connection lost, the fleet process killed), SIGTERM this process at once,
    not when the next frame fails to write minutes later (claimed addresses are held till
    then)."""
    try:
        fd = out.fileno()
    except (OSError, ValueError, AttributeError):  # not a file (a test's buffer)
        yield
        return
    done = threading.Event()

    def watch() -> None:
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR and POLLHUP are always reported
        while not done.is_set():
            if any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(200)):
                if not done.is_set():
                    os.kill(os.getpid(), signal.SIGTERM)
                return

    watcher = threading.Thread(target=watch, name="stream-reader-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()


def probe_pair(pair: PairBundle, claimer: Claimer | None = None) -> ResultsDocument:
    """Probe the pair's flows from this host (from its claimed addresses when it asks for a
    claim): its results document."""
    # its CA files' private folder (mode 0700): made only for a pair with CA files
    uses_files = pair.files or any(p.ca_file is not None for p in pair.providers)
    folder = Path(tempfile.mkdtemp(prefix="auditor-bundle-")) if uses_files else None
    try:
        for key, text in pair.files.items():
            assert folder is not None
            if "/" in key or key.startswith("."):
                raise InputError([Problem(DISPLAY, None, f"files.{key}", "not a file name")])
            fd = os.open(folder / key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        providers = tuple(
            replace(p, ca_file=folder / p.ca_file.name)
            if p.ca_file is not None and folder is not None
            else p
            for p in pair.providers
        )
        secrets = {name: Secret(value) for name, value in pair.secrets.items()}
        o = pair.options
        options = ProbeOptions(o.timeout, o.concurrency, o.per_destination, o.retries)
        started = datetime.now(UTC)
        claimed: dict[str, Any] = {}
        if pair.claim is None:
            records = probe_flows(pair.flows, providers, secrets, options)
        else:
            if claimer is None:
                raise AuditorError("this probe host cannot claim addresses")
            with claimer(pair.claim) as (prober, description):
                records = prober(pair.flows, providers, secrets, options)
                claimed = {"claim": description}
        finished = datetime.now(UTC)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return ResultsDocument(
        meta=RunMeta(
            tool_version=__version__,
            inventory=pair.inventory,
            inventory_digest=pair.inventory_digest,
            probing_host=socket.gethostname(),
            started_at=_stamp(started),
            finished_at=_stamp(finished),
            options={
                "bundle": True,
                "timeout": o.timeout,
                "concurrency": o.concurrency,
                **claimed,
            },
        ),
        records=records,
    )


def _line(data: Mapping[str, object]) -> bytes:
    return (json.dumps(data, sort_keys=True) + "\n").encode()


def _first_line(text: str) -> str:
    lines = [line for line in redact(text).splitlines() if line.strip()]
    return printable(lines[0] if lines else "")[:300]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the fleet's side: reading the stream --------------------------------------------------


class Reader(Protocol):
    """What the stream is read from (asyncssh's and asyncio's stream readers)."""

    async def readline(self) -> bytes: ...

    async def readexactly(self, n: int, /) -> bytes: ...


class StreamError(Exception):
    """The probe stream was cut short or is not one; the message says where (one line)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One pair's answer in the stream."""

    pair: str
    document: str  # its results document (JSON text), "" when there is none
    exit_status: int | None
    error: str  # why there is no document ("" when there is one)


async def read_stream(reader: Reader, pairs: Sequence[str]) -> AsyncIterator[Frame]:
    """The frames of a probe stream for a bundle of these pairs, as each arrives. Raises
    StreamError when the stream does not start as one, ends early, or is not well formed;
    the frames before were good and stay given."""
    first = await _header(reader, "its start")
    if first is None:
        raise StreamError("no probe stream")
    if first.get("format") != STREAM:
        raise StreamError(f"not a probe stream (expected {STREAM})")
    for done, name in enumerate(pairs):
        where = f"after {done} of {len(pairs)} pairs"
        header = await _header(reader, where)
        if header is None:
            raise StreamError(f"the probe stream ended {where}")
        length = header.get("length")
        status = header.get("exit_status")
        error = header.get("error")
        if (
            header.get("pair") != name
            or not isinstance(length, int)
            or not 0 <= length <= MAX_DOCUMENT
            or not (status is None or isinstance(status, int))
            or not isinstance(error, str)
        ):
            raise StreamError(f"the probe stream is garbled {where} (expected pair {name})")
        try:
            body = await reader.readexactly(length) if length else b""
        except EOFError:  # asyncio.IncompleteReadError
            raise StreamError(f"the probe stream ended {where}, in pair {name}") from None
        try:
            document = body.decode("utf-8")
        except UnicodeDecodeError:
            document, error = "", "its results document is not UTF-8"
        yield Frame(name, document, status, printable(error)[:300])
    end = await _header(reader, "at its end")
    if end is None or end.get("end") is not True:
        raise StreamError(f"the probe stream has no end after its {len(pairs)} pairs")


async def _header(reader: Reader, where: str) -> dict[str, object] | None:
    line = await reader.readline()
    if not line:
        return None
    if not line.endswith(b"\n") or len(line) > MAX_HEADER:
        raise StreamError(f"the probe stream is cut or garbled {where}")
    try:
        data = json.loads(line)
    except ValueError:
        raise StreamError(f"the probe stream is garbled {where}") from None
    if not isinstance(data, dict):
        raise StreamError(f"the probe stream is garbled {where}")
    return data
