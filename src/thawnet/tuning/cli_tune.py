"""``tune``: run a search, join one as a worker, or print a study's results.

    tune run model.py:build --data data.npz [--storage URL] [--study NAME] [--trials N]
             [--epochs E] [--objective val_loss]
    tune worker model.py:build --data data.npz --storage URL --study NAME [--trials N] ...
    tune summary --storage URL --study NAME [--objective val_loss] [--top 10]

``run`` keeps going until the study holds N trials (``--trials`` counts earlier runs too,
so running it again resumes); ``worker`` runs N more trials of a shared study. Both print
one line per trial. data.npz holds x, y and optionally x_val, y_val.
"""

from __future__ import annotations

import argparse
import sys

import optuna

from thawnet.tuning.storage import DEFAULT_STUDY_NAME, make_storage
from thawnet.tuning.tuner import Tuner
from thawnet.tuning.worker import load_build_fn, load_data, run_worker


def _common(p, worker):
    p.add_argument("spec", help="the build function: FILE.py:FUNCTION or MODULE:FUNCTION")
    p.add_argument("--data", required=True, help=".npz with x, y [, x_val, y_val]")
    p.add_argument("--storage", required=worker, default=None,
                   help="Optuna storage URL (default: sqlite file in --directory)")
    p.add_argument("--study", required=worker, default=DEFAULT_STUDY_NAME, help="study name")
    p.add_argument("--trials", type=int, default=10,
                   help="run: trials in the study in total; worker: trials this worker runs")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--objective", default="val_loss")
    p.add_argument("--direction", choices=("minimize", "maximize"), default=None)
    p.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe")
    p.add_argument("--pruner", choices=("median", "hyperband", "none"), default="median")
    p.add_argument("--seed", type=int, default=None,
                   help="sampler seed (give each worker its own)")
    p.add_argument("--directory", default=".", help="weights, default storage, compile cache")
    p.add_argument("--validation-split", type=float, default=0.0)
    p.add_argument("--heartbeat", type=int, default=None, metavar="SECONDS",
                   help="heartbeat interval: stale trials of killed workers are marked FAIL")
    p.add_argument("--retries", type=int, default=0,
                   help="with --heartbeat: re-queue a stale trial this many times")
    p.add_argument("--compile-cache", default=None, metavar="DIR",
                   help="JAX compile cache folder shared by workers (default "
                        "DIRECTORY/jax_cache; 'none' disables)")


def _compile_cache(args):
    if args.compile_cache is None:
        return True
    return False if args.compile_cache.lower() == "none" else args.compile_cache


def _run(args):
    build_fn = load_build_fn(args.spec)
    x, y, validation = load_data(args.data)
    tuner = Tuner(build_fn, objective=args.objective, max_trials=args.trials,
                  direction=args.direction, sampler=args.sampler,
                  pruner=None if args.pruner == "none" else args.pruner, storage=args.storage,
                  study_name=args.study, seed=args.seed, directory=args.directory,
                  heartbeat_interval=args.heartbeat, max_retry=args.retries,
                  compile_cache=_compile_cache(args))
    tuner.search(x, y, validation_data=validation, validation_split=args.validation_split,
                 epochs=args.epochs, batch_size=args.batch_size, verbose=1)
    tuner.results_summary()
    return 0


def _worker(args):
    ran = run_worker(args.spec, args.storage, args.study, args.data, args.trials,
                     objective=args.objective, epochs=args.epochs, batch_size=args.batch_size,
                     direction=args.direction, sampler=args.sampler,
                     pruner=None if args.pruner == "none" else args.pruner, seed=args.seed,
                     directory=args.directory, validation_split=args.validation_split,
                     heartbeat_interval=args.heartbeat, max_retry=args.retries,
                     compile_cache=_compile_cache(args))
    print(f"worker done: {len(ran)} trials {ran}", flush=True)
    return 0


def _summary(args):
    storage = make_storage(args.storage, ".", args.study)
    study = optuna.load_study(study_name=args.study, storage=storage)
    objective = args.objective or study.user_attrs.get("objective", "objective")
    tuner = Tuner(lambda hp: None, objective=objective, max_trials=None,
                  direction=study.direction.name.lower(), study_name=args.study)
    tuner._study = study
    tuner.results_summary(args.top)
    try:
        best = study.best_trial
        print(f"best trial {best.number} {objective}={best.value:.6g} {best.params}")
    except ValueError:
        print("no completed trial yet")
    return 0


def main(argv=None):
    """Entry point of ``thawnet tune ...``: parse ``argv`` (without "tune") and run.

    Args:
        argv: the arguments after ``tune``, e.g. ``["run", "m.py:build", "--data", "d.npz"]``.

    Returns:
        The exit status (0 on success).
    """
    parser = argparse.ArgumentParser(prog="thawnet tune", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="search until the study holds --trials trials")
    _common(p, worker=False)
    p.set_defaults(handler=_run)
    p = sub.add_parser("worker", help="run --trials trials of a shared study")
    _common(p, worker=True)
    p.set_defaults(handler=_worker)
    p = sub.add_parser("summary", help="print a study's results table and best trial")
    p.add_argument("--storage", required=True)
    p.add_argument("--study", required=True)
    p.add_argument("--objective", default=None, help="default: the one stored in the study")
    p.add_argument("--top", type=int, default=10)
    p.set_defaults(handler=_summary)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, RuntimeError, KeyError) as err:
        print(f"thawnet tune {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
