"""How a run's frames are assembled from what the engine sends (no Qt needed)."""

from __future__ import annotations

import pickle

import numpy as np

from advlens.frames import attack_frame


def test_an_unchanged_input_is_the_same_array_in_every_frame():
    """The view redraws the original only when the frame's array is another one. Arrays from the engine
    arrive unpickled, with an equal but distinct dtype object: each frame must still hand over the same
    array, not a new view of it."""
    original = pickle.loads(pickle.dumps(np.random.default_rng(0).random((8, 8, 3), dtype=np.float32)))
    frames = [attack_frame(original, original + 0.01 * k, ["a", "b"], (0, 0.9), [1, 0], [0.6, 0.4], k > 1, "a", None)
              for k in range(3)]
    assert all(frame.original is original for frame in frames)
    grey = attack_frame(original[..., :1], original[..., :1], ["a"], (0, 1.0), [0], [1.0], False, "a", None)
    assert grey.original.shape == (8, 8, 3)  # a grey input is still drawn grey, as RGB
