"""Omniglot: bundled images, a small CNN encoder, and the features it gives.

The clustering models of this package work on embeddings, not pixels, so
Omniglot is turned into 64-d features by a small plain-torch CNN trained with a
softmax over characters. Its weights ship with the package
(``data/omniglot_encoder.npz``, made by ``examples/train_omniglot_encoder.py``)
so that users get the same features without training anything.

The 30 background alphabets are split in two halves: the encoder is trained
on :data:`ENCODER_ALPHABETS`, and a clusterer is meta-trained on the features
of :data:`META_TRAIN_ALPHABETS`. The 20 evaluation alphabets are left for
testing.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ENCODER_ALPHABETS",
    "META_TRAIN_ALPHABETS",
    "OmniglotEncoder",
    "encode",
    "load_encoder_state",
    "load_omniglot_arrays",
    "omniglot_features",
]

# Features of the classes an encoder was trained on are much tighter than
# features of classes it never saw. A clusterer meta-trained on such features
# learns distance thresholds that shatter unseen classes, so it must be
# meta-trained on alphabets the encoder did not see. The split takes the even
# background alphabet ids, with 7 and 14 swapped so that both halves hold
# exactly 482 characters (plain alternation gives 497 / 467).
# fmt: off
ENCODER_ALPHABETS: tuple[int, ...] = (
    0, 2, 4, 6, 7, 8, 10, 12, 16, 18, 20, 22, 24, 26, 28,
)
META_TRAIN_ALPHABETS: tuple[int, ...] = (
    1, 3, 5, 9, 11, 13, 14, 15, 17, 19, 21, 23, 25, 27, 29,
)
# fmt: on

_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
_IMAGES_FILE = "omniglot28.npz"
_ENCODER_FILE = "omniglot_encoder.npz"

# Batch of images pushed through the CNN at once when encoding: bounds the
# activation memory (a few tens of MB) whatever the number of images; small
# batches also stay in cache, which measured faster than large ones on CPU.
_ENCODE_BATCH = 256


class OmniglotEncoder(nn.Module):
    """Small CNN mapping 28x28 grey images to embeddings.

    Four blocks of 3x3 convolution, batch norm, ReLU and 2x2 max pooling take
    the image from 28x28 down to 1x1 (28, 14, 7, 3, 1); a linear layer then
    projects the channels of the last block to the embedding.

    Parameters
    ----------
    channels : tuple of int, default=(32, 64, 64, 64)
        Output channels of the four convolutions. The first block runs at full
        resolution and dominates the cost, so it is kept narrower.
    embedding_dim : int, default=64
        Dimension of the output embedding.
    """

    def __init__(
        self, channels: tuple[int, ...] = (32, 64, 64, 64), embedding_dim: int = 64
    ):
        super().__init__()
        if len(channels) != 4:
            raise ValueError(f"channels must have 4 entries, got {channels}.")
        layers: list[nn.Module] = []
        in_channels = 1
        for out_channels in channels:
            layers += [
                # No bias: the batch norm that follows would cancel it.
                nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.project = nn.Linear(in_channels, embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed a batch of images.

        Parameters
        ----------
        x : Tensor of shape (n, 1, 28, 28)
            Images scaled to [0, 1].

        Returns
        -------
        z : Tensor of shape (n, embedding_dim)
            Unnormalised embeddings.
        """
        return self.project(self.features(x).flatten(1))

    def init_weights(self, generator: torch.Generator) -> None:
        """Draw fresh weights from ``generator`` and reset batch-norm statistics.

        PyTorch's own initialisation draws from the global random state;
        drawing from a local generator keeps training reproducible without
        seeding or advancing anything global.

        Parameters
        ----------
        generator : torch.Generator
            Source of the random weights.
        """
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    # He initialisation, suited to the ReLU that follows.
                    fan_in = module.weight[0].numel()
                    std = float(np.sqrt(2.0 / fan_in))
                    module.weight.normal_(0.0, std, generator=generator)
                elif isinstance(module, nn.BatchNorm2d):
                    module.reset_parameters()
                elif isinstance(module, nn.Linear):
                    bound = float(1.0 / np.sqrt(module.in_features))
                    module.weight.uniform_(-bound, bound, generator=generator)
                    module.bias.uniform_(-bound, bound, generator=generator)


def _empty_encoder(channels: tuple[int, ...], embedding_dim: int) -> OmniglotEncoder:
    """An encoder with uninitialised storage.

    Building the layers on the meta device skips PyTorch's default
    initialisation, which would consume the caller's global random state; the
    weights are then drawn from a local generator or loaded from a state.
    """
    with torch.device("meta"):
        model = OmniglotEncoder(channels=channels, embedding_dim=embedding_dim)
    return model.to_empty(device="cpu")


