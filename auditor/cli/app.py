"""The root command group and the error boundary: the only place that turns errors into
messages and exit codes."""

from __future__ import annotations

import codecs
import importlib
import io
import sys
import traceback
from collections.abc import Mapping, Sequence

import click

from auditor import __version__
from auditor.errors import AuditorError, UsageError
from auditor.redact import redact, redacting
from auditor.textout import printable, quoted
from auditor.values import has_control

EXIT_CODES_HELP = """\b
Exit codes:
  0  clean / compliant
  1  findings (missing flows, failed checks, conflicts, lint errors, drift)
  2  bad input or usage
  3  incomplete: no evidence decided anything, or the run could not complete
  4  unproven: nothing wrong, but required flows no evidence decided"""


# The command table: name -> "module:function". Explicit (no registration by import side
# effect) and lazy: `auditor --version` or `auditor check` import only what they run.
COMMANDS: Mapping[str, str] = {
    "check": "auditor.cli.check_cmd:check",
    "flows": "auditor.cli.inventory_cmds:flows",
    "graph": "auditor.cli.inventory_cmds:graph",
    "trend": "auditor.cli.trend_cmd:trend",
    "schema": "auditor.cli.check_cmd:schema",
    "kinds": "auditor.cli.kinds_cmd:kinds",
    "probe": "auditor.cli.probe_cmd:probe",
    "rules": "auditor.cli.rules_cmd:rules",
    "audit": "auditor.cli.audit_cmd:audit",
    "evaluate": "auditor.cli.evaluate_cmd:evaluate",
    "history": "auditor.cli.history_cmd:history",
    "drift": "auditor.cli.history_cmd:drift",
    "schedule": "auditor.cli.history_cmd:schedule",
    "state": "auditor.cli.state_cmd:state",
    "lab": "auditor.cli.lab_cmd:lab",
    "claim": "auditor.cli.claim_cmd:claim",
    "fleet": "auditor.cli.fleet_cmd:fleet",
    "notify": "auditor.cli.history_cmd:notify",
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    help="Firewall reachability auditor and rule generator for appliance pairs in shared-IP "
    "failover.\n\n" + EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="auditor")
@click.option(
    "--debug",
    is_flag=True,
    envvar="AUDITOR_DEBUG",
    help="Show the traceback of an internal error (for a bug report).",
)
def cli(debug: bool) -> None:
    _debug[0] = debug


_debug = [False]  # set by the group's --debug; read by main() after click has returned


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising SystemExit."""
    _escape_undecodable_output()
    with redacting():  # the secrets this run reads: removed from every outside text it meets
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    _debug[0] = False
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        _refuse_control_arguments(args)
        result = cli.main(args=args, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.exceptions.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except AuditorError as exc:
        click.echo(_one_line_each(exc), err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except OSError as exc:
        # Writing an output file or folder failed (a read-only or missing place, a full disk).
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(printable(redact(f"error: {where}{exc.strerror or exc}")), err=True)
        return 3
    except Exception as exc:  # the last line of defence: one line, a traceback only on --debug
        if _debug[0]:
            traceback.print_exc()
        click.echo(
            f"error: internal error ({type(exc).__name__}: {printable(redact(str(exc)))}); the "
            "run did not "
            "complete. Please report it with the command you ran.",
            err=True,
        )
        return 3
    return int(result) if isinstance(result, int) else 0


def _one_line_each(exc: AuditorError) -> str:
    text = str(exc) or type(exc).__name__
    # split on \n only (str.splitlines also splits on \x1c, \x85, \u2028, ...), then show any
    # control character left as its escape: a message never forges a line or drives a terminal
    return "\n".join(
        printable(redact(f"error: {line}" if not line.startswith("error:") else line))
        for line in text.split("\n")
        if line
    )


def _refuse_control_arguments(argv: Sequence[str]) -> None:
    """Every argument before `--` (after it: a command for `lab exec`) reaches terminals,
    reports or generated files: a control character in one is refused, not escaped."""
    for i, arg in enumerate(argv):
        if arg == "--":
            return
        if has_control(arg):
            raise UsageError(f"argument {i + 1} {quoted(arg)}: control characters are refused")


def _escaped_bytes(exc: UnicodeError) -> tuple[str, int]:
    """The codec error handler of standard output and error: a file name's undecodable byte
    (a surrogate escape from the command line or the file system) is written as `\\xe9`,
    anything else unencodable as its backslash escape; never dropped, never raw."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    shown = []
    for char in exc.object[exc.start : exc.end]:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            shown.append(f"\\x{code - 0xDC00:02x}")
        else:
            shown.append(char.encode("ascii", "backslashreplace").decode("ascii"))
    return "".join(shown), exc.end


def _escape_undecodable_output() -> None:
    codecs.register_error("auditor-escape", _escaped_bytes)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="auditor-escape")
