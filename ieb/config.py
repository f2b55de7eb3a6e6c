"""One configuration for everything a gemeente (or its vendor) runs: ``ieb.toml``.

Where it is found (first that applies): the ``--config`` option, ``$IEB_CONFIG``, ``./ieb.toml``.
Every value can be overridden by an environment variable ``IEB_<NAME>``; nested values use a
double underscore: ``IEB_DATABASE``, ``IEB_GGK__ENDPOINT``, ``IEB_RETRY__MAX_ATTEMPTS``.
``$IEB_DB`` is accepted for the database too (older name). Relative paths in the file are relative
to the file's folder. Shape (see :func:`example_toml` for the commented file ``ieb init`` writes)::

    database = "sqlite:///ieb.sqlite"          # SQLAlchemy URL or a SQLite file path
    gemeenten = ["0363", "0599"]               # the gemeenten this organisation sends for
    dvs_url = "http://localhost:8080"          # optional: a running DVS, used by ieb validate

    [organisatie]                              # the party that holds the certificate
    oin = "00000099000000363000"
    cert = "pki/0363/chain.pem"                # own certificate + intermediates (PEM)
    key = "pki/0363/key.pem"                   # private key (PEM); never printed
    ca = "pki/roots.pem"                       # trusted roots (PEM)

    [ggk]                                      # where heenberichten go
    endpoint = "https://ggk.example/ggk0210/OntvangAsynchroon"
    sign = false                               # Digikoppeling WUS 2W-be-S
    signer_oins = ["00000099800000000000"]     # with sign: who may sign answers (the GGk)
    connect_timeout = 5.0                      # seconds
    operation_timeout = 30.0                   # seconds, total per send

    [tls]                                      # revocation (docs/security.md)
    crl = ["pki/crl"]                          # CRL files or folders (PEM/DER); [] = no check

    [receiver]                                 # where retouren arrive (ieb serve)
    host = "127.0.0.1"
    port = 8443
    allowed_oins = ["00000099800000000000"]

    [retry]                                    # see ieb.transport.sender.RetryPolicy
    max_attempts = 10

    [simulator]
    level1 = "retour"                          # "retour" (IV028) or "none" (IV032)

Errors: :class:`ieb.errors.ConfigurationError` naming the file and the setting (never its value
when it is secret).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from ieb.errors import ConfigurationError

__all__ = [
    "MIN_BEWAARDAGEN",
    "BewarenSettings",
    "GgkSettings",
    "IebConfig",
    "OrganisatieSettings",
    "ReceiverSettings",
    "RetrySettings",
    "SimulatorConfig",
    "SimulatorSettings",
    "TlsSettings",
    "check_bewaardagen",
    "dutch_error",
    "example_toml",
    "find_config",
    "load_config",
]

CONFIG_NAME = "ieb.toml"
_GEMEENTE = re.compile(r"^[0-9]{4}$")
_OIN = re.compile(r"^[0-9]{20}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisatieSettings(_Section):
    """The organisation that sends (a gemeente, or a samenwerkingsverband for several)."""

    oin: str = ""
    cert: Path | None = None
    key: Path | None = Field(default=None, repr=False)
    ca: Path | None = None

    @field_validator("oin")
    @classmethod
    def _oin(cls, value: str) -> str:
        if value and not _OIN.fullmatch(value):
            raise ValueError("een OIN bestaat uit 20 cijfers")
        return value


class GgkSettings(_Section):
    """The GGk endpoint that receives our heenberichten."""

    endpoint: str = ""
    sign: bool = False
    #: with ``sign``: the OINs (20 digits) whose signature on an answer is accepted (Digikoppeling
    #: 2W-be-S, the GGk's); empty: any certificate that chains to the trusted roots (``[tls] ca``)
    signer_oins: list[str] = Field(default_factory=list)
    connect_timeout: float = Field(default=5.0, gt=0, le=120)
    operation_timeout: float = Field(default=30.0, gt=0, le=600)
    max_answer_bytes: int = Field(default=1024 * 1024, gt=0)
    check_hostname: bool = True

    @field_validator("signer_oins")
    @classmethod
    def _signer_oins(cls, value: list[str]) -> list[str]:
        for oin in value:
            if not _OIN.fullmatch(oin):
                raise ValueError(f"OIN {oin[:24]!r} moet uit 20 cijfers bestaan")
        return value

    @field_validator("endpoint")
    @classmethod
    def _https(cls, value: str) -> str:
        if value and not value.startswith("https://"):
            raise ValueError("het endpoint moet met https:// beginnen")
        return value


class ReceiverSettings(_Section):
    """The receiver of retouren (part of ``ieb serve``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8443, ge=0, le=65535)
    allowed_oins: list[str] = Field(default_factory=list)
    threads: int = Field(default=8, ge=1, le=64)

    @field_validator("allowed_oins")
    @classmethod
    def _oins(cls, value: list[str]) -> list[str]:
        for oin in value:
            if not _OIN.fullmatch(oin):
                raise ValueError(f"OIN {oin[:24]!r} moet uit 20 cijfers bestaan")
        return value

    #: listen address of /health and /metrics (plain HTTP, keep it on loopback); port 0 = off
    monitor_host: str = "127.0.0.1"
    monitor_port: int = Field(default=0, ge=0, le=65535)


