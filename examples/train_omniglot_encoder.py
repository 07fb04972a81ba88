"""Train the Omniglot encoder shipped with sklearn_hilander.

The encoder is trained on the characters of half of the background alphabets
(``ENCODER_ALPHABETS``); the other half is kept unseen so that a clusterer can
be meta-trained on features that look like those of new classes. The weights
are written to ``sklearn_hilander/data/omniglot_encoder.npz``, which
:func:`sklearn_hilander.datasets.load_omniglot_features` reads.

Run from the repository root::

    python examples/train_omniglot_encoder.py --threads 1

About 75 seconds on one CPU core. Results repeat exactly for a fixed seed and
thread count.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from sklearn_hilander._omniglot import (
    ENCODER_ALPHABETS,
    load_omniglot_arrays,
    train_encoder,
)

DEFAULT_OUTPUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    os.pardir,
    "sklearn_hilander",
    "data",
    "omniglot_encoder.npz",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads; one thread is faster when other work shares "
        "the cores, and fixing it makes the weights repeat exactly",
    )
    parser.add_argument("--output", default=os.path.normpath(DEFAULT_OUTPUT))
    args = parser.parse_args()

    if args.threads is not None:
        torch.set_num_threads(args.threads)

    data = load_omniglot_arrays()
    rows = np.isin(data["alphabet"], ENCODER_ALPHABETS)
    n_classes = np.unique(data["label"][rows]).size
    print(
        f"Training on {rows.sum()} images of {n_classes} characters from "
        f"{len(ENCODER_ALPHABETS)} alphabets.",
        flush=True,
    )

    start = time.perf_counter()
    state = train_encoder(
        data["images"][rows],
        data["label"][rows],
        epochs=args.epochs,
        seed=args.seed,
        verbose=True,
    )
    print(f"Trained in {time.perf_counter() - start:.1f} s.")

    np.savez_compressed(args.output, **state)
    print(f"Wrote {args.output} ({os.path.getsize(args.output)} bytes).")


if __name__ == "__main__":
    main()
