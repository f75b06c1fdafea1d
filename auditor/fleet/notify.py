"""One message per fleet run through Apprise (mail, Slack, Teams workflows, generic JSON
webhooks, ...), when a pair got worse or drift that matters appeared (`--notify-on`), naming
the pairs, the flows and the reports. A run that could not judge a pair (exit 3) is sent as a
failure, findings and drift as a warning, so the two never look alike. A notification that
fails is a warning, never a lost run; the URL is only ever shown as written (`${VAR}`
placeholders, never the secrets filled in)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.fleet.spec import NotifyOn, NotifyTarget
from auditor.model.record import Status
from auditor.model.verdict import Outcome, Verdict, got_worse

MAX_FLOWS_LISTED = 10
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")  # ${VAR}: a secret read from the environment


# libpq's environment: the history store's password, password and service files, TLS key;
# none of them is ever sent to a notification URL's host.
LIBPQ_SECRETS = frozenset(
    {"PGPASSWORD", "PGPASSFILE", "PGSERVICEFILE", "PGSERVICE", "PGSSLKEY", "PGSSLPASSWORD",
     "PGUSER", "PGHOST", "PGHOSTADDR", "PGDATABASE", "PGSSLCERT", "PGSSLROOTCERT",
     "PGKRBSRVNAME", "PGOPTIONS"}
)  # fmt: skip


def foreign_secret(
    written: str, secrets: dict[str, str] | None = None, *, pg: bool = True
) -> str | None:
    """Why a notify URL's `${VAR}` must not be filled, or None: a VAR that holds another
    part's secret (libpq's `PG*`, or in `secrets` an inventory's bind password, shared secret
    or credential) would be sent to the URL's host. The value is never read here."""
    for match in PLACEHOLDER.finditer(written):
        name = match.group(1)
        if pg and name in LIBPQ_SECRETS:
            return (
                f"${{{name}}} is libpq's (the history store's login), not a notification's: "
                "it would be sent to the URL's host (expected a variable of its own, such as "
                "${SMTP_PASSWORD})"
            )
        if secrets and name in secrets:
            return (
                f"${{{name}}} holds {secrets[name]}: it would be sent to the URL's host "
                "(expected a variable of its own, such as ${SMTP_PASSWORD})"
            )
    return None


_SECRET_QUERY = re.compile(r"(?i)([?&][^=&#]*(?:pass|secret|token|key)[^=&#]*=)([^&#]*)")
_USERINFO = re.compile(r"^([^:/?#]+://[^:/?#@]*:)([^/?#]*)(@)")


def shown_url(written: str) -> str:
    """A notify URL as messages show it: a password or a secret-looking query value that is
    written in the URL itself (not as a `${VAR}`) is masked; `${VAR}` placeholders stay."""

    def mask(match: re.Match[str]) -> str:
        value = match.group(2)
        if not value or PLACEHOLDER.fullmatch(value):
            return match.group(0)
        return f"{match.group(1)}***{match.group(3) if match.lastindex == 3 else ''}"

    return _SECRET_QUERY.sub(mask, _USERINFO.sub(mask, written, count=1))


@dataclass(frozen=True, slots=True)
class PairNews:
    """What one pair's run says to the people on call."""

    site: str
    pair: str
    before: Verdict | None
    after: Verdict
    drift: tuple[str, ...]  # the drift items that matter, one line each
    flows: tuple[str, ...]  # the flows blocked or failing, one line each
    report: str
    why: tuple[str, ...] = ()  # why flows could not be judged (an incomplete run), distinct
    damaged: bool = False  # its history could not be read, so `before` is unknown, not new

    @property
    def worse(self) -> bool:
        """Its verdict got worse, or a pair seen for the first time is not compliant."""
        if self.before is None:
            return self.after is not Verdict.COMPLIANT
        return got_worse(self.before, self.after)


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    failure: bool  # a pair could not be judged (exit 3): sent as a failure, not a warning


def pair_news(outcome: object) -> PairNews:
    """The news of a fleet run's PairOutcome."""
    from auditor.fleet.run import PairOutcome  # noqa: PLC0415

    assert isinstance(outcome, PairOutcome)
    run = outcome.result.run
    flows = tuple(
        f"{r.flow.source} -> {r.flow.destination}:{r.flow.port}/{r.flow.protocol.value} "
        f"({r.flow.provider}): {r.outcome.value}, {r.summary}"
        for r in run.flow_results()
        if r.outcome in (Outcome.BLOCKED, Outcome.FAILING)
    )
    drift = outcome.result.drift
    items = tuple(
        f"{i.kind.value}: {i.subject} ({i.before} -> {i.after})"
        for i in (drift.items if drift is not None else ())
        if i.matters
    )
    return PairNews(
        site=outcome.site,
        pair=outcome.pair,
        before=outcome.previous,
        after=run.verdict,
        drift=items,
        flows=flows,
        report=str(outcome.folder / "report.html"),
        why=tuple(
            dict.fromkeys(
                f"{c.status}: {c.reason}"
                for r in run.flow_results()
                for c in r.checks
                if c.outcome in (Outcome.ERROR, Outcome.UNVERIFIED)
                and c.status != Status.SKIPPED
                and c.reason
            )
        ),
        damaged=outcome.damaged,
    )