class RetrySettings(_Section):
    """Retry policy of the sender (see :class:`ieb.transport.sender.RetryPolicy`)."""

    max_attempts: int = Field(default=10, ge=1, le=1000)
    attempts_per_claim: int = Field(default=3, ge=1, le=20)
    backoff_initial: float = Field(default=0.2, gt=0)
    backoff_max: float = Field(default=5.0, gt=0)
    requeue_initial: float = Field(default=1.0, gt=0)
    requeue_max: float = Field(default=300.0, gt=0)
    #: lease per claimed message; must outlast one claim's attempts with their timeouts
    lease_seconds: float | None = Field(default=None, gt=0)
    workers: int = Field(default=4, ge=1, le=32)
    #: ``ieb serve`` exits non-zero when its sender could not use the database this long (issue 21)
    give_up_seconds: float = Field(default=300.0, gt=0)


#: The shortest retention term in days, of ``[bewaren] dagen`` (``ieb opschonen``) and of
#: ``[wlz.beleid] bewaartermijn_dagen`` / ``--ouder-dan`` (``ieb wlz opschonen``): a typo such as
#: ``7`` cannot wipe the year's evidence (docs/bewaren.md).
MIN_BEWAARDAGEN = 365


def check_bewaardagen(value: int) -> int:
    """``value`` when it is a retention term of at least :data:`MIN_BEWAARDAGEN` days, else a
    :class:`ValueError` in Dutch (used as a pydantic field validator)."""
    if value < MIN_BEWAARDAGEN:
        raise ValueError(f"{value} dagen is korter dan de kortste bewaartermijn ({MIN_BEWAARDAGEN} dagen)")
    return value


class TlsSettings(_Section):
    """``[tls]``: certificate revocation for mutual TLS and WS-Security (docs/security.md).

    ``crl``: CRL files or folders (PEM or DER; relative to the config file), e.g.
    ``crl = ["pki/crl"]``; empty = no revocation checking. Every CA of the peer's chain needs its
    CRL (root, domain CA, TSP CA). ``ieb`` never downloads CRLs: refresh the files (cron); a running
    ``ieb serve`` picks up a replaced file within a minute. An unreadable, expired or badly signed
    CRL stops the command with a configuration error naming the file."""

    crl: list[Path] = Field(default_factory=list)


class BewarenSettings(_Section):
    """``[bewaren]``: how long ``ieb opschonen`` keeps message contents and logs (docs/bewaren.md).

    ``dagen``: the term in days (default 2555, seven years; the reasoning is marked inferred in the
    docs); at least :data:`MIN_BEWAARDAGEN` (365) so that a typo (``7``) cannot wipe the year's
    evidence."""

    dagen: int = Field(default=2555, le=36600)

    @field_validator("dagen")
    @classmethod
    def _floor(cls, value: int) -> int:
        return check_bewaardagen(value)


class SimulatorSettings(_Section):
    """What the simulator does (``simulator.toml`` and ``ieb demo``)."""

    level1: Literal["retour", "none"] = "retour"


