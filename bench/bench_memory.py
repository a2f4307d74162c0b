"""Peak resident memory (RSS) of the MLP benchmark: thawnet vs Keras 3 (JAX), each in its own
process (the peer script from ../shared/peers for Keras).

    python bench/bench_memory.py
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE.parents[1] / "shared" / "peers"
WRAP = ("import resource, runpy, sys; sys.argv = {argv!r}; "
        "runpy.run_path({path!r}, run_name='__main__'); "
        "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def peak(path, argv):
    out = subprocess.run([sys.executable, "-c", WRAP.format(argv=[str(path)] + argv,
                                                            path=str(path))],
                         capture_output=True, text=True, env=dict(os.environ))
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("maxrss_kb")]
    return int(line[-1].split()[1]) / 1024 if line else None


def main():
    ours = peak(HERE / "bench_train.py", ["mlp", "--thawnet-only", "1"])
    theirs = peak(PEERS / "mlp_bench.py", ["keras"]) if (PEERS / "mlp_bench.py").exists() else None
    print(f"  thawnet peak RSS {ours:8.0f} MiB")
    if theirs:
        print(f"  keras   peak RSS {theirs:8.0f} MiB   (thawnet {ours / theirs:.2f}x of Keras)")


if __name__ == "__main__":
    main()
