"""A site's probe bundle and its probe stream (what `auditor fleet run` sends to one
`auditor probe -` at a probe host over SSH, and what comes back): every pair of the site in one
bundle, each pair's results document streamed back as soon as that pair is probed, in the
bundle's order; one pair's failure is its own frame and the next pairs are still probed; a
stream cut short is an error that says after how many pairs, the frames before it kept."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from fleet_support import PAIR
from support.cli import auditor

from auditor.flows.prepare import prepare
from auditor.probe import bundle as b
from auditor.probe.options import ProbeOptions
from auditor.probe.preflight import preflight

SECRET = "bundle-secret-Xq7"


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Three pairs' parts of a site bundle: examples/pair.yaml under three names (none of its
    addresses is on this host: every probe ends at once, `not-local`)."""
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", SECRET)
    prepared = prepare(PAIR, resolve=False)
    passwords = preflight(prepared.inventory, prepared.flows)
    options = ProbeOptions(timeout=0.5)
    return [
        b.make_bundle(f"pair-{n}", prepared.inventory, prepared.flows, passwords, options)
        for n in range(3)
    ]


class Flushes(io.BytesIO):
    """An output that remembers what had been flushed each time."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[bytes] = []

    def flush(self) -> None:
        super().flush()
        self.flushed.append(self.getvalue())


def frames_of(data: bytes, names: list[str]) -> tuple[list[b.Frame], str | None]:
    """The frames read from `data` by the fleet's reader, and its StreamError (None: none)."""

    async def read() -> tuple[list[b.Frame], str | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        frames: list[b.Frame] = []
        try:
            async for frame in b.read_stream(reader, names):
                frames.append(frame)
        except b.StreamError as exc:
            return frames, str(exc)
        return frames, None

    return asyncio.run(read())


def stream_for(parts: list[str]) -> bytes:
    out = io.BytesIO()
    b.probe_bundle(b.read_bundle(io.BytesIO(b.site_bundle(parts))), out)
    return out.getvalue()


def test_each_pair_is_streamed_in_order_as_soon_as_it_is_probed(parts, monkeypatch) -> None:
    out = Flushes()
    frames_seen_at_probe: list[int] = []
    real = b.probe_flows

    def probe_flows(*args, **kwargs):  # type: ignore[no-untyped-def]
        frames_seen_at_probe.append(
            len(frames_of(out.getvalue(), ["pair-0", "pair-1", "pair-2"])[0])
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(b, "probe_flows", probe_flows)
    b.probe_bundle(b.read_bundle(io.BytesIO(b.site_bundle(parts))), out)
    # when pair k is probed, the k pairs before it have been written out (and flushed)
    assert frames_seen_at_probe == [0, 1, 2]
    assert out.flushed[-1] == out.getvalue()
    frames, error = frames_of(out.getvalue(), ["pair-0", "pair-1", "pair-2"])
    assert error is None
    assert [f.pair for f in frames] == ["pair-0", "pair-1", "pair-2"]
    for frame in frames:
        doc = json.loads(frame.document)
        assert frame.error == "" and doc["meta"]["options"]["bundle"] is True
        assert doc["meta"]["inventory"] == "pair.yaml"
        statuses = {r["status"] for r in doc["records"]}
        assert "not-local" in statuses and statuses <= {"not-local", "skipped", "untested"}
        assert frame.exit_status == 3  # nothing is local: incomplete, as `probe -` said before
    assert SECRET not in out.getvalue().decode()


def test_one_pairs_error_does_not_hide_the_others(parts, monkeypatch) -> None:
    bad = json.loads(parts[1])
    bad["files"] = {"../escape.pem": "not used"}
    parts[1] = json.dumps(bad)
    real = b.probe_flows
    calls = []

    def probe_flows(flows, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(calls))
        if len(calls) == 2:  # the third pair's probe (the second one made) breaks
            raise RuntimeError(f"boom with {SECRET}")
        return real(flows, *args, **kwargs)

    monkeypatch.setattr(b, "probe_flows", probe_flows)
    parts.append(parts[0].replace('"pair-0"', '"pair-3"'))
    data = stream_for(parts)
    frames, error = frames_of(data, ["pair-0", "pair-1", "pair-2", "pair-3"])
    assert error is None
    assert [f.pair for f in frames] == ["pair-0", "pair-1", "pair-2", "pair-3"]
    assert frames[0].document and frames[3].document
    assert frames[1].document == "" and frames[1].exit_status == 2
    assert "files.../escape.pem" in frames[1].error and "not a file name" in frames[1].error
    assert frames[2].document == "" and frames[2].exit_status == 3
    assert "internal error (RuntimeError: boom with [redacted])" in frames[2].error
    assert SECRET not in data.decode()


def test_a_stream_cut_short_says_after_how_many_pairs(parts) -> None:
    names = ["pair-0", "pair-1", "pair-2"]
    data = stream_for(parts)
    lines = data.split(b"\n")
    second = len(b"\n".join(lines[:1])) + 1  # the first frame's header starts here
    first_header = json.loads(lines[1])
    after_first = second + len(lines[1]) + 1 + first_header["length"]
    cases = {
        # cut inside the second pair's header line, inside its document, before the end line
        after_first + 10: "the probe stream is cut or garbled after 1 of 3 pairs",
        after_first + len(data[after_first:].split(b"\n")[0]) + 1 + 20: (
            "the probe stream ended after 1 of 3 pairs, in pair pair-1"
        ),
        after_first: "the probe stream ended after 1 of 3 pairs",
        len(data) - len(data.split(b"\n")[-2]) - 1: "the probe stream has no end after its 3 pairs",
        0: "no probe stream",
    }
    for cut, message in cases.items():
        frames, error = frames_of(data[:cut], names)
        assert error == message, cut
        kept = 3 if "no end" in message else (0 if cut == 0 else 1)
        assert [f.pair for f in frames] == names[:kept]
        assert all(json.loads(f.document)["records"] for f in frames)


def test_a_frame_for_another_pair_or_another_stream_is_refused(parts) -> None:
    data = stream_for(parts)
    frames, error = frames_of(data, ["pair-0", "other", "pair-2"])
    assert [f.pair for f in frames] == ["pair-0"]
    assert error == "the probe stream is garbled after 1 of 3 pairs (expected pair other)"
    frames, error = frames_of(b'{"format": "auditor-probe-stream/9"}\n', ["pair-0"])
    assert (frames, error) == ([], "not a probe stream (expected auditor-probe-stream/1)")


def test_an_old_single_pair_bundle_is_refused_in_one_line(parts) -> None:
    old = json.loads(parts[0]) | {"format": "auditor-probe-bundle/1", "tool_version": "0.1.0"}
    result = auditor("probe", "-", "-q", stdin=json.dumps(old).encode())
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "not a probe bundle (expected auditor-probe-bundle/2 or auditor-probe-bundle/3)" in line


def test_probe_dash_writes_the_stream_for_a_site_bundle(parts) -> None:
    result = auditor("probe", "-", "-q", stdin=b.site_bundle(parts[:2]))
    assert result.returncode == 0
    frames, error = frames_of(result.raw_stdout.encode(), ["pair-0", "pair-1"])
    assert error is None and [f.pair for f in frames] == ["pair-0", "pair-1"]


def test_a_pair_name_given_twice_is_refused(parts) -> None:
    with pytest.raises(b.InputError, match="a pair name given twice"):
        b.read_bundle(io.BytesIO(b.site_bundle([parts[0], parts[0]])))


def test_the_bundle_is_json_a_site_bundle_reads(parts) -> None:
    bundle = b.read_bundle(io.BytesIO(b.site_bundle(parts)))
    assert bundle.format == b.FORMAT
    assert [p.name for p in bundle.pairs] == ["pair-0", "pair-1", "pair-2"]
    assert all(p.secrets and p.options.timeout == 0.5 for p in bundle.pairs)


# ---- the fleet's side over a connection (asyncssh's process, here a stand-in) ---------------


class Ended:
    def __init__(self, status: int | None, signal: str | None) -> None:
        self.exit_status = status
        self.exit_signal = (signal, False, "", "") if signal else None


class Lost:
    """A reader of these bytes whose end is `lost` raised (None: an ordinary end)."""

    def __init__(self, data: bytes, lost: Exception | None) -> None:
        self.reader = asyncio.StreamReader()
        self.reader.feed_data(data)
        self.reader.feed_eof()
        self.lost = lost

    async def readline(self) -> bytes:
        line = await self.reader.readline()
        if self.lost is not None and not line.endswith(b"\n"):
            raise self.lost
        return line

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self.reader.readexactly(n)
        except asyncio.IncompleteReadError:
            if self.lost is not None:
                raise self.lost from None
            raise


def two_frames(data: bytes) -> bytes:
    """The stream up to the third pair's frame (a frame's header line starts `{"error"`: the
    documents are indented)."""
    starts = [i + 1 for i in range(len(data)) if data.startswith(b'\n{"error"', i)]
    return data[: starts[2]]


class Process:
    """What `conn.create_process` gives: the stream's bytes on stdout, then its end or an
    exception (the connection lost), `stderr` text, an exit status or signal."""

    def __init__(self, stdout: bytes, stderr: bytes, lost: Exception | None, ended: Ended):
        self.stdout = Lost(stdout, lost)
        self.stderr = asyncio.StreamReader()
        self.stderr.feed_data(stderr)
        self.stderr.feed_eof()
        self.stdin = self
        self.sent = b""
        self.ended = ended

    def write(self, data: bytes) -> None:
        self.sent += data

    def write_eof(self) -> None: ...

    def close(self) -> None: ...

    async def wait(self, check: bool = False) -> Ended:
        return self.ended

    async def __aenter__(self) -> Process:
        return self

    async def __aexit__(self, *exc: object) -> None: ...


class Connection:
    """The process's stdout starts with the version line `auditor --version` prints (the
    remote command is `auditor --version && exec auditor probe - -q`)."""

    def __init__(self, process_args: tuple, version: bytes | None = None) -> None:  # type: ignore[type-arg]
        from auditor import __version__

        self.process_args = process_args
        self.version = f"auditor, version {__version__}\n".encode() if version is None else version
        self.commands: list[str] = []
        self.process: Process | None = None

    def create_process(self, command: str, encoding: None = None) -> Process:
        self.commands.append(command)
        stdout, *rest = self.process_args
        self.process = Process(self.version + stdout, *rest)
        return self.process


def site_answers(
    parts: list[str], *process_args, version: bytes | None = None
) -> tuple[list[str], str, Connection]:  # type: ignore[no-untyped-def]
    """The pairs answered (in order) and the site failure's message ("" when none)."""
    from auditor.fleet.spec import ProbeHost
    from auditor.fleet.ssh import SiteFailure, _probe_stream

    host = ProbeHost(user="probe", host="192.0.2.7", auditor="/opt/auditor")
    conn = Connection(process_args, version)
    answered: list[str] = []
    bundles = {f"pair-{n}": part for n, part in enumerate(parts)}

    async def run() -> str:
        try:
            await _probe_stream(conn, host, bundles, lambda name, _a: answered.append(name))
        except SiteFailure as failure:
            return str(failure)
        return ""

    return answered, asyncio.run(run()), conn


def test_the_site_sends_one_bundle_and_takes_each_answer_as_it_comes(parts) -> None:
    answered, failure, conn = site_answers(parts, stream_for(parts), b"", None, Ended(0, None))
    assert (answered, failure) == (["pair-0", "pair-1", "pair-2"], "")
    # one process, nothing secret in it; its version checked first, in the same command
    assert conn.commands == ["/opt/auditor --version && exec /opt/auditor probe - -q"]
    assert conn.process is not None and conn.process.sent == b.site_bundle(parts)


def test_a_stream_cut_by_the_probe_host_fails_the_rest_with_its_last_words(parts) -> None:
    cut = two_frames(stream_for(parts))
    answered, failure, _ = site_answers(
        parts, cut, b"Traceback...\nMemoryError: out of memory\n", None, Ended(1, None)
    )
    assert answered == ["pair-0", "pair-1"]
    assert failure == (
        "ssh://probe@192.0.2.7:22: the probe stream ended after 2 of 3 pairs "
        "(MemoryError: out of memory)"
    )
    answered, failure, _ = site_answers(parts, cut, b"", None, Ended(None, "KILL"))
    assert failure.endswith("ended after 2 of 3 pairs (ended by signal KILL)")


def test_a_connection_lost_mid_stream_says_after_how_many_pairs(parts) -> None:
    from auditor.fleet.ssh import _asyncssh

    asyncssh = _asyncssh()

    cut = two_frames(stream_for(parts))
    lost = asyncssh.ConnectionLost("Connection reset by peer")
    answered, failure, _ = site_answers(parts, cut, b"", lost, Ended(None, None))
    assert answered == ["pair-0", "pair-1"]
    assert failure == (
        "ssh://probe@192.0.2.7:22: the connection was lost after 2 of 3 pairs "
        "(Connection reset by peer)"
    )


def test_an_incompatible_version_line_sends_nothing(parts) -> None:
    answered, failure, conn = site_answers(
        parts, stream_for(parts), b"", None, Ended(0, None), version=b"auditor, version 9.4.1\n"
    )
    assert (answered, conn.commands) == (
        [],
        ["/opt/auditor --version && exec /opt/auditor probe - -q"],
    )
    assert failure == (
        "ssh://probe@192.0.2.7:22: the probe host runs auditor 9.4.1, this is 0.1.0 "
        "(expected the same major.minor version)"
    )
    assert conn.process is not None and conn.process.sent == b""  # the bundle holds secrets


def test_a_failed_version_command_says_why_in_one_line_and_sends_nothing(parts) -> None:
    said = b"bash: line 1: /opt/auditor: No such file or directory\n"
    answered, failure, conn = site_answers(parts, b"", said, None, Ended(127, None), version=b"")
    assert answered == []
    assert failure == (
        "ssh://probe@192.0.2.7:22: `/opt/auditor --version` failed (bash: line 1: "
        "/opt/auditor: No such file or directory); install the auditor there or set the "
        "site's auditor: path"
    )
    assert conn.process is not None and conn.process.sent == b""


def test_a_bundle_without_claims_is_probed_without_the_claim_code(parts) -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom auditor.cli.app import main\ncode = main(['probe', '-', '-q'])\n"
        "print(code, 'auditor.claim.bundle' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=b.site_bundle(parts), capture_output=True, check=True
    )
    assert done.stderr.decode().splitlines()[-1] == "0 False"
    frames, error = frames_of(done.stdout, ["pair-0", "pair-1", "pair-2"])
    assert error is None and [f.pair for f in frames] == ["pair-0", "pair-1", "pair-2"]