class _Base(BaseSettings):
    _toml: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls._toml))
        return tuple(sources)


class IebConfig(_Base):
    """The whole configuration (see the module docstring). ``source`` is the file it came from."""

    model_config = SettingsConfigDict(
        env_prefix="IEB_", env_nested_delimiter="__", extra="forbid", populate_by_name=True
    )

    database: str = Field(
        default="sqlite:///ieb.sqlite", validation_alias=AliasChoices("database", "IEB_DATABASE", "IEB_DB")
    )
    gemeenten: list[str] = Field(default_factory=list)
    #: the iEb release this organisation sends ("ieb-1.0" for files written before releases were
    #: configurable; ``ieb init`` writes "ieb-4.0"), and the registered official XSD folder of it
    #: (``ieb release check DIR``; None = the pack's own schemas)
    release: str = Field(default="ieb-1.0", pattern=r"^[a-z][a-z0-9]*-[0-9]+\.[0-9]+$")
    release_xsd: Path | None = None
    organisatie: OrganisatieSettings = Field(default_factory=OrganisatieSettings)
    ggk: GgkSettings = Field(default_factory=GgkSettings)
    #: ``[tls]``: CRLs for revocation checking (docs/security.md)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    receiver: ReceiverSettings = Field(default_factory=ReceiverSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    #: a running Decentrale Validatieservice (``http://localhost:8080``): ``ieb validate`` sends each
    #: file there too and merges its rapport (docs/dvs.md); None = only ieb's own checks
    dvs_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    #: ``[bewaren]``: the retention term of ``ieb opschonen`` (issue 26)
    bewaren: BewarenSettings = Field(default_factory=BewarenSettings)
    #: ``[wlz]``: layouts and samenloop policy, validated by ``ieb.wlz.settings`` (docs/wlz.md)
    wlz: dict[str, Any] = Field(default_factory=dict)
    #: rehearsal clock of ``ieb serve`` (``clock = "2027-01-05"``, or ``--vandaag``): the day retours
    #: are judged by; None = the real date (issue 26 item 3)
    clock: dt.date | None = None
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("gemeenten")
    @classmethod
    def _gemeenten(cls, value: list[str]) -> list[str]:
        for code in value:
            if not _GEMEENTE.fullmatch(code):
                raise ValueError(f"gemeentecode {code!r} moet uit 4 cijfers bestaan")
        if len(set(value)) != len(value):
            raise ValueError("een gemeente staat er dubbel in")
        return value

    # -- helpers ----------------------------------------------------------------------------

    def resolve(self, path: Path | None) -> Path | None:
        """``path`` relative to the config file's folder."""
        if path is None:
            return None
        if path.is_absolute() or self.source is None:
            return path
        return self.source.parent / path

    @property
    def database_url(self) -> str:
        """The database as SQLAlchemy URL; a relative SQLite path is relative to the config file."""
        text = self.database
        if "://" not in text:
            text = "sqlite:///" + text
        if text.startswith("sqlite:///") and not text.startswith("sqlite:////") and self.source is not None:
            rel = text[len("sqlite:///") :]
            if rel and rel != ":memory:":
                text = "sqlite:///" + str(self.source.parent / rel)
        return text

    def safe_dict(self) -> dict[str, Any]:
        """The settings for printing: the key path is shown, passwords in the URL are hidden."""
        data = self.model_dump(mode="json")
        data["database"] = _hide_password(self.database)
        return data


