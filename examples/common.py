"""What the examples share: the digits data and a progress line per epoch."""

import time

import keras
import numpy as np


def load_digits(seed, images=False, standardize=False):
    """scikit-learn's bundled 8x8 digits (offline), split 1400 / 397.

    Returns `(x_train, x_val, y_train, y_val)`, stratified by class. Pixels are
    scaled to [0, 1], or standardized per pixel with `standardize`; `images`
    gives `(8, 8, 1)` images instead of 64-vectors.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    x = (digits.images if images else digits.data) / 16.0
    if standardize:
        x = (x - x.mean(0)) / (x.std(0) + 1e-3)
    x = x.astype("float32")
    if images:
        x = x[..., None]
    return train_test_split(
        x,
        digits.target.astype("int32"),
        train_size=1400,
        random_state=seed,
        stratify=digits.target,
    )


class EpochLine(keras.callbacks.Callback):
    """Prints the logged metrics every `every` epochs and at the last one,
    and records each epoch's wall time in `seconds`."""

    def __init__(self, label, epochs, every=1):
        super().__init__()
        self.label, self.epochs, self.every = label, epochs, every
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            return
        metrics = "  ".join(
            f"{name} {float(np.asarray(value)):.4f}"
            for name, value in (logs or {}).items()
        )
        print(
            f"  {self.label:<20} epoch {epoch + 1:>4}/{self.epochs}  {metrics}",
            flush=True,
        )
