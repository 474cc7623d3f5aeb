"""The satisfaction maths against an independent computation, for any answers.

The reference functions below are written from the definitions (with exact
fractions where the module uses floats), not from portal.reports.metrics.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from portal.reports.metrics import CsatFigures, NpsFigures, nps_change, response_rate
from portal.surveys.models import nps_category

nps_scores = st.lists(st.integers(min_value=0, max_value=10), max_size=400)
csat_scores = st.lists(st.integers(min_value=1, max_value=5), max_size=400)


def reference_nps(scores: list[int]) -> Fraction | None:
    if not scores:
        return None
    promoters = sum(1 for s in scores if s in (9, 10))
    detractors = sum(1 for s in scores if s in range(0, 7))
    return Fraction(100 * (promoters - detractors), len(scores))


def reference_interval(scores: list[int]) -> tuple[float, float]:
    """Rocks (2016): add 3/4 promoter, 3/2 passive, 3/4 detractor."""
    n = len(scores) + 3
    p = (sum(1 for s in scores if s >= 9) + 0.75) / n
    d = (sum(1 for s in scores if s <= 6) + 0.75) / n
    nps = p - d
    se = math.sqrt((p + d - nps * nps) / n)
    return max(-100.0, (nps - 1.96 * se) * 100), min(100.0, (nps + 1.96 * se) * 100)


def reference_variance(scores: list[int]) -> float:
    n = len(scores)
    p = sum(1 for s in scores if s >= 9) / n
    d = sum(1 for s in scores if s <= 6) / n
    return p + d - (p - d) ** 2


@given(nps_scores)
def test_nps_counts_and_score_match_the_definition(scores):
    figures = NpsFigures.of(scores)
    assert figures.responses == len(scores)
    assert figures.promoters + figures.passives + figures.detractors == len(scores)
    assert figures.passives == sum(1 for s in scores if s in (7, 8))
    expected = reference_nps(scores)
    if expected is None:
        assert figures.nps is None
    else:
        assert figures.nps == round(float(expected), 1)
        assert -100 <= figures.nps <= 100
    assert figures.small_sample is (len(scores) < 30)


@given(nps_scores)
def test_the_interval_is_the_adjusted_wald_interval(scores):
    low, high = NpsFigures.of(scores).interval
    ref_low, ref_high = reference_interval(scores)
    assert abs(low - ref_low) <= 0.05 + 1e-9 and abs(high - ref_high) <= 0.05 + 1e-9
    assert -100 <= low <= high <= 100
    assert high - low > 0  # never a point, even with one answer or a unanimous sample


def test_interval_known_values():
    # 50 promoters, 30 passives, 20 detractors: Rocks' adjusted Wald by hand.
    figures = NpsFigures.of([10] * 50 + [7] * 30 + [0] * 20)
    assert figures.nps == 30.0
    n = 103
    p, d = 50.75 / n, 20.75 / n
    half = 1.96 * math.sqrt((p + d - (p - d) ** 2) / n)
    assert figures.interval == (round(100 * (p - d - half), 1), round(100 * (p - d + half), 1))
    low, high = NpsFigures.of([10] * 5).interval  # five promoters: the plain Wald interval would be 100…100
    assert high == 100.0 and low < 70
    assert NpsFigures.of([]).as_dict()["ci_low"] is None


@given(nps_scores.filter(bool), nps_scores.filter(bool))
def test_change_z_test_matches_the_definition(before, after):
    change = nps_change(NpsFigures.of(before), NpsFigures.of(after))
    delta = float(reference_nps(after) - reference_nps(before)) / 100
    assert abs(change.delta - round(100 * delta, 1)) <= 0.1 + 1e-9  # halfway values may round either way in binary floats
    spread = math.sqrt(reference_variance(before) / len(before) + reference_variance(after) / len(after))
    if spread == 0:
        assert change.significant is (delta != 0)
    else:
        z = delta / spread
        assert change.z == round(z, 2)
        assert change.significant is (abs(z) >= 1.96)


def test_change_needs_answers_on_both_sides():
    assert nps_change(NpsFigures.of([]), NpsFigures.of([10])).significant is False
    # 100 promoters-heavy answers against 100 detractor-heavy ones is a real fall.
    assert nps_change(NpsFigures.of([10] * 60 + [8] * 40), NpsFigures.of([3] * 60 + [8] * 40)).significant
    # One answer either way is noise.
    assert not nps_change(NpsFigures.of([10, 6, 8]), NpsFigures.of([6, 10, 8, 6])).significant


@given(csat_scores)
def test_csat_share_and_mean_match_the_definition(scores):
    figures = CsatFigures.of(scores)
    if not scores:
        assert figures.csat is None and figures.mean is None
        return
    assert figures.csat == round(float(Fraction(100 * sum(1 for s in scores if s >= 4), len(scores))), 1)
    assert figures.mean == round(float(Fraction(sum(scores), len(scores))), 2)


@given(st.integers(min_value=0, max_value=10))
def test_nps_category_uses_the_same_thresholds(score):
    expected = "promoter" if score in (9, 10) else "passive" if score in (7, 8) else "detractor"
    assert nps_category(score) == expected
    figures = NpsFigures.of([score])
    assert (figures.promoters, figures.passives, figures.detractors) == (
        expected == "promoter",
        expected == "passive",
        expected == "detractor",
    )


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=10_000))
def test_response_rate(sent, answered):
    answered = min(answered, sent)
    rate = response_rate(sent, answered)
    assert rate == (round(100 * answered / sent, 1) if sent else None)