class SimulatorConfig(_Base):
    """``simulator.toml``: the GGk + CAK simulator (``ieb simulate serve --config``)."""

    model_config = SettingsConfigDict(env_prefix="IEB_SIM_", env_nested_delimiter="__", extra="forbid")

    database: str = "sqlite:///cak.sqlite"
    host: str = "127.0.0.1"
    port: int = Field(default=9443, ge=0, le=65535)
    cert: Path | None = None
    key: Path | None = Field(default=None, repr=False)
    ca: Path | None = None
    #: CRL files or folders (PEM or DER), as ``[tls] crl`` of ieb.toml; empty = no revocation check
    crl: list[Path] = Field(default_factory=list)
    callback: str = ""
    allowed_oins: list[str] = Field(default_factory=list)
    sign: bool = False
    faults: str | None = None
    level1: Literal["retour", "none"] = "retour"
    #: the iEb release the simulated CAK speaks (None: every registered release), and its registered
    #: official XSD folder (see IebConfig)
    release: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9]*-[0-9]+\.[0-9]+$")
    release_xsd: Path | None = None
    #: rehearsal clock (``clock = "2027-01-05"``, or ``ieb simulate serve --vandaag``): the day the
    #: simulated CAK judges dates by (DagtekeningRetour, 8848); None = the real date
    clock: dt.date | None = None
    source: Path | None = Field(default=None, exclude=True)

    def resolve(self, path: Path | None) -> Path | None:
        """``path`` relative to the config file's folder."""
        if path is None or path.is_absolute() or self.source is None:
            return path
        return self.source.parent / path

    @property
    def database_url(self) -> str:
        """The database as SQLAlchemy URL; a relative SQLite path is relative to the config file."""
        text = self.database if "://" in self.database else "sqlite:///" + self.database
        if text.startswith("sqlite:///") and not text.startswith("sqlite:////") and self.source is not None:
            text = "sqlite:///" + str(self.source.parent / text[len("sqlite:///") :])
        return text


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def find_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file: ``path``, ``$IEB_CONFIG`` or ``./ieb.toml`` (None when none exists and
    none was named). Raises :class:`ConfigurationError` when a named file does not exist."""
    named = os.fspath(path) if path is not None else os.environ.get("IEB_CONFIG")
    if named:
        p = Path(named)
        source = "--config" if path is not None else "IEB_CONFIG"
        if p.is_dir():
            raise ConfigurationError(
                f"configuratiebestand {p} ({source}) is een map, geen bestand; oplossing: noem het "
                f"bestand zelf, bijv. {p / CONFIG_NAME}",
                code="CONFIG",
                location=str(p),
            )
        if p.exists() and not p.is_file():
            raise ConfigurationError(
                f"configuratiebestand {p} ({source}) is geen gewoon bestand; oplossing: noem een ieb.toml",
                code="CONFIG",
                location=str(p),
            )
        if not p.is_file():
            raise ConfigurationError(
                f"configuratiebestand {p} ({source}) bestaat niet", code="CONFIG", location=str(p)
            )
        return p.resolve()
    default = Path(CONFIG_NAME)
    return default.resolve() if default.is_file() else None


def _toml_error_text(text: str) -> str:
    """tomllib's "Expected ... (at line L, column C)" as " op regel L, kolom C (tomllib: Expected
    ...)": the place in Dutch first, the parser's English text after it."""
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
    if found:
        return f" op regel {found[1]}, kolom {found[2]} (tomllib: {text[: found.start()]})"
    if text.endswith("(at end of document)"):
        return (
            f" aan het eind van het bestand (tomllib: {text.removesuffix('(at end of document)').rstrip()})"
        )
    return f" (tomllib: {text})"


def _load(cls: type[_Base], path: Path | None, overrides: dict[str, Any]) -> Any:
    if path is not None:
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                f"{path} is niet te lezen: {exc}", code="CONFIG", location=str(path)
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(
                f"{path}: geen geldige TOML{_toml_error_text(str(exc))}", code="CONFIG", location=str(path)
            ) from exc
    bound = type(cls.__name__, (cls,), {"_toml": path, "__module__": cls.__module__})
    try:
        config = bound(**overrides)
    except SettingsError as exc:
        raise ConfigurationError(
            "omgevingsvariabele IEB_* is niet te lezen (een lijst of sectie schrijft u als JSON, bijv. "
            f"IEB_GEMEENTEN='[\"0363\"]'; technische melding: {exc})",
            code="CONFIG",
        ) from None
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", "IEB_"))
        environ = {k.upper() for k in os.environ}
        problems = []
        from_file = False
        for e in exc.errors(include_input=False, include_url=False):
            setting = ".".join(str(x) for x in e["loc"])
            variable = prefix + "__".join(str(x) for x in e["loc"]).upper()
            if variable in environ and not any(str(x) in overrides for x in e["loc"][:1]):
                problems.append(f"omgevingsvariabele {variable} ({setting}): {dutch_error(cls, e)}")
            else:
                from_file = True
                problems.append(f"{setting}: {dutch_error(cls, e)}")
        where = str(path) if path and from_file else "omgeving (IEB_*)"
        raise ConfigurationError(
            f"configuratie {where} klopt niet: " + "; ".join(problems), code="CONFIG", location=where
        ) from None
    config.source = path
    return config


