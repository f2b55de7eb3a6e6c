"""Seeded, rate-configurable fault injection for the GGk + CAK simulator.

A :class:`FaultConfig` says how often each fault happens (rates 0..1) and with which seed; a
:class:`FaultInjector` draws the decisions from one :class:`random.Random` (thread-safe) and
counts what it injected. Faults on the simulator's incoming ``ggk_Di01`` calls:

``latency``     sleep ``latency_min``..``latency_max`` seconds before answering
``http503``     answer HTTP 503 *before* storing the message (the sender must retry)
``lost_ack``    store and process the message, then answer HTTP 503 (the Bv03 is "lost"; the sender
                retries and the redelivery must be acknowledged without processing it twice)
``drop``        close the connection without any answer (half before storing, half after)
``fo01``        answer a valid message with an asynchronous Fo01 (``fo01_code``) instead of a retour

and on its outgoing callbacks (``ggk_Du01``/``Fo01`` to the gemeente's receiver):

``duplicate``   deliver the same callback (same referentienummer) twice

:meth:`FaultConfig.parse` reads ``"latency=0.1,http503=0.05,drop=0.05,duplicate=0.1,seed=7"``.
"""

from __future__ import annotations

import collections
import random
import threading
from dataclasses import dataclass, fields, replace

from ieb.errors import ConfigurationError

__all__ = ["FAULT_KINDS", "FaultConfig", "FaultConfigError", "FaultInjector"]

FAULT_KINDS = ("latency", "http503", "lost_ack", "drop", "fo01", "duplicate")


class FaultConfigError(ConfigurationError, ValueError):
    """A fault setting that cannot be used (names the setting); also a ValueError for older callers."""


@dataclass(frozen=True)
class FaultConfig:
    """Rates (0..1) per fault kind, the latency range and the seed.

    Each rate is the chance per call (``latency``, ``http503``, ``lost_ack``, ``drop``, ``fo01``) or
    per callback (``duplicate``); ``latency_min``/``latency_max`` are seconds (0..60); ``fo01_code``
    is the GGk Fo01 foutcode to answer with (``ieb.ggk.codes.FoutCode``, default ``IB103`` "message
    type frozen", a code a sender treats as transient: resend later); ``max_in_row`` caps request
    faults in a row (0: no cap).
    Raises :class:`FaultConfigError` naming the setting for a rate outside 0..1, a bad latency range,
    ``http503 + lost_ack + drop >= 1`` (nothing would arrive) or an unknown Fo01 code.
    """

    seed: int = 0
    latency: float = 0.0
    http503: float = 0.0
    lost_ack: float = 0.0
    drop: float = 0.0
    fo01: float = 0.0
    duplicate: float = 0.0
    latency_min: float = 0.01
    latency_max: float = 0.2
    fo01_code: str = "IB103"
    #: at most this many request faults (http503, lost_ack, drop) in a row; the call after them goes
    #: through (0: no limit). The retry budget a sender needs: ``max_in_row + 1`` attempts per message.
    max_in_row: int = 0

    def __post_init__(self) -> None:
        from ieb.ggk.codes import FoutCode

        for kind in FAULT_KINDS:
            rate = getattr(self, kind)
            if not 0.0 <= rate <= 1.0:
                raise FaultConfigError(f"rate {kind}={rate} ligt niet tussen 0 en 1", location=kind)
        if not (0 <= self.latency_min <= self.latency_max <= 60):
            raise FaultConfigError(
                "latency_min..latency_max is geen geldig bereik (0 tot 60 seconden)", location="latency_min"
            )
        if self.http503 + self.lost_ack + self.drop >= 1.0:
            raise FaultConfigError(
                "http503 + lost_ack + drop moet kleiner zijn dan 1 (anders komt niets aan)",
                location="http503",
            )
        if self.max_in_row < 0:
            raise FaultConfigError("max_in_row moet 0 (geen grens) of meer zijn", location="max_in_row")
        if self.fo01_code not in {c.value for c in FoutCode}:
            raise FaultConfigError(
                f"fo01_code {self.fo01_code!r} is geen Fo01-code van de GGk; bekend: "
                + ", ".join(c.value for c in FoutCode),
                location="fo01_code",
            )

    @property
    def active(self) -> bool:
        """True when any fault kind has a rate above 0."""
        return any(getattr(self, kind) > 0 for kind in FAULT_KINDS)

    @classmethod
    def none(cls) -> FaultConfig:
        """No faults at all (every rate 0, seed 0): the simulator behaves like a well-run GGk and CAK."""
        return cls()

    @classmethod
    def demo(cls, seed: int = 2024) -> FaultConfig:
        """The ``ieb demo --faults`` profile: every transport fault, no Fo01 (each message still
        gets its retour, so lost must be 0)."""
        return cls(
            seed=seed,
            latency=0.10,
            http503=0.05,
            lost_ack=0.05,
            drop=0.05,
            duplicate=0.10,
            latency_min=0.01,
            latency_max=0.15,
        )

    @classmethod
    def parse(cls, spec: str) -> FaultConfig:
        """``"demo"``, ``"none"`` or ``name=value`` pairs separated by commas (``"demo,seed=3"`` starts
        from the demo profile).

        Names are the fields of this class (``-`` may stand for ``_``). Raises
        :class:`FaultConfigError` for an unknown name, a value that is not a number, or a
        combination the constructor refuses.
        """
        config = cls()
        known = {f.name: f.type for f in fields(cls)}
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            if part == "demo":
                config = cls.demo(config.seed)
                continue
            if part == "none":
                config = cls(seed=config.seed)
                continue
            name, sep, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in known:
                raise FaultConfigError(f"onbekende fout-instelling {part!r}; bekend: {', '.join(known)}")
            try:
                if name == "fo01_code":
                    config = replace(config, fo01_code=value.strip())
                elif name in ("seed", "max_in_row"):
                    config = replace(config, **{name: int(value)})  # type: ignore[arg-type]
                else:
                    number = float(value)
                    if number != number:  # NaN
                        raise ValueError(value)
                    config = replace(config, **{name: number})  # type: ignore[arg-type]
            except FaultConfigError:
                raise
            except ValueError:
                raise FaultConfigError(
                    f"fout-instelling {name}={value.strip()!r} is geen getal", location=name
                ) from None
        return config


