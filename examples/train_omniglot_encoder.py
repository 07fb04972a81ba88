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
from torch import nn
from torch.nn import functional as F

from sklearn_hilander._omniglot import (
    ENCODER_ALPHABETS,
    _as_input,
    _empty_encoder,
    load_omniglot_arrays,
)


def _random_shift(
    padded: torch.Tensor, max_shift: int, generator: torch.Generator
) -> torch.Tensor:
    """Crop each image of ``padded`` at its own random offset.

    ``padded`` is (n, 1, 28 + 2 * max_shift, 28 + 2 * max_shift); the crop is
    28x28, so each image moves by up to ``max_shift`` pixels each way. A
    handful of pixels is the variation between drawers of one character, so
    the encoder learns to ignore it.
    """
    n, size = padded.shape[0], padded.shape[-1] - 2 * max_shift
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    grid = torch.arange(size)
    rows = (offsets[:, 0:1] + grid)[:, :, None]
    cols = (offsets[:, 1:2] + grid)[:, None, :]
    batch = torch.arange(n)[:, None, None]
    return padded[:, 0][batch, rows, cols].unsqueeze(1)


def train_encoder(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 2e-2,
    max_shift: int = 2,
    channels: tuple[int, ...] = (32, 64, 64, 64),
    embedding_dim: int = 64,
    scale: float = 16.0,
    seed: int = 0,
    verbose: bool = False,
) -> dict[str, np.ndarray]:
    """Train an :class:`OmniglotEncoder` to classify characters.

    The loss is a softmax cross-entropy over the classes of ``labels`` with a
    cosine classifier: the logits are ``scale`` times the cosine between the
    embedding and a learned weight vector per class. Training on angles makes
    the embeddings separate classes by cosine, the metric the clusterers use.
    Images are shifted at random by up to ``max_shift`` pixels. Adam runs with
    a learning rate that decays to zero along a cosine.

    Parameters
    ----------
    images : ndarray of shape (n, 28, 28), uint8
        Images with ink 255 and paper 0.
    labels : ndarray of shape (n,)
        Class of each image; any integers.
    epochs : int, default=10
        Passes over the data.
    batch_size : int, default=32
        Images per optimiser step.
    learning_rate : float, default=2e-2
        Initial Adam learning rate.
    max_shift : int, default=2
        Largest random shift in pixels, each direction.
    channels : tuple of int, default=(32, 64, 64, 64)
        Output channels of the four convolutions.
    embedding_dim : int, default=64
        Dimension of the embedding.
    scale : float, default=16.0
        Inverse temperature of the cosine softmax.
    seed : int, default=0
        Seeds the local generator for initialisation, batch order and
        shifts; results repeat exactly for a fixed seed and thread count on
        CPU.
    verbose : bool, default=False
        Print the loss and training accuracy after each epoch.

    Returns
    -------
    state : dict of str to ndarray
        Encoder state dict (weights and batch-norm running statistics) as
        float32 arrays; the classification head is dropped. Pass it to
        ``sklearn_hilander._omniglot.encode``.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"images must have shape (n, 28, 28), got {images.shape}.")
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    if y.shape[0] != images.shape[0]:
        raise ValueError("images and labels must have the same length.")

    generator = torch.Generator().manual_seed(int(seed))
    model = _empty_encoder(channels, embedding_dim)
    model.init_weights(generator)
    head = torch.empty(classes.size, embedding_dim)
    head.normal_(0.0, 1.0, generator=generator)
    head = nn.Parameter(head)

    # Padding once up front lets every batch be shifted by plain indexing.
    padded = F.pad(_as_input(images), (max_shift,) * 4)
    targets = torch.from_numpy(y.astype(np.int64))
    n = targets.shape[0]
    steps_per_epoch = int(np.ceil(n / batch_size))

    optimizer = torch.optim.Adam([*model.parameters(), head], lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=epochs * steps_per_epoch
    )
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator)
        total_loss, correct = 0.0, 0
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            x = _random_shift(padded[index], max_shift, generator)
            z = F.normalize(model(x), dim=1)
            logits = scale * z @ F.normalize(head, dim=1).T
            loss = F.cross_entropy(logits, targets[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += float(loss.detach()) * index.numel()
            correct += int((logits.argmax(1) == targets[index]).sum())
        if verbose:
            print(
                f"epoch {epoch + 1}/{epochs}: loss {total_loss / n:.3f}, "
                f"train accuracy {correct / n:.3f}",
                flush=True,
            )

    return {
        name: value.detach().numpy().astype(np.float32)
        for name, value in model.state_dict().items()
        # A step counter only used in training mode; not a float tensor.
        if not name.endswith("num_batches_tracked")
    }


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