#: example values of the settings whose pattern alone would not tell a clerk what to write
_EXAMPLES = {"release": "ieb-4.0", "dvs_url": "http://localhost:8080"}


def dutch_error(
    cls: type[BaseModel] | None,
    error: ErrorDetails,
    *,
    section: tuple[str, ...] = (),
    show_value: bool = False,
) -> str:
    """The Dutch text of one of pydantic's validation errors, for a clerk: what is wrong and what
    to write instead. ``error["type"]`` is pydantic's documented error type (its English ``msg`` is
    only the last resort); the text names what the setting or field takes: the keys of the section
    for an unknown key (``extra_forbidden``), the range of a number (from the field's
    ``ge``/``gt``/``le``/``lt``, else from the error), the choices of a Literal or an Enum; a field
    ending in ``_cent`` is an amount in eurocent. The one translator of the project: ieb.toml and
    ``IEB_*`` (:func:`load_config`, :mod:`ieb.wlz.settings`) and the JSON input of the policy
    (:func:`ieb.policy._validation.from_validation_error`).

    ``cls`` is the model that was validated (None when not known: then no key list and no field
    bounds); ``section`` where ``cls`` sits in the file (``("wlz",)`` for ``[wlz]``);
    ``show_value`` leads with the value given (``waarde -5: ...``, BSN-like digit runs masked, at
    most 60 characters): for input where the field alone does not show the mistake."""
    kind, loc, ctx = error["type"], error["loc"], error.get("ctx") or {}
    holder, field = _section_and_field(cls, loc) if cls is not None else (None, None)
    whole = isinstance(error.get("input"), int) and not isinstance(error.get("input"), bool)
    text = _dutch_text(kind, loc, ctx, str(error["msg"]), holder, field, section, whole)
    if show_value and kind not in ("missing", "extra_forbidden") and "input" in error:
        from ieb.types import mask_bsns

        shown = mask_bsns(repr(error["input"]))  # any value may be a BSN in the wrong place
        text = f"waarde {shown if len(shown) <= 60 else shown[:57] + '...'}: {text}"
    return text


def _dutch_text(
    kind: str,
    loc: tuple[int | str, ...],
    ctx: dict[str, Any],
    msg: str,
    holder: type[BaseModel] | None,
    field: Any,
    section: tuple[str, ...],
    whole: bool = False,
) -> str:
    """:func:`dutch_error` without the value (``whole``: the value given was an integer)."""
    if kind == "extra_forbidden":
        if holder is None:
            return "onbekende sleutel; verwijder hem of controleer de spelling"
        import difflib  # only on this error path: loading ieb.toml stays as fast as before (issue 22)

        keys = [k for k in holder.model_fields if k != "source"]
        name = str(loc[-1])
        close = difflib.get_close_matches(name, keys, n=1)
        path = [*section, *(str(x) for x in loc[:-1])]
        where = f" in [{'.'.join(path)}]" if path else ""
        hint = f", bedoelt u {close[0]!r}?" if close else ""
        return f"onbekende sleutel{hint} (toegestaan{where}: {', '.join(keys)})"
    if kind == "missing":
        return "ontbreekt"
    if kind in ("value_error", "assertion_error"):  # our own validators: Dutch already
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("literal_error", "enum"):
        return "kies " + str(ctx.get("expected", "")).replace(" or ", " of ")
    if kind.startswith(("int_", "float_", "greater_", "less_")) or kind in ("finite_number", "multiple_of"):
        cent = bool(loc) and str(loc[-1]).endswith("_cent")
        number = _number_text(field, integer=kind.startswith("int_") or cent or whole, bounds=ctx)
        return f"geef {number}" + (" (een bedrag in eurocent, zonder punt of komma)" if cent else "")
    if kind.startswith("bool_"):
        return "geef true of false"
    if kind.startswith("date"):
        return "geef een datum JJJJ-MM-DD"
    if kind == "string_pattern_mismatch":
        example = _EXAMPLES.get(str(loc[-1])) if loc else None
        return f"heeft niet de juiste vorm (bijv. {example or ctx.get('pattern', '')})"
    if kind in ("string_type", "path_type"):
        return "geef tekst tussen aanhalingstekens"
    if kind in ("list_type", "tuple_type", "set_type"):
        return 'geef een lijst, bijv. ["..."]'
    if kind in ("too_short", "too_long"):
        if kind == "too_short":
            return f"geef er minstens {ctx.get('min_length', '?')} (nu {ctx.get('actual_length', '?')})"
        return f"geef er hoogstens {ctx.get('max_length', '?')} (nu {ctx.get('actual_length', '?')})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if holder is not None or section:  # a settings file: a table
            return f"hoort een sectie [{'.'.join([*section, *(str(x) for x in loc)])}] te zijn"
        return 'geef een object, bijv. {"...": ...}'
    return f"ongeldige waarde (technische melding: {msg})"