def _as_input(images: np.ndarray) -> torch.Tensor:
    """uint8 images (n, 28, 28) to a float tensor (n, 1, 28, 28) in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8))
    return x.unsqueeze(1).to(torch.float32).div_(255.0)


def _encoder_from_state(state: dict[str, np.ndarray]) -> OmniglotEncoder:
    """Build an encoder in eval mode holding ``state``."""
    # Conv layers sit at every fourth index of ``features`` (conv, norm,
    # ReLU, pool); their weight shapes give the architecture.
    channels = tuple(state[f"features.{4 * i}.weight"].shape[0] for i in range(4))
    embedding_dim = state["project.weight"].shape[0]
    model = _empty_encoder(channels, embedding_dim)
    tensors = {
        name: torch.from_numpy(np.asarray(value, dtype=np.float32))
        for name, value in state.items()
    }
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [name for name in missing if not name.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(
            f"Encoder state does not fit OmniglotEncoder: missing {missing}, "
            f"unexpected {unexpected}."
        )
    # The step counters are not saved and were left uninitialised by
    # ``to_empty``; zero them so the module stays sane if trained further.
    for name, buffer in model.named_buffers():
        if name.endswith("num_batches_tracked"):
            buffer.zero_()
    return model.eval()


def encode(
    images: np.ndarray, state: dict[str, np.ndarray], *, batch_size: int = _ENCODE_BATCH
) -> np.ndarray:
    """Embed images with a trained encoder.

    Parameters
    ----------
    images : ndarray of shape (n, 28, 28), uint8
        Images with ink 255 and paper 0.
    state : dict of str to ndarray
        Encoder state from :func:`train_encoder` or :func:`load_encoder_state`.
    batch_size : int, default=256
        Images per forward pass; bounds the memory used.

    Returns
    -------
    features : ndarray of shape (n, embedding_dim), float32
        L2-normalised embeddings (the encoder was trained on their angles).
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"images must have shape (n, 28, 28), got {images.shape}.")
    model = _encoder_from_state(state)
    out = np.empty((images.shape[0], model.project.out_features), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            z = model(_as_input(images[start : start + batch_size]))
            out[start : start + batch_size] = F.normalize(z, dim=1).numpy()
    return out


def load_omniglot_arrays() -> dict[str, np.ndarray]:
    """Read the bundled Omniglot arrays (``data/omniglot28.npz``).

    Returns
    -------
    data : dict of str to ndarray
        ``images`` (32460, 28, 28) uint8 with ink 255, ``label``,
        ``alphabet``, ``character``, ``drawer``, ``split``,
        ``alphabet_names``, ``class_names``, ``class_alphabet`` and
        ``class_split``; see ``data/README.md``.
    """
    path = os.path.join(_DATA_DIR, _IMAGES_FILE)
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def load_encoder_state(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Read encoder weights saved by ``examples/train_omniglot_encoder.py``.

    Parameters
    ----------
    path : str or path-like, default=None
        File to read; by default the weights bundled with the package.

    Returns
    -------
    state : dict of str to ndarray
        Encoder state as float32 arrays, whatever dtype the file stores.
    """
    if path is None:
        path = os.path.join(_DATA_DIR, _ENCODER_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Omniglot encoder weights not found at {path}. Create them with "
            "`python examples/train_omniglot_encoder.py` from the repository "
            "root."
        )
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key].astype(np.float32) for key in data.files}


def omniglot_features() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Embed all 32460 bundled Omniglot images with the bundled encoder.

    The embedding takes tens of seconds on two cores and depends only on
    files shipped with the package, so it runs once per process; each call
    returns fresh copies, which a caller may modify.

    Returns
    -------
    features : ndarray of shape (32460, 64), float32
        L2-normalised embeddings.
    label : ndarray of shape (32460,), int32
        Character class, 0..1622.
    alphabet : ndarray of shape (32460,), int32
        Alphabet id, 0..49 (0..29 background, 30..49 evaluation).
    split : ndarray of shape (32460,), str
        ``'background'`` or ``'evaluation'``.
    """
    return tuple(array.copy() for array in _encoded_omniglot())


@functools.lru_cache(maxsize=1)
def _encoded_omniglot() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`omniglot_features` returns, computed once."""
    state = load_encoder_state()
    data = load_omniglot_arrays()
    features = encode(data["images"], state)
    return features, data["label"], data["alphabet"], data["split"]
