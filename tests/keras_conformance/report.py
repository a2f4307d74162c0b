"""Turn a junit XML of a conformance run into README tables and a grouped failure list.

Usage (from the repository root)::

    THAWNET_CONFORMANCE=full python -m pytest tests/keras_conformance \\
        --junitxml=/tmp/conformance.xml
    python -m tests.keras_conformance.report /tmp/conformance.xml --tables   # README tables
    python -m tests.keras_conformance.report /tmp/conformance.xml --failures # grouped causes
    python -m tests.keras_conformance.report /tmp/conformance.xml --write   # update the files

``--write`` replaces the generated part of README.md (between its ``tables`` markers) and
of FAILURES.md (between its ``groups`` markers) in this folder; the text around them is
written by hand. The trainer/callback/saving cases (``keras/src/{trainers,callbacks,saving}``)
are left out of those and have their own: ``--suite`` rewrites the ``suite-tables`` region of
README.md and the ``suite-groups`` region of FAILURES.md (``--suite-tables`` /
``--suite-failures`` print them).

Failures are grouped by a *signature*: the first line of the failure with numbers and
numbered layer names blanked (``dense_12`` -> ``dense_N``), so one root cause is one group.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass

from .families import family_of, is_target
from .keras_source import SUITE_FOLDERS
from .skip_rules import categorize_reason

_CASE_ID = re.compile(r"\[(?P<id>[^\]]+::[^\]]+)\]$")


@dataclass(frozen=True)
class Outcome:
    """One case's result from the XML."""

    case_id: str
    file: str
    status: str  # "pass", "fail" or "skip"
    message: str
    details: str = ""  # the failure's traceback text


def read_outcomes(xml_path: str) -> list[Outcome]:
    """Outcomes of every conformance case in a pytest ``--junitxml`` file."""
    outcomes = []
    for testcase in ET.parse(xml_path).getroot().iter("testcase"):
        match = _CASE_ID.search(testcase.get("name", ""))
        if not match:
            continue
        case_id = match.group("id")
        status, message, details = "pass", "", ""
        for child in testcase:
            if child.tag in ("failure", "error"):
                status, message = "fail", child.get("message") or (child.text or "")
                details = child.text or ""
            elif child.tag == "skipped":
                status, message = "skip", child.get("message") or ""
        outcomes.append(Outcome(case_id, case_id.split("::", 1)[0], status, message, details))
    return outcomes


_OBJECT_OF = re.compile(r"'\w+' object|(?<=')/tmp/\w+(?=/)")
def _generic(match: re.Match) -> str:
    return "<tmp>" if match.group(0).startswith("/") else "'<object>' object"


_FIRST_STAGE = re.compile(r"run_layer_test stage \[([^\]]+)\] failed first")

