"""Probing at a site over SSH (asyncssh): one connection per site and one remote command,
`auditor --version && exec auditor probe - -q`: the version line it prints first is read and
checked before anything is written to its standard input; then the site's bundle for all its
pairs goes there (flows, CA files, secrets: never on a command line or in an environment), and
each pair's results document is read back from its probe stream as it arrives. One command,
not two: each remote command starts the login shell of the probe host's user (its rc files
too), which can cost more CPU than the version check itself.

Host keys are verified against the site's known_hosts file (never accepted on first sight, and
never skipped because an ssh_config says so: the file is always given explicitly).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from auditor import __version__
from auditor.fleet.spec import ProbeHost
from auditor.probe.bundle import StreamError, bundle_format, compatible, read_stream, site_bundle
from auditor.textout import printable

VERSION_TIMEOUT_S = 60.0
CLEANUP_TIMEOUT_S = 60.0
STDERR_KEPT = 64 * 1024
END_WAIT_S = 10.0
# A connection that dies silently (a probe host gone, its network cut) sends nothing: SSH
# keepalives every KEEPALIVE_S, and KEEPALIVE_COUNT unanswered ones in a row make it lost.
KEEPALIVE_S = 15.0
KEEPALIVE_COUNT = 3


class SiteFailure(Exception):
    """The site could not be probed; the message is one line that says why (no secret)."""


class VersionRefused(SiteFailure):
    """The probe host's `auditor --version` failed or is not compatible: nothing was sent."""


@dataclass(frozen=True, slots=True)
class RemoteAnswer:
    """What `auditor probe -` answered for one pair."""

    document: str  # the results document (JSON text), "" when there is none
    exit_status: int | None
    error: str  # its standard error, first line ("" when none)


def default_known_hosts() -> Path:
    return Path.home() / ".ssh" / "known_hosts"


def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return printable(lines[-1] if lines else "")[:300]


def _asyncssh():  # type: ignore[no-untyped-def]
    """asyncssh, imported where it is used; its DSA support warns on import with newer
    cryptography releases (DSA keys are never used here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import asyncssh  # noqa: PLC0415

    return asyncssh


async def _connect(  # type: ignore[no-untyped-def]
    host: ProbeHost, connect_timeout: float, keepalive: float
):
    asyncssh = _asyncssh()

    options: dict[str, object] = {
        "port": host.port,
        "username": host.user,
        "known_hosts": str(host.known_hosts or default_known_hosts()),
        "connect_timeout": connect_timeout,
        "config": [],  # no ssh_config may turn host key checking off
        "keepalive_interval": keepalive,
        "keepalive_count_max": KEEPALIVE_COUNT,
    }
    if host.ssh_key is not None:
        options["client_keys"] = [str(host.ssh_key)]
        options["agent_path"] = None
    return await asyncssh.connect(host.host, **options)


async def probe_site(
    host: ProbeHost,
    bundles: Mapping[str, str],
    *,
    timeout: float,
    connect_timeout: float = 30.0,
    keepalive: float = KEEPALIVE_S,
    on_answer: Callable[[str, RemoteAnswer], None] | None = None,
    claims: bool = False,
) -> dict[str, RemoteAnswer]:
    """Run each pair's bundle (by pair name) at the probe host; raises SiteFailure when the
    site cannot be reached, its host key is not the known one, its auditor is not
    compatible, the connection is lost (`keepalive`: seconds between SSH keepalives, lost
    after KEEPALIVE_COUNT unanswered) or the site takes longer than `timeout`.
    `on_answer(pair, answer)` is called as each answer arrives (the fleet judges a pair while
    the site probes the next one). `claims`: a pair claims addresses there; when the stream
    ends early, `auditor claim cleanup` runs there (a killed probe's claims)."""
    asyncssh = _asyncssh()
    answered: list[str] = []

    def answer(pair: str, what: RemoteAnswer) -> None:
        answered.append(pair)
        if on_answer is not None:
            on_answer(pair, what)

    try:
        async with asyncio.timeout(timeout):
            conn = await _connect(host, connect_timeout, keepalive)
            async with conn:
                try:
                    return await _probe_stream(conn, host, bundles, answer, claims)
                except VersionRefused:
                    raise
                except SiteFailure:
                    if claims:
                        await _cleanup_claims(conn, host)
                    raise
    except SiteFailure:
        raise
    except TimeoutError:
        raise SiteFailure(
            f"{host}: no answer within {timeout:g} s "
            f"(after {len(answered)} of {len(bundles)} pairs)"
        ) from None
    except asyncssh.HostKeyNotVerifiable as exc:
        raise SiteFailure(
            f"{host}: host key not verified against "
            f"{host.known_hosts or default_known_hosts()} ({one_line(str(exc))})"
        ) from None
    except asyncssh.PermissionDenied:
        raise SiteFailure(f"{host}: permission denied (check ssh_key or the SSH agent)") from None
    except (asyncssh.Error, OSError) as exc:
        reason = getattr(exc, "reason", "") or getattr(exc, "strerror", "") or str(exc)
        raise SiteFailure(f"{host}: cannot connect: {one_line(str(reason))}") from None


async def _cleanup_claims(conn, host: ProbeHost) -> None:  # type: ignore[no-untyped-def]
    """`auditor claim cleanup` at the probe host: removes what a probe process that did not
    end by itself claimed (SIGKILL leaves its namespaces); a live run's are left alone. Best
    effort: the connection may be gone (then the probe process saw it and released, or its
    next claim run removes them)."""
    command = shlex.join([host.auditor, "claim", "cleanup"])
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.run(command, check=False), CLEANUP_TIMEOUT_S)


