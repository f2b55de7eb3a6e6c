from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ieb.config import GgkSettings, IebConfig, OrganisatieSettings, ReceiverSettings, RetrySettings
from ieb.exchange import Exchange
from ieb.testing.pki import TestPki, create_test_pki
from tests.migrated import migrated_sqlite_file


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "0599", "GGK"])


def make_config(
    pki: TestPki, db: Path, *, endpoint: str = "", gemeenten: tuple[str, ...] = ("0363",)
) -> IebConfig:
    org, ggk = pki.party(gemeenten[0]), pki.party("GGK")
    return IebConfig(
        database=f"sqlite:///{db}",
        gemeenten=list(gemeenten),
        organisatie=OrganisatieSettings(oin=org.oin, cert=org.chain, key=org.key, ca=pki.roots),
        ggk=GgkSettings(endpoint=endpoint, connect_timeout=2.0, operation_timeout=5.0),
        receiver=ReceiverSettings(port=0, allowed_oins=[ggk.oin]),
        retry=RetrySettings(
            max_attempts=5,
            attempts_per_claim=2,
            backoff_initial=0.01,
            backoff_max=0.05,
            requeue_initial=0.05,
            requeue_max=0.2,
            workers=2,
        ),
    )


@pytest.fixture
def exchange(pki: TestPki, tmp_path: Path) -> Iterator[Exchange]:
    db = migrated_sqlite_file(tmp_path / "ieb.sqlite")  # at the newest schema (tests/migrated.py)
    ex = Exchange(make_config(pki, db, gemeenten=("0363", "0599")))
    yield ex
    ex.close()
