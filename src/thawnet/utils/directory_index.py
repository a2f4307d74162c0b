"""Listing a folder of samples the way Keras 3 does, so the same seed gives the same files in
each subset: class folders in alphanumeric order, files sorted within each walk, one global
NumPy ``RandomState(seed)`` shuffle, then the last ``validation_split`` of the list is the
validation subset.
"""

from __future__ import annotations

import os

import numpy as np


def check_split_arguments(who: str, validation_split, subset, shuffle, seed) -> None:
    """Keras's rules for ``validation_split`` / ``subset`` / ``seed``, with named errors."""
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"{who}: validation_split must be between 0 and 1 (the fraction kept "
                         f"for validation); received validation_split={validation_split!r}.")
    if bool(validation_split) != bool(subset):
        raise ValueError(f"{who}: subset and validation_split go together: pass both or "
                         f"neither; received validation_split={validation_split!r}, "
                         f"subset={subset!r}.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'{who}: subset must be "training", "validation" or "both"; '
                         f"received subset={subset!r}.")
    if validation_split and shuffle and seed is None:
        raise ValueError(f"{who}: with validation_split and shuffle=True, pass a seed (e.g. "
                         "seed=1337) so that the training and validation subsets, listed in "
                         "two calls, do not overlap.")


def _files_under(directory: str, follow_links: bool, formats: tuple[str, ...]):
    walk = sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0])
    for root, _, files in walk:
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield os.path.join(root, name)


def index_directory(who: str, directory, labels, formats: tuple[str, ...], class_names=None,
                    shuffle: bool = True, seed=None, follow_links: bool = False,
                    verbose: bool = True):
    """``(file_paths, labels, class_names)`` for ``directory``, in Keras's order.

    Args:
        who: the calling function's name, for error messages.
        directory: the folder.
        labels: ``"inferred"`` (class = sub-folder), None, or a list of integer labels in
            the order of the sorted file paths.
        formats: lower-case file extensions kept (``(".png", ".jpg")``).
        class_names: with ``labels="inferred"``, the sub-folders to use, in label order.
        shuffle, seed: shuffle the list with ``np.random.RandomState(seed)`` (as Keras).
        follow_links: descend into symlinked folders.
        verbose: print how many files (and classes) were found.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"{who}: directory {directory!r} does not exist or is not a folder.")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(f"{who}: class_names must name sub-folders of {directory!r}; "
                                 f"the sub-folders are {subdirs}, received "
                                 f"class_names={list(class_names)}.")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError(f"{who}: class_names can only be given with labels='inferred' "
                             f"(the class names are then the folder names); received "
                             f"labels={labels if labels is None else 'a list'}.")
        subdirs = [""]
    paths, found_labels = [], []
    for index, subdir in enumerate(subdirs):
        for path in _files_under(os.path.join(directory, subdir), follow_links, formats):
            paths.append(path)
            found_labels.append(index)
    if labels == "inferred":
        labels = np.asarray(found_labels, "int32")
        names = list(subdirs)
    elif labels is None:
        names = None
    else:
        if len(labels) != len(paths):
            raise ValueError(f"{who}: labels has {len(labels)} entries but {directory!r} holds "
                             f"{len(paths)} files with extensions {formats}; pass one label "
                             "per file, in the order of the sorted file paths.")
        names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        tail = "." if labels is None else f" belonging to {len(names)} classes."
        print(f"Found {len(paths)} files{tail}")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, names


def split(who: str, paths: list, labels, validation_split, subset: str | None,
          verbose: bool = True):
    """The ``subset`` of ``paths`` / ``labels``: the last ``int(validation_split * n)``
    entries are the validation subset, the rest the training subset (Keras's rule)."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if n_val == 0:
        raise ValueError(f"{who}: validation_split={validation_split} of {len(paths)} files "
                         "leaves no file for validation; use a larger split or more files.")
    if subset == "training":
        if verbose:
            print(f"Using {len(paths) - n_val} files for training.")
        return paths[:-n_val], None if labels is None else labels[:-n_val]
    if verbose:
        print(f"Using {n_val} files for validation.")
    return paths[-n_val:], None if labels is None else labels[-n_val:]


def encode_labels(labels, label_mode: str | None, num_classes: int):
    """Labels of one batch as Keras gives them: int32, float32 ``(n, 1)``, or one-hot."""
    if label_mode == "int":
        return np.asarray(labels, "int32")
    if label_mode == "binary":
        return np.asarray(labels, "float32")[:, None]
    return np.eye(num_classes, dtype="float32")[np.asarray(labels, "int64")]
