"""Claim mode for a site without a probe host: the site's claiming pairs are probed by an
`auditor probe -` child of the fleet run, fed the same bundle a probe host gets (on its
standard input: no secret on a command line) and read back from the same probe stream.

A child process, not a thread: the claim's release on SIGTERM, SIGHUP and Ctrl-C needs a main
thread of its own, and a child whose reader is gone (this fleet run killed) sees it and
releases at once. What a SIGKILLed child leaves is removed here, right after it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Mapping

from auditor.claim.session import cleanup_stale
from auditor.fleet.ssh import RemoteAnswer, SiteFailure, one_line, tail
from auditor.probe.bundle import StreamError, read_stream, site_bundle

HERE = "this host"
END_WAIT_S = 30.0  # a child told to stop releases its claim first (namespaces deleted)


def probe_command() -> list[str]:
    """This auditor's probe, run by the same Python."""
    return [sys.executable, "-m", "auditor", "probe", "-", "-q"]


async def probe_here(
    bundles: Mapping[str, str],
    *,
    timeout: float,
    on_answer: Callable[[str, RemoteAnswer], None] | None = None,
) -> dict[str, RemoteAnswer]:
    """Probe each pair's bundle (by pair name, each with its claim) in one child process
    here; raises SiteFailure when its stream ends early or `timeout` passes (the pairs
    answered before keep their answers: `on_answer` has had them)."""
    answers: dict[str, RemoteAnswer] = {}
    child = await asyncio.create_subprocess_exec(
        *probe_command(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    errors = asyncio.create_task(tail(child.stderr))
    try:
        async with asyncio.timeout(timeout):
            child.stdin.write(site_bundle(list(bundles.values()), claims=True))
            await child.stdin.drain()
            child.stdin.close()
            async for frame in read_stream(child.stdout, list(bundles)):
                answers[frame.pair] = RemoteAnswer(frame.document, frame.exit_status, frame.error)
                if on_answer is not None:
                    on_answer(frame.pair, answers[frame.pair])
    except TimeoutError:
        await _stop(child, errors)
        raise SiteFailure(f"{HERE}: no answer within {timeout:g} s") from None
    except (StreamError, OSError) as exc:
        why = await _stop(child, errors, terminate=False)  # its own last words first
        raise SiteFailure(f"{HERE}: {exc} ({why})") from None
    except BaseException:  # cancelled (Ctrl-C): the child releases before this run ends
        await asyncio.shield(_stop(child, errors))
        raise
    await _stop(child, errors, terminate=False)  # it ends by itself after its end line
    return answers


async def _stop(
    child: asyncio.subprocess.Process, errors: asyncio.Task[bytes], *, terminate: bool = True
) -> str:
    """End the child and wait for it: `terminate`, SIGTERM now (on which it releases its
    claim); else it is ending by itself (its stream has ended), SIGTERM only if it has not
    within END_WAIT_S; SIGKILL after another END_WAIT_S. Then remove what it could not release
    (it was SIGKILLed). Why it ended: its last line of standard error, or its exit."""
    if terminate:
        _send(child, signal.SIGTERM)
    code = await _wait(child)
    if code is None and not terminate:
        _send(child, signal.SIGTERM)
        code = await _wait(child)
    if code is None:
        _send(child, signal.SIGKILL)
        code = await child.wait()
    try:
        async with asyncio.timeout(END_WAIT_S):
            stderr = await errors
    except TimeoutError:
        stderr = b""
    if code != 0:
        await asyncio.to_thread(cleanup_stale)  # a dead child's namespaces (never a live run's)
    why = one_line(stderr.decode("utf-8", "replace"))
    if code < 0:
        return why or f"ended by signal {signal.Signals(-code).name}"
    return why or f"exit status {code}"


def _send(child: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(sig)


async def _wait(child: asyncio.subprocess.Process) -> int | None:
    """Its exit code, or None when it has not ended within END_WAIT_S."""
    try:
        async with asyncio.timeout(END_WAIT_S):
            return await child.wait()
    except TimeoutError:
        return None
