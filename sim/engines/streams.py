"""Random-number streams keyed by name, for common random numbers across variants.

A stream is keyed by what it is for (procedure, step, purpose), never by the order of
calls, so the same case draws the same numbers for the same step in every variant: the
differences between variants are the reforms', not luck's. Streams are derived from one
`numpy.random.SeedSequence` with extra spawn-key words, the documented way to make
independent child streams.
"""

from __future__ import annotations

import zlib

import numpy as np


def key_words(*parts: str | int) -> tuple[int, ...]:
    """Stable 32-bit words for a key (CRC-32 of text, so the same across runs and machines)."""
    return tuple(
        part if isinstance(part, int) else zlib.crc32(part.encode("utf-8")) for part in parts
    )


class Streams:
    """Keyed random streams under one seed sequence (a replication's)."""

    def __init__(self, seed_sequence: np.random.SeedSequence):
        self.seed_sequence = seed_sequence

    def generator(self, *key: str | int) -> np.random.Generator:
        """An independent generator for ``key``."""
        child = np.random.SeedSequence(
            entropy=self.seed_sequence.entropy,
            spawn_key=(*self.seed_sequence.spawn_key, *key_words(*key)),
        )
        return np.random.Generator(np.random.PCG64(child))

    def uniforms(self, *key: str | int, shape: int | tuple[int, ...]) -> np.ndarray:
        """Uniforms in [0, 1) of the given shape from the stream ``key``."""
        return self.generator(*key).random(shape)
