"""Learning from outcomes (pure): the Dirichlet EM of the class prior, the one-lead updates, the threshold."""

import numpy as np
import pytest

from plumetrace.bench.learning import PAYLOADS, TARGET, _event
from plumetrace.detect.attribution import class_patterns, log_evidences, posterior
from plumetrace.detect.learning import (
    area_key,
    class_prior,
    detection_threshold,
    fit_class_prior,
    initial_belief,
    log_evidences_from_posterior,
    real_fraction,
    update_belief,
)
from plumetrace.detect.signatures import load_source_classes

CLASSES = load_source_classes()
KEYS = list(CLASSES)


def _events(mix: dict, n: int, seed: int, payload="full"):
    rng = np.random.default_rng(seed)
    patterns = class_patterns(CLASSES, PAYLOADS[payload])
    truths = rng.choice(list(mix), size=n, p=np.array(list(mix.values())) / sum(mix.values()))
    out = []
    for t in truths:
        _, integral, se = _event(rng, CLASSES, str(t), PAYLOADS[payload])
        out.append(log_evidences(integral, se, patterns))
    return np.array(out), list(truths)


def test_em_learns_the_mix_of_an_area_from_unlabelled_events():
    mix = {"paint_shop": 0.6, "traffic": 0.3, "clandestine_lab": 0.1}
    log_ev, _ = _events(mix, 300, seed=3)
    alpha = fit_class_prior(log_ev, KEYS, [None] * len(log_ev))
    prior = {k: a / sum(alpha.values()) for k, a in alpha.items()}
    for k, share in mix.items():
        assert prior[k] == pytest.approx(share, abs=0.08), (k, prior[k])
    assert sum(v for k, v in prior.items() if k not in mix) < 0.08
    # the uniform prior's one pseudo-observation is all that is left of it
    assert sum(alpha.values()) == pytest.approx(1.0 + 300, abs=300 * 0.12)


def test_outcomes_move_the_prior_where_the_chemistry_is_ambiguous():
    log_ev, truths = _events({"paint_shop": 0.5, "clandestine_lab": 0.5}, 120, seed=5, payload="lean")
    none = fit_class_prior(log_ev, KEYS, [None] * len(truths))
    labels = [("confirmed", TARGET) if t == TARGET else ("false_positive", TARGET) for t in truths]
    told = fit_class_prior(log_ev, KEYS, labels)
    assert told[TARGET] == pytest.approx(1 / len(KEYS) + sum(t == TARGET for t in truths))
    assert abs(told[TARGET] / sum(told.values()) - 0.5) <= abs(none[TARGET] / sum(none.values()) - 0.5) + 1e-9
    nothing = fit_class_prior(log_ev, KEYS, [("nothing_found", TARGET)] * len(truths))
    assert sum(nothing.values()) == pytest.approx(1.0)  # no emitter behind any: nothing counted
    with pytest.raises(ValueError, match="one label"):
        fit_class_prior(log_ev, KEYS, [None])


def test_one_lead_updates_and_their_errors():
    b = initial_belief(KEYS)
    assert class_prior(b)[TARGET] == pytest.approx(1 / len(KEYS)) and real_fraction(b) == pytest.approx(0.9)
    c = update_belief(b, "confirmed", TARGET)
    assert c.alpha[TARGET] == pytest.approx(b.alpha[TARGET] + 1) and c.real == b.real + 1
    assert b.alpha[TARGET] == pytest.approx(1 / len(KEYS))  # the old belief is unchanged
    f = update_belief(b, "false_positive", TARGET, {"paint_shop": 0.3, TARGET: 0.6, "traffic": 0.1})
    assert f.alpha[TARGET] == b.alpha[TARGET]
    assert f.alpha["paint_shop"] - b.alpha["paint_shop"] == pytest.approx(0.75)
    assert f.alpha["traffic"] - b.alpha["traffic"] == pytest.approx(0.25)
    n = update_belief(b, "nothing_found", TARGET)
    assert n.spurious == b.spurious + 1 and n.alpha == b.alpha
    d = update_belief(b, "duplicate", TARGET)
    assert (d.real, d.spurious, d.alpha) == (b.real, b.spurious, b.alpha) and d.outcomes == {"duplicate": 1}
    with pytest.raises(ValueError, match="not one of"):
        update_belief(b, "arrested", TARGET)
    assert type(b).from_dict(f.to_dict()) == f


def test_the_threshold_follows_the_odds_of_a_real_emitter():
    b = initial_belief(KEYS)
    assert detection_threshold(b, 4.0) == pytest.approx(4.0)
    ks = []
    for _ in range(6):
        b = update_belief(b, "nothing_found", TARGET)
        ks.append(detection_threshold(b, 4.0))
    assert all(np.diff(ks) > 0) and 4.0 < ks[0] and ks[-1] <= 12.0
    good = initial_belief(KEYS)
    for _ in range(20):
        good = update_belief(good, "confirmed", TARGET)
    assert 3.0 <= detection_threshold(good, 4.0) < 4.0


def test_stored_posteriors_give_back_their_evidence():
    log_ev, _ = _events({"bakery": 1.0, "clandestine_lab": 1.0}, 5, seed=9)
    prior = {k: (5.0 if k == "bakery" else 1.0) for k in KEYS}
    for row in log_ev:
        probs = posterior(row, KEYS, 0.1, prior)
        back = log_evidences_from_posterior(probs, KEYS, 0.1, prior)
        again = posterior(back, KEYS, 0.1, prior)
        finite = np.array(list(probs.values())) > 1e-250
        assert np.allclose(np.array(list(again.values()))[finite], np.array(list(probs.values()))[finite])
    assert area_key(52.1049, 5.1234) == "5210:512" and area_key(-33.5, -70.66) == "-3350:-7066"
