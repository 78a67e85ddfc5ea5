"""The attribute classifier test helper reads procedural faces it never saw, and tells faces from
things that are not faces: later tests trust it to judge the demo DCGAN."""

import numpy as np
import pytest

from studio.engine.data.demo_sets import BINARY_ATTRIBUTES, binary_attributes, faces
from tests.engine.attribute_classifier import HEADS, _negatives, predict, train_classifier


@pytest.fixture(scope="module")
def classifier():
    return train_classifier(32, seed=0)  # ~30 s on one free core, cached for the whole test process


def test_reads_each_attribute_of_held_out_faces(classifier):
    for size in (32, 64):  # 64 px pictures are read through the same 32 px network
        pictures, labels = faces(300, size, seed=4242)  # seeds the classifier never trained on
        truth = binary_attributes(labels) > 0.5
        probs = predict(classifier, pictures)
        assert set(probs) == set(HEADS) and probs["face"].shape == (300,)
        for i, name in enumerate(BINARY_ATTRIBUTES):
            accuracy = ((probs[name] > 0.5) == truth[:, i]).mean()
            assert accuracy >= 0.95, (size, name, accuracy)
        assert (probs["face"] > 0.5).mean() >= 0.95


def test_tells_faces_from_non_faces(classifier):
    others = _negatives(300, 32, seed=777)  # noise, colour fields, discs, landscapes, shuffled faces
    p = predict(classifier, others)["face"]
    assert (p < 0.5).mean() >= 0.95
    for kind in range(5):  # each kind of non-face on its own, not just on average
        assert (p[kind * 60 : (kind + 1) * 60] < 0.5).mean() >= 0.9, kind
    # A face cut into tiles and put back in a different order is no longer a face.
    pictures, _ = faces(60, 32, seed=778)
    rng = np.random.default_rng(0)
    tiles = pictures.reshape(60, 4, 8, 4, 8, 3).transpose(0, 1, 3, 2, 4, 5).reshape(60, 16, 8, 8, 3)
    shuffled = np.stack([t[rng.permutation(16)] for t in tiles])
    shuffled = shuffled.reshape(60, 4, 4, 8, 8, 3).transpose(0, 1, 3, 2, 4, 5).reshape(60, 32, 32, 3)
    assert (predict(classifier, shuffled)["face"] < 0.5).mean() >= 0.9
    assert (predict(classifier, pictures)["face"] > 0.5).mean() >= 0.95
