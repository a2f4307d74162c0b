"""Workers that start together race to create the storage's tables: the loser retries."""

import pytest

pytest.importorskip("optuna")

from thawnet.tuning import storage  # noqa: E402


class ProgrammingError(Exception):
    """The name sqlalchemy gives PostgreSQL's DuplicateTable error."""


def test_a_table_created_by_another_worker_is_retried(monkeypatch):
    monkeypatch.setattr(storage.time, "sleep", lambda seconds: None)
    calls = []

    def create():
        calls.append(1)
        if len(calls) == 1:
            raise ProgrammingError('(psycopg2.errors.DuplicateTable) relation "studies" '
                                   "already exists")
        return "storage"

    assert storage._retry(create) == "storage"
    assert len(calls) == 2


def test_other_errors_are_raised_at_once():
    calls = []

    def create():
        calls.append(1)
        raise ProgrammingError('syntax error at or near "TABEL"')

    with pytest.raises(ProgrammingError, match="syntax error"):
        storage._retry(create)
    assert len(calls) == 1
