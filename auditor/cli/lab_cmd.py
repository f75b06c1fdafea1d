"""Commands: `auditor lab up|down|status|exec|apply` (the namespace lab; needs root)."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.options import SafePath
from auditor.errors import UsageError
from auditor.lab import DEFAULT_PREFIX, PREFIX_ENV, Firewall, Lab, SnippetFormat
from auditor.lab.customer import load_customer_ruleset
from auditor.ruleset import read_rulesets

DEFAULT_SPEC = Path("examples/lab.yaml")

_prefix_option = click.option(
    "--prefix",
    envvar=PREFIX_ENV,
    default=DEFAULT_PREFIX,
    show_default=True,
    help=f"Name prefix of the lab's namespaces and interfaces (env {PREFIX_ENV}).",
)


def _progress(message: str) -> None:
    click.echo(f"lab: {message}", err=True)


def _lab(prefix: str, spec: Path = DEFAULT_SPEC, quiet: bool = False) -> Lab:
    return Lab(spec, prefix=prefix, observer=None if quiet else _progress)


@click.group(help="The namespace lab: the pair behind a real firewall, in front of a real slapd.")
def lab() -> None:
    pass


@lab.command(
    help="Build the lab described by LAB_FILE (default examples/lab.yaml); idempotent. A lab "
    "file names the pair's inventory (`inventory: FILE`, relative to the lab file) and holds "
    "the lab's router, servers, rules, directory and apps; the inventory stays an ordinary one."
)
@click.argument("spec", metavar="[LAB_FILE]", type=SafePath(path_type=Path), default=DEFAULT_SPEC)
@_prefix_option
@click.option(
    "--firewall",
    type=click.Choice([f.value for f in Firewall]),
    default=None,
    help="Framework of the router's base ruleset (default: the lab file's, else iptables).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.option(
    "--ruleset",
    "rulesets",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Replace the router's rules with a real ruleset (iptables-save, ip6tables-save or "
    "nft -j list ruleset output) to rehearse a change on a copy of production. Repeatable.",
)
@click.option(
    "--ipset",
    "ipsets",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="`ipset save` output the --ruleset files refer to. Repeatable.",
)
def up(
    *,
    spec: Path,
    prefix: str,
    firewall: str | None,
    quiet: bool,
    rulesets: tuple[Path, ...],
    ipsets: tuple[Path, ...],
) -> int:
    if ipsets and not rulesets:
        raise UsageError("--ipset needs --ruleset")
    if rulesets:
        read_rulesets(rulesets, ipsets)  # bad input stops before the lab is built
    the_lab = Lab(spec, prefix=prefix, observer=None if quiet else _progress, firewall=firewall)
    the_lab.up()
    for line in load_customer_ruleset(the_lab.router_ns, rulesets, ipsets) if rulesets else []:
        click.echo(f"router of lab {prefix}: loaded {line}")
    click.echo(f"lab {prefix} is up; inventory: {the_lab.inventory_path()}")
    click.echo(f"run a command inside it: auditor lab exec --prefix {prefix} -- CMD ...")
    return 0


@lab.command(help="Remove every namespace, interface, slapd and file of the lab.")
@_prefix_option
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def down(prefix: str, quiet: bool) -> int:
    _lab(prefix, quiet=quiet).down()
    click.echo(f"lab {prefix} is down")
    return 0


@lab.command(help="Say what exists of the lab. Exit 0 when it is fully up, 1 otherwise.")
@_prefix_option
def status(prefix: str) -> int:
    st = _lab(prefix, quiet=True).status()
    for ns, present in st.namespaces:
        click.echo(f"namespace {ns}: {'present' if present else 'absent'}")
    for server in st.servers:
        state = f"running (pid {server.pid})" if server.running else "not running"
        kind = "server" if server.name.startswith("app-") else "slapd"
        click.echo(f"{kind} {server.name}: {state}")
    click.echo(f"state {st.state_dir}: {'present' if st.state_dir_exists else 'absent'}")
    verdict = "up" if st.is_up else ("down" if st.is_empty else "partly up (run up or down)")
    click.echo(f"lab {prefix}: {verdict}")
    return 0 if st.is_up else 1


@lab.command(
    "exec",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    help="Run CMD inside the probe namespace with AUDITOR_BIND_PASSWORD set "
    "(e.g. auditor lab exec -- auditor probe examples/lab-inventory.yaml). The lab's own copy "
    "of its inventory, pointing at its CA, is in AUDITOR_LAB_INVENTORY. Exits with CMD's code.",
)
@_prefix_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(prefix: str, command: tuple[str, ...]) -> int:
    return _lab(prefix, quiet=True).exec(list(command)).returncode


@lab.command(
    help="Load firewall snippets into the lab router on top of its rules, in the order given: "
    "iptables-restore or ip6tables-restore fragments (--noflush) or nftables scripts (nft -f). "
    "A jump rule the router already has is left out, so applying twice leaves one copy."
)
@click.argument("files", nargs=-1, required=True, type=SafePath(path_type=Path, dir_okay=False))
@_prefix_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in SnippetFormat]),
    default=None,
    help="The snippet's format (default: detected from its content and name).",
)
def apply(files: tuple[Path, ...], prefix: str, fmt: str | None) -> int:
    lab_ = _lab(prefix)
    for file in files:
        used = lab_.apply(file, SnippetFormat(fmt) if fmt else None)
        if used is None:
            click.echo(f"nothing to load in {file} (comments only)")
        else:
            click.echo(f"loaded {file} ({used}) into the router of lab {prefix}")
    return 0
