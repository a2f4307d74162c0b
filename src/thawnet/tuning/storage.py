"""Studies on Optuna storages: the default SQLite file, heartbeats, resuming, the compile cache.

Stale trials: a worker killed mid-trial leaves its trial RUNNING forever unless the storage
records heartbeats. With ``heartbeat_interval`` set (RDB storages: SQLite, PostgreSQL,
MySQL), each running trial writes a heartbeat every ``heartbeat_interval`` seconds; a trial
whose last heartbeat is older than ``grace_period`` (default twice the interval) is marked
FAIL by the next worker that asks for a trial, and with ``max_retry`` > 0 it is re-queued
(Optuna's ``RetryHeartbeatStaleTrialCallback``, formerly ``RetryFailedTrialCallback``: the
retry has the same params; :func:`retried_trial_number` names the original). Without
heartbeats, stale RUNNING trials stay RUNNING: they count towards ``max_trials`` and are
ignored by samplers and by the best-trial choice; the other workers carry on. A RUNNING
trial can also be closed by hand: ``study.tell(number, state=TrialState.FAIL)``.

Several workers on one study may together run up to (workers - 1) trials more than
``max_trials``: each checks the count before asking for its next trial.

SQLite is for a few processes on one machine (local disk: WAL mode needs shared memory);
use PostgreSQL or MySQL across machines.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import time
import warnings
from typing import Any, Iterator

import optuna

from thawnet.backend.types import PathLike

DEFAULT_STUDY_NAME = "thawnet_tuning"


def default_storage_url(directory: PathLike, study_name: str | None) -> str:
    """``sqlite:///<directory>/<study_name>.db`` (an absolute path; the folder is created)."""
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    return f"sqlite:///{os.path.join(directory, study_name)}.db"


def make_storage(storage: Any, directory: PathLike, study_name: str | None,
                 heartbeat_interval: Any = None, grace_period: Any = None, max_retry: int = 0
        ) -> Any:
    """An Optuna storage from a URL, an existing storage object, or None (the default file).

    Args:
        storage: None, an Optuna storage URL (``sqlite:///...``, ``postgresql://...``,
            ``mysql://...``) or an ``optuna.storages.BaseStorage``.
        directory: the folder of the default SQLite file.
        study_name: names the default file.
        heartbeat_interval: seconds between heartbeats of running trials (RDB URLs only);
            None disables stale-trial detection.
        grace_period: seconds without heartbeat before a trial counts as stale.
        max_retry: how many times a stale trial is re-queued (0: just marked FAIL).

    Returns:
        An ``optuna.storages.BaseStorage``.
    """
    if storage is not None and not isinstance(storage, str):
        if heartbeat_interval is not None:
            raise ValueError("heartbeat_interval applies to storage URLs; configure heartbeats "
                             "on the storage object you passed instead.")
        return storage
    url = storage or default_storage_url(directory, study_name)
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"storage must be an Optuna storage URL such as 'sqlite:///tuning.db' "
                         f"or 'postgresql://user@host/db'; received {storage!r}.")
    engine_kwargs = _sqlite_engine_kwargs(url) if url.startswith("sqlite") else {}
    kwargs = {}
    if heartbeat_interval is not None:
        kwargs["heartbeat_interval"] = int(heartbeat_interval)
        if grace_period is not None:
            kwargs["grace_period"] = int(grace_period)
        if max_retry:
            kwargs.update(_retry_callback_kwargs(int(max_retry)))
    with warnings.catch_warnings():
        # Heartbeats are "experimental" in Optuna; the behaviour we rely on is tested here.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _retry(lambda: optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                                         **kwargs))


def _retry_callback_kwargs(max_retry):
    """The re-queue callback under the keyword this Optuna version expects (renamed in 4.9)."""
    params = inspect.signature(optuna.storages.RDBStorage.__init__).parameters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if "heartbeat_stale_trial_callback" in params:
            callback_cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback",
                                   optuna.storages.RetryFailedTrialCallback)
            return {"heartbeat_stale_trial_callback": callback_cls(max_retry=max_retry)}
        return {"failed_trial_callback":
                optuna.storages.RetryFailedTrialCallback(max_retry=max_retry)}


def retried_trial_number(trial):
    """The number of the stale trial that ``trial`` retries (None if it is no retry)."""
    callback_cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback",
                           optuna.storages.RetryFailedTrialCallback)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return callback_cls.retried_trial_number(trial)


def _sqlite_engine_kwargs(url):
    """Connections in WAL mode with ``synchronous=NORMAL`` (a commit costs no fsync, readers
    do not block the writer) that wait up to 120 s for a lock held by another worker."""
    import sqlite3

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        return {"connect_args": {"timeout": 120}}

    def connect():
        connection = sqlite3.connect(database, timeout=120, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    return {"creator": connect}


def _retry(fn, attempts=8):
    """Call ``fn``, retrying transient database errors (concurrent schema creation)."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - sqlalchemy/optuna errors vary by backend
            name = type(err).__name__
            # PostgreSQL reports a table another worker created a moment before as a
            # ProgrammingError (DuplicateTable: 'relation "studies" already exists').
            transient = ("OperationalError" in name or "IntegrityError" in name
                         or "DuplicatedStudyError" in name or "locked" in str(err)
                         or "already exists" in str(err))
            if not transient or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def open_study(storage, study_name, direction, sampler, pruner, objective):
    """Create the study or load it (resuming), checking it was made for the same objective.

    Args:
        storage: an Optuna storage.
        study_name: the study's name.
        direction: "minimize" or "maximize".
        sampler, pruner: Optuna sampler and pruner objects.
        objective: the metric name, stored in the study's user attrs.

    Returns:
        An ``optuna.Study``.

    Raises:
        ValueError: the stored study optimises another objective or direction.
    """
    study = _retry(lambda: optuna.create_study(storage=storage, study_name=study_name,
                                               direction=direction, sampler=sampler,
                                               pruner=pruner, load_if_exists=True))
    stored = study.user_attrs.get("objective")
    if stored is None:
        _retry(lambda: study.set_user_attr("objective", objective))
    elif stored != objective:
        raise ValueError(f"study {study_name!r} was created for objective {stored!r}; this "
                         f"search asks for {objective!r}. Use another study_name, or "
                         f"objective={stored!r} to resume it.")
    if study.direction.name.lower() != direction:
        raise ValueError(f"study {study_name!r} is stored with direction "
                         f"{study.direction.name.lower()!r}; this search asks for {direction!r}. "
                         "Use another study_name or the stored direction.")
    return study


@contextlib.contextmanager
def compile_cache(path: PathLike) -> Iterator[Any]:
    """Use JAX's persistent compilation cache in ``path`` for the duration of the block.

    Trials that rebuild an architecture seen before (names are reset per trial, and the
    learning rate lives in the optimizer state) then load its compiled steps from disk
    instead of compiling again, also across worker processes that share the folder.
    Nothing happens when ``path`` is falsy or the user configured a cache directory already.
    """
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cc

    if not path or jax.config.jax_compilation_cache_dir:
        yield
        return
    old_min_time = jax.config.jax_persistent_cache_min_compile_time_secs
    os.makedirs(path, exist_ok=True)
    cc.reset_cache()
    jax.config.update("jax_compilation_cache_dir", os.path.abspath(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    try:
        yield
    finally:
        jax.config.update("jax_compilation_cache_dir", None)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", old_min_time)
        cc.reset_cache()
