"""The namespace lab: a probe namespace with the pair's addresses, a router running netfilter,
and a provider namespace running slapd, all named `<prefix>-...`.

`up` converges on the described lab (run it twice, get one of everything; the router's rules
are reset to the base ruleset). `down` removes everything of a prefix, found by name and by pid
files, so it also cleans what a crashed run left. State lives in /run/auditor-lab/<prefix>/:
the CA, the server files, the bind password (0600, never printed) and a ready-to-use copy of
the inventory whose `ca_file` points at this lab's CA.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from netaddr import IPAddress, IPNetwork

from auditor.errors import RunError, UsageError
from auditor.lab import apps, netns, peers, pki, router, slapd
from auditor.lab.command import missing_tools
from auditor.lab.spec import Firewall, LabSpec, load_spec
from auditor.textout import quoted

DEFAULT_PREFIX = "falab"
PREFIX_ENV = "AUDITOR_LAB_PREFIX"
PASSWORD_ENV = "AUDITOR_BIND_PASSWORD"  # noqa: S105 (a variable name, not a secret)
STATE_ROOT = Path("/run/auditor-lab")
# Interface names are `<prefix>-xx`: 11 + 3 characters stays within Linux's 15.
_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,10}$")

Observer = Callable[[str], None]


def check_prefix(prefix: str) -> str:
    if not _PREFIX.fullmatch(prefix):
        raise UsageError(
            f"lab prefix {quoted(prefix)} is not valid (expected a lowercase letter, then up to 10 "
            "lowercase letters or digits)"
        )
    return prefix


def require_root() -> None:
    if os.geteuid() != 0:
        raise RunError(
            "the lab needs root (it creates network namespaces and runs slapd): run it as root, "
            "e.g. `sudo .venv/bin/auditor lab up`"
        )
    missing = missing_tools()
    if missing:
        raise RunError(f"the lab needs {', '.join(missing)}: run `make deps`")


@dataclass(frozen=True, slots=True)
class ServerStatus:
    name: str
    pid: int | None

    @property
    def running(self) -> bool:
        return self.pid is not None


@dataclass(frozen=True, slots=True)
class LabStatus:
    prefix: str
    state_dir: Path
    state_dir_exists: bool
    namespaces: tuple[tuple[str, bool], ...]
    servers: tuple[ServerStatus, ...]

    @property
    def is_up(self) -> bool:
        return (
            self.state_dir_exists
            and all(present for _, present in self.namespaces)
            and bool(self.servers)
            and all(s.running for s in self.servers)
        )

    @property
    def is_empty(self) -> bool:
        return (
            not self.state_dir_exists
            and not any(present for _, present in self.namespaces)
            and not any(s.running for s in self.servers)
        )


class Lab:
    """One lab, identified by its prefix. The spec is read only by `up`."""

    def __init__(
        self,
        spec_path: Path,
        prefix: str = DEFAULT_PREFIX,
        state_dir: Path | None = None,
        observer: Observer | None = None,
        firewall: Firewall | str | None = None,
    ) -> None:
        self.spec_path = Path(spec_path)
        self.prefix = check_prefix(prefix)
        self.state_dir = Path(state_dir) if state_dir is not None else STATE_ROOT / prefix
        self._observer = observer
        self._spec: LabSpec | None = None
        self._firewall = Firewall(firewall) if firewall is not None else None

    # -- names ----------------------------------------------------------------------------

    @property
    def probe_ns(self) -> str:
        return f"{self.prefix}-probe"

    @property
    def router_ns(self) -> str:
        return f"{self.prefix}-router"

    @property
    def provider_ns(self) -> str:
        return f"{self.prefix}-prov"

    @property
    def namespaces(self) -> tuple[str, str, str]:
        return (self.probe_ns, self.router_ns, self.provider_ns)

    @property
    def probe_iface(self) -> str:
        """The probe namespace's interface (for `nmap -e`)."""
        return f"{self.prefix}-p0"

    @property
    def router_probe_iface(self) -> str:
        return f"{self.prefix}-r0"

    @property
    def router_provider_iface(self) -> str:
        return f"{self.prefix}-r1"

    @property
    def provider_iface(self) -> str:
        return f"{self.prefix}-v0"

    # -- files ----------------------------------------------------------------------------

    def password_file(self) -> Path:
        return self.state_dir / "bind-password"

    def inventory_path(self) -> Path:
        """The inventory with `ca_file` pointing at this lab's CA (written by `up`)."""
        return self.state_dir / "inventory.yaml"

    def ca_file(self) -> Path:
        return self.state_dir / "ca.pem"

    def untrusted_ca_file(self) -> Path:
        """A CA that signed nothing in the lab: validating against it must fail (untrusted)."""
        return self.state_dir / "untrusted-ca.pem"

    def _server_files(self, name: str) -> slapd.ServerFiles:
        return slapd.ServerFiles(self.state_dir / "servers" / name)

    @property
    def spec(self) -> LabSpec:
        if self._spec is None:
            self._spec = load_spec(self.spec_path)
        return self._spec

    @property
    def firewall(self) -> Firewall:
        """The router's base ruleset framework: the constructor's choice, else the spec's."""
        return self._firewall or self.spec.firewall

    def _say(self, message: str) -> None:
        if self._observer is not None:
            self._observer(message)

    # -- up -------------------------------------------------------------------------------

    def up(self) -> None:
        require_root()
        spec = self.spec  # bad input fails here, before anything is created
        try:
            self._up(spec)
        except RunError as exc:
            raise RunError(
                f"{exc} (the lab is partly up: `auditor lab down --prefix {self.prefix}` "
                "removes it)"
            ) from exc

    def _up(self, spec: LabSpec) -> None:
        self._write_state(spec)
        names = self._network(spec)
        self._say(f"router rules ({len(spec.rules)} from {self.spec_path}, {self.firewall})")
        router.load_base(self.router_ns, spec.rules, self.firewall)
        self._servers(spec, names)
        listener = peers.start(self.probe_ns, self._peer_endpoints(), self._peer_pidfile())
        if listener is not None:
            self._say(f"peer-port listener (pid {listener}) on the appliances' unique addresses")
        self._write_inventory(spec)
        self._say(f"ready: inventory {self.inventory_path()}")

    def _write_state(self, spec: LabSpec) -> None:
        """lab.json: what `lab down` and `lab status` need to find the lab again."""
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        state = {
            "prefix": self.prefix,
            "spec": str(self.spec_path.resolve()),
            "servers": [s.name for s in spec.servers],
            "firewall": str(self.firewall),
        }
        (self.state_dir / "lab.json").write_text(json.dumps(state, indent=2) + "\n")

    def _network(self, spec: LabSpec) -> list[tuple[IPAddress, str]]:
        """Namespaces, veth pairs, addresses and routes; the (address, name) pairs of the
        namespaces' resolver files."""
        self._say(f"namespaces {', '.join(self.namespaces)}")
        names = [(ip, server.cert_name) for server in spec.servers for ip in server.addresses]
        if spec.apps is not None:
            names += [(ip, spec.apps.cert_name) for ip in spec.apps.addresses]
        for ns in self.namespaces:
            netns.ensure_namespace(ns)
            netns.write_resolver_files(ns, names)
        netns.ensure_veth(self.probe_ns, self.probe_iface, self.router_ns, self.router_probe_iface)
        netns.ensure_veth(
            self.router_ns, self.router_provider_iface, self.provider_ns, self.provider_iface
        )
        netns.ensure_addresses(self.probe_ns, self.probe_iface, spec.probe_addresses)
        netns.ensure_addresses(self.router_ns, self.router_probe_iface, spec.router_probe_side)
        netns.ensure_addresses(
            self.router_ns, self.router_provider_iface, spec.router_provider_side
        )
        netns.ensure_addresses(self.provider_ns, self.provider_iface, self._server_interfaces())
        netns.ensure_default_routes(self.probe_ns, [n.ip for n in spec.router_probe_side])
        netns.ensure_default_routes(self.provider_ns, [n.ip for n in spec.router_provider_side])
        netns.enable_forwarding(self.router_ns)
        return names

    def _servers(self, spec: LabSpec, names: list[tuple[IPAddress, str]]) -> None:
        """The test CAs, then each directory server (certificate, config, data) and the apps."""
        self._say("test CA and server certificates")
        ca = pki.make_ca(self.state_dir, "ca", f"auditor lab CA ({self.prefix})")
        pki.make_ca(self.state_dir, "untrusted-ca", f"auditor lab untrusted CA ({self.prefix})")
        password = self._ensure_password()
        for server in spec.servers:
            files = self._server_files(server.name)
            files.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            pki.make_server_cert(
                files.root, "server", server.cert_name, ca, self.state_dir / "ca.key"
            )
            slapd.write_config(files, spec.directory, ca)
            slapd.load_database(files, spec.directory, password)
            pid = slapd.start(files, server, self.provider_ns)
            self._say(f"slapd {server.name} (pid {pid}) on {slapd.urls(server)}")
        if spec.apps is not None:
            apps.start_all(self.state_dir, spec.apps, self.provider_ns, names, self._say)

    def _peer_pidfile(self) -> Path:
        return self.state_dir / "peers.pid"

    def _peer_endpoints(self) -> list[tuple[IPAddress, int]]:
        """Each unique address of the pair (in the probe namespace) with the peer port."""
        inventory = self.spec.inventory
        port = inventory.pair.failover.peer_port
        return [
            (address.ip, port)
            for appliance in inventory.pair.appliances
            for address in appliance.unique()
            if address.ip in {n.ip for n in self.spec.probe_addresses}
        ]

    def _server_interfaces(self) -> list[IPNetwork]:
        """Each server address, once, with the prefix length of its provider-side network."""
        out: list[IPNetwork] = []
        app_ips = self.spec.apps.addresses if self.spec.apps is not None else ()
        server_ips = [ip for server in self.spec.servers for ip in server.addresses]
        for ip in dict.fromkeys([*server_ips, *app_ips]):
            side = next(
                n for n in self.spec.router_provider_side if n.version == ip.version and ip in n
            )
            out.append(IPNetwork(f"{ip}/{side.prefixlen}"))
        return out

    def _ensure_password(self) -> str:
        path = self.password_file()
        if path.is_file():
            return path.read_text().strip()
        # A new password invalidates databases loaded with an old one (a crashed earlier up).
        for server in self.spec.servers:
            files = self._server_files(server.name)
            slapd.stop(files)
            shutil.rmtree(files.db, ignore_errors=True)
        password = slapd.generate_password()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            # No newline: `ldapwhoami -y FILE` would send it as part of the password.
            fh.write(password)
        return password

    def _write_inventory(self, spec: LabSpec) -> None:
        data = copy.deepcopy(spec.inventory_document)
        for provider in data.get("providers") or []:
            if isinstance(provider, dict) and "ca_file" in provider:
                provider["ca_file"] = str(self.ca_file())
            radius = provider.get("radius") if isinstance(provider, dict) else None
            if isinstance(radius, dict) and "secret_file" in radius:
                radius["secret_file"] = str(self.state_dir / apps.SECRET_FILE)
        header = (
            f"# Written by `auditor lab up` (prefix {self.prefix}) from "
            f"{spec.inventory_path.resolve()}\n# (the inventory of {self.spec_path.resolve()})"
            "\n# ca_file points at this lab's CA; the bind password is in AUDITOR_BIND_PASSWORD"
            "\n# inside `auditor lab exec`.\n"
        )
        text = header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
        self.inventory_path().write_text(text)

    # -- down -----------------------------------------------------------------------------

    def down(self) -> None:
        """Remove every namespace, veth, slapd and file of this prefix; fine if none exist."""
        require_root()
        peers.stop(self._peer_pidfile())
        apps.stop_all(self.state_dir)
        servers_dir = self.state_dir / "servers"
        if servers_dir.is_dir():
            for root in sorted(servers_dir.iterdir()):
                slapd.stop(slapd.ServerFiles(root))
        for ns in self.namespaces:
            if ns in netns.list_namespaces() or (netns.NETNS_ETC / ns).exists():
                self._say(f"removing namespace {ns}")
            netns.delete_namespace(ns)
        for link in netns.host_links_with_prefix(self.prefix):
            self._say(f"removing stray interface {link}")
            netns.delete_host_link(link)
        if self.state_dir.exists():
            self._say(f"removing {self.state_dir}")
            shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- status, exec, apply --------------------------------------------------------------

    def status(self) -> LabStatus:
        require_root()
        present = netns.list_namespaces()
        servers: list[ServerStatus] = []
        servers_dir = self.state_dir / "servers"
        if servers_dir.is_dir():
            for root in sorted(servers_dir.iterdir()):
                servers.append(ServerStatus(root.name, slapd.running_pid(slapd.ServerFiles(root))))
        servers += [ServerStatus(name, pid) for name, pid in apps.running(self.state_dir)]
        return LabStatus(
            prefix=self.prefix,
            state_dir=self.state_dir,
            state_dir_exists=self.state_dir.is_dir(),
            namespaces=tuple((ns, ns in present) for ns in self.namespaces),
            servers=tuple(servers),
        )

    def _require_up(self) -> None:
        if self.probe_ns not in netns.list_namespaces() or not self.password_file().is_file():
            raise RunError(
                f"lab {quoted(self.prefix)} is not up (run `auditor lab up --prefix {self.prefix}`)"
            )

    def exec(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        namespace: str | None = None,
        **subprocess_kwargs: Any,
    ) -> subprocess.CompletedProcess[Any]:
        """Run `argv` in the probe namespace (or another of this lab's, e.g.
        `namespace=lab.provider_ns`) with the bind password in AUDITOR_BIND_PASSWORD.
        `subprocess_kwargs` go to subprocess.run (capture_output, text, timeout, check, ...)."""
        target = namespace or self.probe_ns
        if target not in self.namespaces:
            raise UsageError(f"{quoted(target)} is not a namespace of lab {quoted(self.prefix)}")
        require_root()
        self._require_up()
        if not argv:
            raise UsageError("lab exec: no command given (expected: auditor lab exec -- CMD ...)")
        full_env = dict(os.environ)
        full_env[PASSWORD_ENV] = self.password_file().read_text().strip()
        full_env["AUDITOR_LAB_PREFIX"] = self.prefix
        full_env["AUDITOR_LAB_INVENTORY"] = str(self.inventory_path())
        full_env["AUDITOR_LAB_CA"] = str(self.ca_file())
        # `auditor lab exec -- auditor probe ...` finds the same installation's `auditor`,
        # also when its virtualenv is not activated.
        bindir = str(Path(sys.executable).parent)
        path = full_env.get("PATH", os.defpath)
        if bindir not in path.split(os.pathsep):
            full_env["PATH"] = os.pathsep.join([bindir, path])
        if env:
            full_env.update(env)
        check = bool(subprocess_kwargs.pop("check", False))
        return subprocess.run(
            ["ip", "netns", "exec", target, *argv],
            env=full_env,
            check=check,
            **subprocess_kwargs,
        )

    def apply(
        self, path: Path, fmt: router.SnippetFormat | None = None
    ) -> router.SnippetFormat | None:
        """Load a firewall snippet into the router namespace, on top of its rules."""
        require_root()
        if self.router_ns not in netns.list_namespaces():
            raise RunError(
                f"lab {quoted(self.prefix)} is not up (run `auditor lab up --prefix {self.prefix}`)"
            )
        used = router.apply_snippet(self.router_ns, Path(path), fmt)
        base = self._state().get("firewall")
        if used is router.SnippetFormat.NFTABLES and base == Firewall.IPTABLES:
            self._say(
                "note: this router's base ruleset is iptables; an nftables accept cannot open "
                "what its FORWARD policy drops (bring the lab up with --firewall nftables)"
            )
        return used

    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads((self.state_dir / "lab.json").read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