def _blank(text: str) -> str:
    text = re.sub(r"^[\w.]+\.(\w+(Error|Exception|Failure|Missing)\b)", r"\1", text)
    text = re.sub(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)*)_\d+\b", r"\1_N", text)
    text = re.sub(r"0x[0-9a-f]+", "0x…", text)
    text = re.sub(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?\b", "N", text)
    return text[:220]


def signature(message: str) -> str:
    """The grouping key of a failure message (see the module docstring); a
    ``run_layer_test`` failure is prefixed with the stage that failed first."""
    text = message.strip().splitlines()[0] if message.strip() else "(no message)"
    stage = _FIRST_STAGE.search(message)
    return (f"[{stage.group(1)}] " if stage else "") + _blank(text)


def stage_failures(message: str) -> list[str]:
    """``"[stage] signature"`` for every failed stage of a ``run_layer_test`` failure."""
    first = _FIRST_STAGE.search(message)
    if not first:
        return []
    found = [f"[{first.group(1)}] {_blank(message.strip().splitlines()[0])}"]
    for match in re.finditer(r"^also \[([^\]]+)\] (.*)$", message, re.M):
        found.append(f"[{match.group(1)}] {_blank(match.group(2))}")
    return found


def _skip_reason(message: str) -> str:
    # pytest writes "('file', line, 'Skipped: reason')" for skips raised in a test.
    match = re.search(r"Skipped: (.*?)'?\)?$", message)
    return match.group(1) if match else message


def is_suite(rel_path: str) -> bool:
    """Whether a case file is a trainer/callback/saving test (not a layer test)."""
    return rel_path.split("/", 1)[0] in SUITE_FOLDERS


def tables(outcomes: list[Outcome]) -> str:
    """Markdown: per-family pass rates, per-file counts, and skip categories (layer tests)."""
    per_file: dict[str, Counter] = defaultdict(Counter)
    for o in outcomes:
        if is_suite(o.file):
            continue
        per_file[o.file][o.status] += 1
        if o.status == "skip" and "masking flag unchecked" in o.message:
            per_file[o.file]["flag"] += 1
    lines = ["### Pass rate per family (target files: thawnet's layers and issue #17's)", "",
             "*skip (flag)*: of the skips, cases where every check passed except the "
             "`supports_masking` flag, which thawnet layers do not have.", "",
             "| family | pass | fail | skip | skip (flag) | attempted | pass rate |",
             "|---|---|---|---|---|---|---|"]
    for target in (True, False):
        fams: dict[str, Counter] = defaultdict(Counter)
        for f, c in per_file.items():
            if is_target(f) == target:
                fams[family_of(f)].update(c)
        if not target and fams:
            lines += ["", "### Files of layers thawnet does not have (full run only)", "",
                      "| family | pass | fail | skip | skip (flag) | attempted | pass rate |",
                      "|---|---|---|---|---|---|---|"]
        total = Counter()
        for fam in sorted(fams):
            lines.append(_row(fam, fams[fam]))
            total.update(fams[fam])
        if fams:
            lines.append(_row("**all**", total))
    lines += ["", "### Per file", "",
              "| file | target | pass | fail | skip | skip (flag) | pass rate |",
              "|---|---|---|---|---|---|---|"]
    for f in sorted(per_file):
        c = per_file[f]
        lines.append(f"| {f} | {'yes' if is_target(f) else 'no'} | {c['pass']} | {c['fail']} "
                     f"| {c['skip']} | {c['flag']} | {_rate(c)} |")
    skips = Counter(categorize_reason(_skip_reason(o.message)) for o in outcomes
                    if o.status == "skip" and not is_suite(o.file))
    lines += ["", "### Skips by category", "", "| category | cases |", "|---|---|"]
    lines += [f"| {cat} | {n} |" for cat, n in skips.most_common()]
    return "\n".join(lines)


def suite_tables(outcomes: list[Outcome]) -> str:
    """Markdown for the trainer/callback/saving cases: per folder, per file, and every
    skip reason under its category."""
    per_file: dict[str, Counter] = defaultdict(Counter)
    for o in outcomes:
        if is_suite(o.file):
            per_file[o.file][o.status] += 1
    header = ["| {} | pass | fail | skip | attempted | pass rate |", "|---|---|---|---|---|---|"]
    lines = ["### Per folder", "", header[0].format("folder"), header[1]]
    total = Counter()
    for folder in SUITE_FOLDERS:
        c = Counter()
        for f, counts in per_file.items():
            if f.split("/", 1)[0] == folder:
                c.update(counts)
        total.update(c)
        lines.append(_suite_row(folder, c))
    lines += [_suite_row("**all**", total), "", "### Per file", "", header[0].format("file"),
              header[1]]
    lines += [_suite_row(f, per_file[f]) for f in sorted(per_file)]
    reasons = Counter(_skip_reason(o.message) for o in outcomes
                      if o.status == "skip" and is_suite(o.file))
    lines += ["", "### Skips by category and reason", "", "| category | reason | cases |",
              "|---|---|---|"]
    for reason, n in sorted(reasons.items(),
                            key=lambda kv: (categorize_reason(kv[0]), -kv[1], kv[0])):
        lines.append(f"| {categorize_reason(reason)} | {reason.replace('|', '/')} | {n} |")
    return "\n".join(lines)


def _suite_row(name: str, c: Counter) -> str:
    return (f"| {name} | {c['pass']} | {c['fail']} | {c['skip']} | {c['pass'] + c['fail']} "
            f"| {_rate(c)} |")


def _rate(c: Counter) -> str:
    attempted = c["pass"] + c["fail"]
    return f"{100 * c['pass'] / attempted:.1f}%" if attempted else "-"


def _row(name: str, c: Counter) -> str:
    return (f"| {name} | {c['pass']} | {c['fail']} | {c['skip']} | {c['flag']} "
            f"| {c['pass'] + c['fail']} | {_rate(c)} |")


_SRC_FRAME = re.compile(r'(src/thawnet/[\w/]+\.py)(?:", line |:)(\d+)(?:, in |: in )(\w+)')


def src_pointer(text: str) -> str:
    """The deepest ``src/thawnet`` frame of a failure (``layers/layer.py:128 add_weight``)."""
    # run_layer_test: the notes after the first failure hold the other stages' tracebacks.
    text = text.split("run_layer_test stage [", 1)[0]
    frames = _SRC_FRAME.findall(text)
    if not frames:
        return ""
    path, line, func = frames[-1]
    return f"{path[len('src/thawnet/'):]}:{line} {func}"


def failure_groups(outcomes: list[Outcome], target_only: bool = True,
                   suite: bool = False) -> str:
    """Markdown list of failure signatures, most frequent first, one example case each.

    The signature of a ``run_layer_test`` failure is its *first* failed stage; the stage
    table after it counts every failed stage, so one sees what still fails once the first
    cause is fixed. ``suite=True`` groups the trainer/callback/saving cases instead of the
    layer cases.
    """
    groups: dict[str, list[Outcome]] = defaultdict(list)
    stage_groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if o.status != "fail" or is_suite(o.file) != suite:
            continue
        if suite or is_target(o.file) or not target_only:
            # Keras's model tests define a class per test: "'ExampleModel' object has no
            # attribute" and "'StructModel' object ..." are one cause.
            key = signature(o.message)
            groups[_OBJECT_OF.sub(_generic, key) if suite else key].append(o)
            for key in stage_failures(o.message):
                stage_groups[key].append(o)
    lines = []
    for sig, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        files = Counter(m.file for m in members)
        top = ", ".join(f"{f} ({n})" for f, n in files.most_common(4))
        where = Counter(src_pointer(m.details) for m in members).most_common(1)
        at = f"; raised at `{where[0][0]}`" if where and where[0][0] else ""
        lines.append(f"- **{len(members)}**: `{sig}`  \n  e.g. `{members[0].case_id}`{at}; "
                     f"files: {top}")
    if suite:
        return "\n".join(lines)
    lines += ["", "#### Every failed stage of run_layer_test (a case may count in several)", ""]
    for sig, members in sorted(stage_groups.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"- **{len(members)}**: `{sig}`  \n  e.g. `{members[0].case_id}`")
    return "\n".join(lines)


HERE = os.path.dirname(os.path.abspath(__file__))


def replace_between(path: str, marker: str, body: str) -> None:
    """Replace the text between ``<!-- marker:start -->`` and ``<!-- marker:end -->``."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"{path} has no {start} ... {end} region to replace")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{head}{start}\n{body}\n{end}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xml")
    parser.add_argument("--tables", action="store_true")
    parser.add_argument("--failures", action="store_true")
    parser.add_argument("--write", action="store_true",
                        help="rewrite the generated parts of README.md and FAILURES.md")
    parser.add_argument("--all-files", action="store_true",
                        help="group failures of non-target files too")
    parser.add_argument("--suite", action="store_true",
                        help="rewrite the trainer/callback/saving parts of README.md and "
                        "FAILURES.md (from a run of test_keras_trainer_callback_saving_cases)")
    parser.add_argument("--suite-tables", action="store_true")
    parser.add_argument("--suite-failures", action="store_true")
    args = parser.parse_args(argv)
    outcomes = read_outcomes(args.xml)
    if args.suite_tables or args.suite_failures:
        print(suite_tables(outcomes) if args.suite_tables else "")
        print(failure_groups(outcomes, suite=True) if args.suite_failures else "")
        return 0
    if args.write:
        replace_between(os.path.join(HERE, "README.md"), "tables", tables(outcomes))
        replace_between(os.path.join(HERE, "FAILURES.md"), "groups", failure_groups(outcomes))
        return 0
    if args.suite:
        replace_between(os.path.join(HERE, "README.md"), "suite-tables", suite_tables(outcomes))
        replace_between(os.path.join(HERE, "FAILURES.md"), "suite-groups",
                        failure_groups(outcomes, suite=True))
        return 0
    if args.tables or not args.failures:
        print(tables(outcomes))
    if args.failures:
        print(failure_groups(outcomes, target_only=not args.all_files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