def alerts(when: NotifyOn, verdict: Verdict, *, drift: bool, new: bool) -> bool:
    """Whether a pair's run is news for `--notify-on`: the one rule of `fleet run` and of a
    scheduled pair job (`auditor schedule`). `findings`: every run that is not compliant (so
    findings are told every night they persist, not only the night they appear), or that has
    drift that matters; `drift`: drift that matters only (and a pair's first run, when it is
    not compliant: nothing was known of it before); `always`: every run. A pair that could not
    be judged (incomplete) is told whatever `when` says: a night that could not run is never
    silent."""
    if when is NotifyOn.ALWAYS or verdict is Verdict.INCOMPLETE:
        return True
    if when is NotifyOn.DRIFT:
        return drift or (new and verdict is not Verdict.COMPLIANT)
    return drift or verdict is not Verdict.COMPLIANT


def compose(news: Sequence[PairNews], when: NotifyOn, fleet_report: str) -> Message | None:
    """The run's one message, or None when `when` says this run has nothing to say."""
    chosen = [n for n in news if alerts(when, n.after, drift=bool(n.drift), new=n.before is None)]
    if not chosen:
        return None
    failure = any(n.after is Verdict.INCOMPLETE for n in chosen)
    worse = sum(1 for n in chosen if n.worse)
    drifted = sum(1 for n in chosen if n.drift)
    still = sum(1 for n in chosen if not n.worse and n.after is not Verdict.COMPLIANT)
    if failure:
        head = "auditor fleet: could not judge every pair"
    elif worse or drifted or still:
        head = (
            f"auditor fleet: {worse} pair(s) got worse, {drifted} with drift that matters, "
            f"{still} still not compliant"
        )
    else:
        head = "auditor fleet: nothing got worse"
    lines: list[str] = []
    for n in chosen:
        before = n.before.value if n.before is not None else "unknown" if n.damaged else "new"
        lines.append(f"{n.site}/{n.pair}: {before} -> {n.after.value}")
        if n.after is Verdict.INCOMPLETE:
            lines.extend(f"  why: {w}" for w in n.why[:MAX_FLOWS_LISTED] if w)
        lines.extend(f"  drift: {d}" for d in n.drift)
        lines.extend(f"  flow: {f}" for f in n.flows[:MAX_FLOWS_LISTED])
        if len(n.flows) > MAX_FLOWS_LISTED:
            lines.append(f"  ... and {len(n.flows) - MAX_FLOWS_LISTED} more flows")
        lines.append(f"  report: {n.report}")
    lines.append(f"fleet report: {fleet_report}")
    return Message(title=head, body="\n".join(lines), failure=failure)


def unjudged_message(news: Sequence[PairNews], missing: Sequence[str], when: NotifyOn) -> Message:
    """The message of a run that ended before judging every pair (a judging worker killed):
    what `compose` says of the pairs judged (recorded in the store), and the pairs that were
    not; always sent, as a failure: the night could not judge every pair."""
    told = compose(news, when, "not written (the run ended before every pair was judged)")
    body = told.body if told is not None else "fleet report: not written"
    lines = [f"not judged (a worker judging the pairs ended abruptly): {len(missing)} pair(s)"]
    lines += [f"  {name}" for name in missing]
    return Message(
        title="auditor fleet: could not judge every pair",
        body="\n".join([*lines, *(body.splitlines())]),
        failure=True,
    )


# How a scheduled job ended, by exit code (the one verdict's codes): each its own message
# (what happened, sent as a failure, the title's word).
JOB_ENDINGS = {
    0: ("compliant, no drift that matters (--notify-on always)", False, "compliant"),
    1: ("findings or drift that matters", False, "findings"),
    2: ("bad input: the job's inputs were refused, nothing ran", True, "could not run"),
    3: (
        "the run could not complete (a site unreachable, nothing could be probed)",
        True,
        "could not run",
    ),
    4: (
        "nothing wrong found, but required flows were decided by no evidence (not proven)",
        False,
        "unproven",
    ),
}


def job_message(unit: str, code: int | None, result: str | None = None) -> Message:
    """The alert of a scheduled run that did not end clean: a night that could not run is a
    failure, a night with findings or drift a warning; never the same words."""
    what, failure, head = JOB_ENDINGS.get(
        code if code is not None else -1, ("", True, "could not run")
    )
    if not what:
        ended = f"exit status {code}" if code is not None else f"result {result or 'unknown'}"
        what = f"it ended abnormally ({ended}): see its log"
    return Message(
        title=f"auditor: {unit}: {head}",
        body=f"{unit}: {what} (exit code {code if code is not None else '-'}).",
        failure=failure,
    )


def _apprise():  # type: ignore[no-untyped-def]
    """Apprise, its log silenced: it logs the URLs it works with (secrets filled in); its
    messages never reach the terminal here."""
    import apprise  # noqa: PLC0415

    quiet = logging.getLogger("apprise")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    return apprise


def sendable(url: str) -> bool:
    """Apprise knows how to send to `url` (its scheme and its parts): checked when the URLs
    are read, so a URL that could never be sent to stops the run before it starts, not in a
    warning after it."""
    return bool(_apprise().Apprise().add(url))


def send(message: Message, targets: Sequence[NotifyTarget]) -> list[str]:
    """Send to every target; a warning line per target that failed (the URL as written)."""
    apprise = _apprise()
    kind = apprise.NotifyType.FAILURE if message.failure else apprise.NotifyType.WARNING
    warnings = []
    for target in targets:
        shown = shown_url(target.written)
        sender = apprise.Apprise()
        if not sender.add(target.url):
            warnings.append(f"notification to {shown}: not a URL Apprise can send to")
            continue
        try:
            sent = sender.notify(
                title=message.title,
                body=message.body,
                notify_type=kind,
                body_format=apprise.NotifyFormat.TEXT,
            )
        except Exception as exc:  # a plugin's failure is a warning, nothing more
            warnings.append(f"notification to {shown} failed ({type(exc).__name__})")
            continue
        if not sent:
            warnings.append(f"notification to {shown} failed (not delivered)")
    return warnings