async def _probe_stream(  # type: ignore[no-untyped-def]
    conn, host: ProbeHost, bundles: Mapping[str, str], on_answer, claims: bool = False
) -> dict[str, RemoteAnswer]:
    """One `auditor probe -` for every pair: the site's bundle in, a pair's answer out as
    soon as its frame arrives. A stream cut short raises SiteFailure (the pairs answered
    before it keep their answers: `on_answer` has had them)."""
    answers: dict[str, RemoteAnswer] = {}
    if not bundles:
        await _check_version(conn, host)
        return answers
    version = shlex.join([host.auditor, "--version"])
    command = f"{version} && exec {shlex.join([host.auditor, 'probe', '-', '-q'])}"
    async with conn.create_process(command, encoding=None) as process:
        errors = asyncio.create_task(tail(process.stderr))
        await _check_version_line(process, host, errors)  # nothing is sent before it passed
        process.stdin.write(site_bundle(list(bundles.values()), claims=claims))
        process.stdin.write_eof()
        try:
            async for frame in read_stream(process.stdout, list(bundles)):
                answer = RemoteAnswer(frame.document, frame.exit_status, frame.error)
                answers[frame.pair] = answer
                if on_answer is not None:
                    on_answer(frame.pair, answer)
        except asyncio.CancelledError:  # --site-timeout: give the site up now
            errors.cancel()
            _give_up(conn, process)
            raise
        except StreamError as exc:
            why = await _why_ended(process, errors)
            if not answers and "not a probe bundle" in why:  # an auditor that reads another format
                raise SiteFailure(
                    f"{host}: its auditor does not read this fleet's probe bundles "
                    f"({bundle_format(claims)}): {why}; install the same auditor version there "
                    f"({__version__})"
                ) from None
            raise SiteFailure(f"{host}: {exc} ({why})") from None
        except (_asyncssh().Error, OSError) as exc:  # the connection lost while reading
            errors.cancel()
            reason = getattr(exc, "reason", "") or getattr(exc, "strerror", "") or str(exc)
            raise SiteFailure(
                f"{host}: the connection was lost after {len(answers)} of {len(bundles)} "
                f"pairs ({one_line(str(reason))})"
            ) from None
        errors.cancel()
    return answers


def _give_up(conn, process) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM to the remote process group (the SSH "signal" request: OpenSSH >= 7.9 honours
    it for a non-root login; for root it logs "session signalling requires privilege
    separation"), then close the connection at once: a graceful channel close would wait for
    a remote process that is not ending, past --site-timeout."""
    with contextlib.suppress(Exception):
        process.send_signal("TERM")
    conn.close()


async def _why_ended(process, errors: asyncio.Task[bytes]) -> str:  # type: ignore[no-untyped-def]
    """The remote process's last line of standard error, or its exit status (waited for a
    little: a process that is still running is closed with the channel)."""
    process.stdin.close()
    try:
        async with asyncio.timeout(END_WAIT_S):
            done = await process.wait(check=False)
            stderr = await errors
    except TimeoutError:
        errors.cancel()
        return "the probe process did not end"
    why = one_line(stderr.decode("utf-8", "replace"))
    if done.exit_signal:
        return why or f"ended by signal {done.exit_signal[0]}"
    return why or f"exit status {done.exit_status}"


async def tail(stream) -> bytes:  # type: ignore[no-untyped-def]
    """What a stream gives until its end, its last STDERR_KEPT bytes kept (read all along, so
    the remote process never waits on a full standard error)."""
    kept = b""
    while chunk := await stream.read(STDERR_KEPT):
        kept = (kept + chunk)[-STDERR_KEPT:]
    return kept


async def _check_version(conn, host: ProbeHost) -> None:  # type: ignore[no-untyped-def]
    """`auditor --version` alone (a site with no pair to probe there)."""
    command = shlex.join([host.auditor, "--version"])
    done = await asyncio.wait_for(conn.run(command, check=False), VERSION_TIMEOUT_S)
    out = done.stdout if isinstance(done.stdout, str) else ""
    err = done.stderr if isinstance(done.stderr, str) else ""
    _judge_version(host, out, err, ok=done.exit_status == 0)


async def _check_version_line(  # type: ignore[no-untyped-def]
    process, host: ProbeHost, errors: asyncio.Task[bytes]
) -> None:
    """The first line of `auditor --version && exec auditor probe -`: the version. When it is
    not there (the version command failed: `&&` started nothing after it), the command's
    standard error says why."""
    line = await asyncio.wait_for(process.stdout.readline(), VERSION_TIMEOUT_S)
    out = line.decode("utf-8", "replace")
    if line.endswith(b"\n") and out.split():
        try:
            _judge_version(host, out, "", ok=True)
        except VersionRefused:
            errors.cancel()
            raise
        return
    process.stdin.close()
    try:
        async with asyncio.timeout(END_WAIT_S):
            await process.wait(check=False)
            err = (await errors).decode("utf-8", "replace")
    except TimeoutError:
        errors.cancel()
        err = ""
    _judge_version(host, out, err, ok=False)


def _judge_version(host: ProbeHost, out: str, err: str, *, ok: bool) -> None:
    words = out.split()
    if not ok or not words:
        raise VersionRefused(
            f"{host}: `{host.auditor} --version` failed ({one_line(err) or 'no output'}); "
            "install the auditor there or set the site's auditor: path"
        )
    remote = words[-1]
    if not compatible(__version__, remote):
        raise VersionRefused(
            f"{host}: the probe host runs auditor {printable(remote)[:40]}, this is "
            f"{__version__} (expected the same major.minor version)"
        )