class FaultInjector:
    """Draws fault decisions from one seeded generator and counts them (:attr:`injected`).

    The same :class:`FaultConfig` (seed included) and the same order of calls give the same faults,
    so a failing run can be repeated. Safe to share between the server's threads.
    """

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)  # noqa: S311 - seeded test faults, not security
        self._lock = threading.Lock()
        self.injected: collections.Counter[str] = collections.Counter()
        self._in_row = 0

    def _hit(self, kind: str) -> bool:
        rate = float(getattr(self.config, kind))
        if rate <= 0.0:
            return False
        with self._lock:
            hit = self._rng.random() < rate
            if hit:
                self.injected[kind] += 1
        return hit

    def latency(self) -> float:
        """Seconds to wait before answering (0 when no latency is injected this time)."""
        if not self._hit("latency"):
            return 0.0
        with self._lock:
            return self._rng.uniform(self.config.latency_min, self.config.latency_max)

    def request_fault(self) -> str | None:
        """One of ``http503``, ``lost_ack``, ``drop_before``, ``drop_after`` or None, for one call."""
        c = self.config
        if c.http503 <= 0 and c.lost_ack <= 0 and c.drop <= 0:
            return None
        with self._lock:
            x = self._rng.random()
            if c.max_in_row and self._in_row >= c.max_in_row:
                self._in_row = 0
                return None
            if x < c.http503:
                kind = "http503"
            elif x < c.http503 + c.lost_ack:
                kind = "lost_ack"
            elif x < c.http503 + c.lost_ack + c.drop:
                kind = "drop_before" if self._rng.random() < 0.5 else "drop_after"
            else:
                self._in_row = 0
                return None
            self._in_row += 1
            self.injected[kind] += 1
            return kind

    def fo01(self) -> bool:
        """True when this (valid) message is answered with an asynchronous Fo01 instead of a retour."""
        return self._hit("fo01")

    def duplicate(self) -> bool:
        """True when this outgoing callback (Du01/Fo01) is delivered twice with the same referentienummer."""
        return self._hit("duplicate")

    def summary(self) -> dict[str, int]:
        """A copy of the counts so far per injected fault (``drop_before``/``drop_after`` counted apart)."""
        with self._lock:
            return dict(self.injected)