def _section_and_field(
    cls: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[type[BaseModel] | None, Any]:
    """The model of the section that holds the setting at ``loc`` and the setting's FieldInfo (None
    when ``loc`` leaves the known sections: a list item, a ``[wlz]`` table)."""
    model: type[BaseModel] | None = cls
    for key in loc[:-1]:
        found = model.model_fields.get(str(key)) if model is not None else None
        annotation = found.annotation if found is not None else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    field = model.model_fields.get(str(loc[-1])) if model is not None and loc else None
    return model, field


def _number_text(field: Any, *, integer: bool, bounds: dict[str, Any] | None = None) -> str:
    """``een geheel getal van 1 tot en met 1000``, ``een getal groter dan 0``: the kind of number
    of ``field`` (its annotation; ``integer`` when unknown) and its bounds (the field's; without a
    field the ``ge``/``gt``/``le``/``lt`` of ``bounds``, the error's context)."""
    annotation = getattr(field, "annotation", None)
    kinds = {annotation, *get_args(annotation)}
    is_int = int in kinds if field is not None else integer
    what = "een geheel getal" if is_int and float not in kinds else "een getal (met een punt: 2.5)"
    if field is not None:
        bounds = {
            k: getattr(m, k)
            for m in getattr(field, "metadata", ())
            for k in ("ge", "gt", "le", "lt")
            if hasattr(m, k)
        }
    else:
        bounds = {k: v for k, v in (bounds or {}).items() if k in ("ge", "gt", "le", "lt")}
    if "ge" in bounds and "le" in bounds:
        return f"{what} van {bounds['ge']} tot en met {bounds['le']}"
    words = {"ge": "minstens", "gt": "groter dan", "le": "hoogstens", "lt": "kleiner dan"}
    parts = [f"{words[k]} {v}" for k, v in bounds.items()]
    if parts and parts[0].startswith(("minstens", "hoogstens")):
        parts[0] = "van " + parts[0]
    return " ".join([what, " en ".join(parts)]) if parts else what


def load_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> IebConfig:
    """Load ``ieb.toml`` (see :func:`find_config`) with ``IEB_*`` overrides; without a file only the
    defaults and the environment count. ``overrides`` win over both (used by command options)."""
    found = find_config(path)
    result: IebConfig = _load(IebConfig, found, overrides)
    return result


def load_simulator_config(path: str | os.PathLike[str]) -> SimulatorConfig:
    """Load a ``simulator.toml`` (``IEB_SIM_*`` overrides)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigurationError(f"configuratiebestand {p} bestaat niet", code="CONFIG", location=str(p))
    result: SimulatorConfig = _load(SimulatorConfig, p.resolve(), {})
    return result


def example_toml(
    *,
    gemeenten: list[str],
    oin: str = "",
    cert: str = "",
    key: str = "",
    ca: str = "",
    endpoint: str = "",
    receiver_port: int = 8443,
    allowed_oins: list[str] | None = None,
    database: str = "ieb.sqlite",
    monitor_port: int = 0,
    release: str = "ieb-4.0",
) -> str:
    """The commented ``ieb.toml`` that ``ieb init`` writes (``release``: the iEb release a new
    configuration sends, ``ieb-4.0`` unless told otherwise)."""

    def q(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def arr(values: list[str]) -> str:
        return "[" + ", ".join(q(v) for v in values) + "]"

    return f"""# ieb.toml: de configuratie van de iEb-uitwisseling (ieb plan/queue/send/serve/status/report).
# Elke waarde is te overschrijven met een omgevingsvariabele: IEB_DATABASE, IEB_GGK__ENDPOINT,
# IEB_RETRY__MAX_ATTEMPTS, ... Relatieve paden zijn relatief aan de map van dit bestand.

# Database: een SQLite-bestand of een SQLAlchemy-URL (postgresql+psycopg://gebruiker@host/db).
database = {q(database)}

# De iEb-release waarin berichten worden gemaakt en verwacht: "ieb-4.0" (in productie sinds
# 7 april 2025) of "ieb-1.0". Officiële XSD's registreren: ieb release check MAP.
release = {q(release)}

# De gemeenten waarvoor deze organisatie aanlevert (Afzender van elk bericht). Bij meer dan een
# gemeente heeft de gewenste situatie een kolom 'gemeente'.
gemeenten = {arr(gemeenten)}

# Optioneel: een draaiende DVS (Decentrale Validatieservice); 'ieb validate' laat elk bestand dan
# ook daar controleren en voegt de bevindingen samen (docs/dvs.md).
# dvs_url = "http://localhost:8080"

[organisatie]
# De organisatie die verstuurt: OIN en PKIoverheid-certificaat (met tussen-CA's), sleutel en de
# vertrouwde roots. De sleutel wordt nooit getoond.
oin = {q(oin)}
cert = {q(cert)}
key = {q(key)}
ca = {q(ca)}

[ggk]
# Het StUF-GGk-endpoint (OntvangAsynchroon) waar heenberichten heen gaan.
endpoint = {q(endpoint)}
# Digikoppeling WUS 2W-be-S: verzoeken ondertekenen en ondertekende antwoorden eisen.
sign = false
# Met sign: de OIN's die een antwoord mogen ondertekenen (de GGk); leeg: elk certificaat onder de
# vertrouwde roots (ca).
signer_oins = {arr(allowed_oins or [])}
# Seconden: verbinding opbouwen, en de totale tijd van een verzending (incl. antwoord).
connect_timeout = 5.0
operation_timeout = 30.0
# Grootste antwoord dat wordt gelezen (bytes).
max_answer_bytes = 1048576

[tls]
# Intrekkingslijsten (CRL's) van alle PKIoverheid-CA's in de keten (root, domein-CA, TSP-CA):
# bestanden of mappen, PEM of DER. Leeg = geen controle. ieb haalt ze niet zelf op: ververs ze
# minstens elke 4 uur, bijvoorbeeld met cron (zie docs/security.md).
crl = []

[receiver]
# Waar 'ieb serve' retouren (ggk_Du01) en Fo01 ontvangt, over mutual TLS.
host = "127.0.0.1"
port = {receiver_port}
# OIN's die mogen afleveren (de GGk).
allowed_oins = {arr(allowed_oins or [])}
# /health en /metrics (Prometheus) over gewoon HTTP; 0 = uit. Houd dit op 127.0.0.1.
monitor_host = "127.0.0.1"
monitor_port = {monitor_port}

[retry]
# Pogingen in totaal voor een bericht 'dead' wordt, pogingen per lease, wachttijden in seconden.
max_attempts = 10
attempts_per_claim = 3
backoff_initial = 0.2
backoff_max = 5.0
requeue_initial = 1.0
requeue_max = 300.0
# Verzendthreads.
workers = 4

[bewaren]
# ieb opschonen: berichtinhoud en auditlog ouder dan dit aantal dagen gaan weg; het grootboek blijft
# (zie docs/bewaren.md; zeven jaar is een afgeleide standaard, minstens 365).
dagen = 2555

[simulator]
# Wat de CAK-simulator doet bij een niveau-1-fout: "retour" (IV028) of "none" (IV032).
level1 = "retour"
"""
