"""The satisfaction maths, once: pure functions over counts, no database.

- NPS: promoters 9–10, passives 7–8, detractors 0–6 (the thresholds live with
  the answer scale in :mod:`portal.surveys.models`); NPS = % promoters − %
  detractors, −100…100.
- Its 95 % interval by the adjusted Wald method (Rocks 2016, The American
  Statistician): add 0.75 promoters, 1.5 passives and 0.75 detractors (three
  answers in all), then Var = (p + d − (p − d)²) / n' and the interval is
  NPS ± 1.96·√Var·100, clipped to −100…100. It stays sensible for small n,
  where the plain Wald interval collapses to a point.
- A change between two periods: ΔNPS = NPS now − NPS before. Its 95 %
  interval takes the adjusted-Wald centre and variance of each period (as
  above; the variances add): (c₂ − c₁) ± 1.96·√(Var₁/n₁' + Var₂/n₂')·100,
  clipped to −200…200. The change is significant only when that interval
  excludes 0 and both periods have at least 30 answers: below that, one or
  two answers would decide (two unanimous periods of one answer each have no
  variance at all, and "any difference is certain" would be nonsense).
- CSAT: the share of 4–5 answers on the 1–5 scale, and the mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from portal.surveys.models import CSAT_SATISFIED_MIN, NPS_PASSIVE_MIN, NPS_PROMOTER_MIN

Z_95 = 1.96
SMALL_SAMPLE = 30  # fewer answers than this: the figure is shown, flagged as a small sample


@dataclass(frozen=True)
class NpsFigures:
    responses: int
    promoters: int
    passives: int
    detractors: int

    @classmethod
    def of(cls, scores: Iterable[int]) -> NpsFigures:
        promoters = passives = detractors = 0
        for score in scores:
            if score >= NPS_PROMOTER_MIN:
                promoters += 1
            elif score >= NPS_PASSIVE_MIN:
                passives += 1
            else:
                detractors += 1
        return cls(promoters + passives + detractors, promoters, passives, detractors)

    @property
    def nps(self) -> float | None:
        """−100…100, one decimal; None without answers."""
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses, 1)

    @property
    def interval(self) -> tuple[float, float]:
        """The adjusted-Wald 95 % interval, in NPS points, one decimal."""
        n = self.responses + 3
        p = (self.promoters + 0.75) / n
        d = (self.detractors + 0.75) / n
        centre = p - d
        half = Z_95 * math.sqrt((p + d - centre**2) / n)
        return round(max(-100.0, 100 * (centre - half)), 1), round(min(100.0, 100 * (centre + half)), 1)

    @property
    def small_sample(self) -> bool:
        return self.responses < SMALL_SAMPLE

    def as_dict(self) -> dict:
        low, high = self.interval
        return {
            "responses": self.responses,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "nps": self.nps,
            "ci_low": low if self.responses else None,
            "ci_high": high if self.responses else None,
            "small_sample": self.small_sample,
        }


@dataclass(frozen=True)
class Change:
    """NPS now against before: the difference in points, its 95 % interval, and whether it is real.

    ``why`` says why a change is not significant: ``"no_answers"`` (a period has
    none), ``"too_few"`` (a period has fewer than 30), ``"could_be_chance"`` (the
    interval contains 0); ``None`` when it is significant."""

    delta: float | None
    low: float | None
    high: float | None
    significant: bool
    why: str | None = None

    def as_dict(self) -> dict:
        return {"change": self.delta, "change_ci_low": self.low, "change_ci_high": self.high, "significant": self.significant}


def _adjusted(figures: NpsFigures) -> tuple[float, float]:
    """The adjusted-Wald centre (−1…1) of a period and the variance of that centre."""
    n = figures.responses + 3
    p = (figures.promoters + 0.75) / n
    d = (figures.detractors + 0.75) / n
    centre = p - d
    return centre, (p + d - centre**2) / n


def nps_change(before: NpsFigures, now: NpsFigures) -> Change:
    if not before.responses or not now.responses:
        return Change(None, None, None, False, "no_answers")
    delta = round(now.nps - before.nps, 1)
    centre_before, variance_before = _adjusted(before)
    centre_now, variance_now = _adjusted(now)
    half = Z_95 * math.sqrt(variance_before + variance_now)
    low = round(max(-200.0, 100 * (centre_now - centre_before - half)), 1)
    high = round(min(200.0, 100 * (centre_now - centre_before + half)), 1)
    if before.small_sample or now.small_sample:
        return Change(delta, low, high, False, "too_few")
    if low <= 0 <= high:
        return Change(delta, low, high, False, "could_be_chance")
    return Change(delta, low, high, True)


@dataclass(frozen=True)
class CsatFigures:
    responses: int
    satisfied: int
    total: int  # the sum of the scores, for the mean

    @classmethod
    def of(cls, scores: Iterable[int]) -> CsatFigures:
        responses = satisfied = total = 0
        for score in scores:
            responses += 1
            satisfied += score >= CSAT_SATISFIED_MIN
            total += score
        return cls(responses, satisfied, total)

    @property
    def csat(self) -> float | None:
        """The share of satisfied answers in %, one decimal."""
        return round(100 * self.satisfied / self.responses, 1) if self.responses else None

    @property
    def mean(self) -> float | None:
        return round(self.total / self.responses, 2) if self.responses else None

    def as_dict(self) -> dict:
        return {"responses": self.responses, "satisfied": self.satisfied, "csat": self.csat, "mean": self.mean}


def response_rate(sent: int, answered: int) -> float | None:
    """Answered ÷ sent in %, one decimal, for the invitations sent in a period."""
    return round(100 * answered / sent, 1) if sent else None


def nps_score(scores: Iterable[int]) -> float | None:
    """NPS of a list of 0–10 scores (−100…100, one decimal), None without scores."""
    return NpsFigures.of(scores).nps


def csat_score(scores: Iterable[int]) -> float | None:
    """CSAT of a list of 1–5 scores (% satisfied, one decimal), None without scores."""
    return CsatFigures.of(scores).csat
