"""The ``thawnet`` command line.

    thawnet demo                     # transfer learning on bundled digits, with the audit
    thawnet demo --lora              # and a third stage: LoRA on the base instead
    thawnet launch --nproc 2 train.py   # one data-parallel run as 2 local processes
    thawnet tune run spec.py:build_fn --data data.npz   # architecture search on Optuna
    thawnet summary seed --explain
    thawnet summary inception_v3 --explain full   # one line per layer, not grouped
    thawnet summary path/to/file.py:build_model --show-trainable
    thawnet summary package.module:function
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from thawnet import applications, demo, examples
from thawnet.distribute import launch
from thawnet.io.file_summary import summarize_file


def _load_target(target: str):
    """A model from a built-in name, ``file.py[:function]`` or ``module:function``."""
    if target in examples.MODELS:
        return examples.MODELS[target]()
    try:
        builder = applications.by_name(target)
    except (AttributeError, KeyError):
        builder = None
    if builder is not None:
        return builder()
    path, _, func = target.partition(":")
    if path.endswith(".py"):
        if not os.path.exists(path):
            raise SystemExit(f"thawnet summary: no such file {path!r}.")
        spec = importlib.util.spec_from_file_location("_thawnet_user_model", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    elif func:
        module = importlib.import_module(path)
    else:
        raise SystemExit(
            f"thawnet summary: unknown model {target!r}. Give a built-in name "
            f"({', '.join(sorted(examples.MODELS))}), a file (model.py or model.py:build), or "
            "module:function.")
    if not func:
        candidates = [n for n in ("build_model", "get_model", "model") if hasattr(module, n)]
        if not candidates:
            raise SystemExit(f"thawnet summary: {path} defines no build_model(); name the "
                             "function as FILE.py:FUNCTION.")
        func = candidates[0]
    obj = getattr(module, func, None)
    if obj is None:
        raise SystemExit(f"thawnet summary: {path} has no attribute {func!r}.")
    model = obj() if callable(obj) and not hasattr(obj, "summary") else obj
    if not hasattr(model, "summary"):
        raise SystemExit(f"thawnet summary: {target} returned {type(model).__name__}, not a "
                         "model.")
    return model


_FILE_SUFFIXES = (".thawnet", ".safetensors", ".keras", ".h5", ".hdf5")


def _summary(args):
    if os.path.exists(args.target) and (os.path.isdir(args.target)
                                        or args.target.lower().endswith(_FILE_SUFFIXES)):
        try:
            summarize_file(args.target, explain=args.explain or True,
                           show_trainable=args.show_trainable)
        except ValueError as err:
            raise SystemExit(str(err)) from err
        return 0
    model = _load_target(args.target)
    model.summary(show_trainable=args.show_trainable, explain=args.explain,
                  expand_nested=args.expand_nested, show_bytes=args.bytes)
    return 0


def _demo(args):
    epochs = (4, 2, 2) if args.fast else (args.epochs, 6, 8)
    result = demo.run(epochs_a=epochs[0], epochs_b=epochs[1], epochs_fine=epochs[2],
                      lora=args.lora, out=args.out, verbose=0 if args.quiet else 1)
    return 0 if result["base_intact"] else 1


def _launch(args):
    codes = launch(args.script, nproc=args.nproc, args=args.script_args, port=args.port,
                   local_device_count=args.local_devices)
    bad = [i for i, c in enumerate(codes) if c != 0]
    if bad:
        print(f"thawnet launch: process(es) {bad} failed with exit codes "
              f"{[codes[i] for i in bad]}", file=sys.stderr)
    return 1 if bad else 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["tune"]:
        # The tuner has its own argument parser (run / worker / summary). Imported here:
        # thawnet.tuning needs Optuna, an optional dependency (pip install thawnet[tuning]).
        from thawnet.tuning import cli_tune
        sys.exit(cli_tune.main(argv[1:]))
    parser = argparse.ArgumentParser(prog="thawnet", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("summary", help="print a model's summary without materialising weights")
    p.add_argument("target", help="built-in or zoo name, FILE.py[:FUNCTION], MODULE:FUNCTION, "
                                  "or a saved file (.thawnet, folder, .safetensors, .keras, .h5)")
    p.add_argument("--show-trainable", action="store_true", help="per-layer trainable column")
    p.add_argument("--explain", nargs="?", const=True, default=False, choices=[True, "full"],
                   help="account for every non-trainable parameter, grouped by reason and "
                        "layer class; --explain full lists every layer")
    p.add_argument("--expand-nested", action="store_true", help="list nested models' layers")
    p.add_argument("--bytes", action="store_true",
                   help="show byte sizes and each weight's dtype and size")
    p.set_defaults(run=_summary)
    d = sub.add_parser("demo", help="transfer learning on bundled digits, with the audit: "
                                    "frozen base + new head, then the top block fine-tuned")
    d.add_argument("--epochs", type=int, default=10,
                   help="epochs of the pre-training task A (default 10; stage 1 runs 6, "
                        "stage 2 and 3 run 8)")
    d.add_argument("--fast", action="store_true", help="4 + 2 + 2 epochs (a quick check)")
    d.add_argument("--lora", action="store_true",
                   help="stage 3: LoRA on the base's convolutions instead of unfreezing")
    d.add_argument("--out", default="thawnet_demo.png", help="PNG of the learning curves")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(run=_demo)
    lp = sub.add_parser("launch", help="run a script as N local processes of one training run")
    lp.add_argument("--nproc", type=int, default=2, help="number of processes (default 2)")
    lp.add_argument("--port", type=int, default=12355, help="coordinator port on 127.0.0.1")
    lp.add_argument("--local-devices", type=int, default=None,
                    help="CPU devices per process (forces XLA host devices)")
    lp.add_argument("script")
    lp.add_argument("script_args", nargs=argparse.REMAINDER)
    lp.set_defaults(run=_launch)
    args = parser.parse_args(argv)
    sys.exit(args.run(args))


if __name__ == "__main__":
    main()
