"""The reference target of ``ieb conformance run --target ieb``: ieb's own sender, following the
target contract of docs/conformance.md (environment variables in, exit code out).

Per invocation:

1. read what came back (``$IEB_RETOUREN/retouren.json``): retours go into its ledger
   (:func:`ieb.ledger.retour.process_retours`); a heenbericht answered with a Fo01 is sent again
   in a new Di01 (the CAK never processed it, so the same file is right);
2. ``$IEB_VERSTUUR`` set: send that file as is; otherwise plan the messages that bring the CAK to
   ``$IEB_GEWENST`` (:func:`ieb.ledger.planner.plan`) and send them in the planned order;
3. every send retries transient failures with the *same* envelope (same referentienummer), so the
   GGk recognises a redelivery.

Its state (ledger, what it sent) lives in ``$IEB_STATE``. Exit 0 when everything was handed over,
1 with a reason on stderr otherwise. :func:`main` takes an ``order`` hook so that a deliberately
wrong sender can be built on it (examples/wrong-sender).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ieb.errors import IebError, without_subject

__all__ = ["main"]

Order = Callable[[Sequence[Any]], Sequence[Any]]


class TargetError(IebError):
    """The target cannot do what the scenario asks (bad environment, refused delivery)."""


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise TargetError(f"omgevingsvariabele {name} ontbreekt")
    return value


def _send(client: Any, payload: bytes, functie: str, afzender: str, attempts: int = 20) -> str:
    from ieb.ggk import build, new_di01
    from ieb.transport.client import TransientSendError

    di01 = new_di01(payload, functie, afzender)
    data = build(di01)
    for attempt in range(1, attempts + 1):
        try:
            client.send(data)
            return str(di01.referentienummer)
        except TransientSendError:
            if attempt == attempts:
                raise
            time.sleep(min(0.05 * attempt, 0.5))
    raise TargetError("niet verzonden")  # pragma: no cover - loop returns or raises


def run(order: Order | None = None) -> None:
    from ieb.conformance.harness import functie_of
    from ieb.ledger.planner import plan, read_desired
    from ieb.ledger.retour import process_retours
    from ieb.ledger.store import Ledger
    from ieb.transport.client import GgkClient
    from ieb.transport.tls import TlsFiles

    state = Path(_env("IEB_STATE"))
    state.mkdir(parents=True, exist_ok=True)
    afzender = _env("IEB_AFZENDER")
    day = dt.date.fromisoformat(_env("IEB_DAGTEKENING"))
    tls = TlsFiles(Path(_env("IEB_CERT")), Path(_env("IEB_KEY")), Path(_env("IEB_CA")))
    sent_file = state / "verzonden.json"
    sent: dict[str, Any] = json.loads(sent_file.read_text()) if sent_file.exists() else {}
    sent.setdefault("berichten", {})
    sent.setdefault("verwerkt", [])
    sent.setdefault("opnieuw", [])
    messages = state / "berichten"
    messages.mkdir(exist_ok=True)

    def save() -> None:
        sent_file.write_text(json.dumps(sent, indent=1))

    with (
        Ledger.open(f"sqlite:///{state / 'ieb.sqlite'}") as ledger,
        GgkClient(_env("IEB_ENDPOINT"), tls=tls) as client,
    ):

        def send(payload: bytes) -> None:
            ref = _send(client, payload, functie_of(payload), afzender)
            name = f"{len(sent['berichten']) + 1:04d}.xml"
            (messages / name).write_bytes(payload)
            sent["berichten"][ref] = name
            save()

        retouren = Path(os.environ.get("IEB_RETOUREN", state / "geen-retouren"))
        index = retouren / "retouren.json"
        entries: list[dict[str, Any]] = json.loads(index.read_text()) if index.exists() else []
        for entry in entries:
            ref = entry["referentienummer"]
            if ref in sent["verwerkt"] or ref not in sent["berichten"]:
                continue
            sent["verwerkt"].append(ref)
            if entry["soort"] == "Du01" and entry.get("bestand"):
                try:
                    process_retours(
                        ledger, [(entry["bestand"], (retouren / entry["bestand"]).read_bytes())], today=day
                    )
                except IebError as exc:
                    why = without_subject(entry["bestand"], str(exc))
                    print(f"retour {entry['bestand']} niet verwerkt: {why}", file=sys.stderr)
            elif entry["soort"] == "Fo01" and ref not in sent["opnieuw"]:
                sent["opnieuw"].append(ref)
                send((messages / sent["berichten"][ref]).read_bytes())
        save()
        to_send = os.environ.get("IEB_VERSTUUR")
        if to_send:
            send(Path(to_send).read_bytes())
            return
        wanted = read_desired(_env("IEB_GEWENST"))
        result = plan(ledger, afzender, wanted, today=day, release=os.environ.get("IEB_RELEASE") or "ieb-1.0")
        planned = list(order(result.messages) if order else result.messages)
        for m in planned:
            send(m.xml)


def main(order: Order | None = None) -> int:
    """Run one step of a scenario from the environment; returns the exit code (0 done, 1 failed)."""
    try:
        run(order)
    except (IebError, OSError, ValueError, KeyError) as exc:
        from ieb.types import mask_bsns

        print(f"ieb-doel: {mask_bsns(str(exc))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process by the suite
    raise SystemExit(main())
