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


def reference_change_interval(before, after):
    """The interval of the difference by hand: adjusted Wald for each period, variances add."""
    def adjusted(scores):
        n = len(scores) + 3
        p = (sum(1 for s in scores if s >= 9) + 0.75) / n
        d = (sum(1 for s in scores if s <= 6) + 0.75) / n
        return p - d, (p + d - (p - d) ** 2) / n

    (c1, v1), (c2, v2) = adjusted(before), adjusted(after)
    half = 1.96 * math.sqrt(v1 + v2)
    return max(-200, 100 * (c2 - c1 - half)), min(200, 100 * (c2 - c1 + half))


@given(nps_scores.filter(bool), nps_scores.filter(bool))
def test_change_is_significant_only_when_its_interval_excludes_zero_with_30_answers_each(before, after):
    change = nps_change(NpsFigures.of(before), NpsFigures.of(after))
    delta = float(reference_nps(after) - reference_nps(before))
    assert abs(change.delta - delta) <= 0.1 + 1e-9  # each NPS is rounded to one decimal first
    low, high = reference_change_interval(before, after)
    assert abs(change.low - low) <= 0.05 + 1e-9 and abs(change.high - high) <= 0.05 + 1e-9
    enough = len(before) >= 30 and len(after) >= 30
    assert change.significant is (enough and not change.low <= 0 <= change.high)


def test_change_known_values():
    # Zero variance in both periods (30 promoters, then 30 detractors): by hand, n' = 33,
    # c = ±(30.75 − 0.75)/33 = ±0.90909, Var = (31.5/33 − 0.90909²)/33 = 0.0038818 each,
    # half = 1.96·√0.0077636 = 0.17270: −181.8 ± 17.3 → −199.1 … −164.5. Significant.
    change = nps_change(NpsFigures.of([10] * 30), NpsFigures.of([0] * 30))
    assert (change.delta, change.low, change.high, change.significant) == (-200.0, -199.1, -164.5, True)
    # The case: one promoter, then one passive. Var 0.140625 and 0.09375, half 0.9489:
    # −25 ± 94.9 → −119.9 … 69.9, and n < 30 anyway: not significant, and says why.
    change = nps_change(NpsFigures.of([10]), NpsFigures.of([8]))
    assert (change.delta, change.low, change.high, change.significant, change.why) == (-100.0, -119.9, 69.9, False, "too_few")
    # 20 unanimous answers each: the interval excludes 0, but 20 < 30 answers never count.
    change = nps_change(NpsFigures.of([10] * 20), NpsFigures.of([0] * 20))
    assert change.high < 0 and not change.significant and change.why == "too_few"
    # A real fall with variance: 60 promoters + 40 passives, then 60 detractors + 40 passives.
    # n' = 103, c = ±59.25/103·... = ±0.58252, Var = (61.5/103 − 0.58252²)/103 = 0.0025025 each,
    # half = 1.96·√0.0050049 = 0.13866: −116.5 ± 13.9 → −130.4 … −102.6.
    change = nps_change(NpsFigures.of([10] * 60 + [8] * 40), NpsFigures.of([3] * 60 + [8] * 40))
    assert (change.delta, change.low, change.high, change.significant, change.why) == (-120.0, -130.4, -102.6, True, None)
    # 30 answers each, 20 points lower, but the interval −55.5 … 19.1 contains 0: could be chance.
    change = nps_change(NpsFigures.of([10] * 15 + [8] * 10 + [3] * 5), NpsFigures.of([10] * 12 + [8] * 10 + [3] * 8))
    assert (change.delta, change.low, change.high, change.significant, change.why) == (-20.0, -55.5, 19.1, False, "could_be_chance")


def test_change_needs_answers_on_both_sides():
    change = nps_change(NpsFigures.of([]), NpsFigures.of([10]))
    assert change.significant is False and change.delta is None and change.why == "no_answers"
    assert change.as_dict() == {"change": None, "change_ci_low": None, "change_ci_high": None, "significant": False}


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
