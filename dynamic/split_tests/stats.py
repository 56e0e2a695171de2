"""The statistics of a split-test report: pure functions of counts and sums, no Flask, no database.

Every figure comes from scipy (distributions, tests, special functions); the code here only
arranges the inputs. Conventions:

- The control comes first, the variant second; differences are variant minus control.
- Counts (visitors, conversions, exposures) must be whole numbers (ints, or integral floats and
  Decimals, as PostgreSQL's SUM returns) and not negative, and conversions can not exceed
  visitors: anything else raises ValueError (TypeError for a value that is not a number).
- ``confidence`` is a share strictly between 0 and 1; 0.95 gives 95% intervals.
- Degenerate inputs have a defined answer where one exists, documented on each function, and
  raise ValueError where none does (a rate of zero visitors, a variance of one value).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# numpy and scipy are imported by the functions that use them: scipy.stats takes about a
# second to import, which every worker and `flask` command would pay at start for a report few
# of them ever make.

#: A variant's figures are worth showing from this many exposures and conversions on.
MIN_EXPOSURES = 30
MIN_CONVERSIONS = 5
#: A sample-ratio mismatch is flagged below this p-value: strict, because the check runs on every
#: look at every experiment, and a false alarm makes people distrust a sound test.
SRM_ALPHA = 0.001


def enough_data(exposures: int, conversions: int) -> bool:
    """Whether one variant has at least MIN_EXPOSURES exposures and MIN_CONVERSIONS conversions."""
    return (
        _count("exposures", exposures) >= MIN_EXPOSURES
        and _count("conversions", conversions) >= MIN_CONVERSIONS
    )


@dataclass(frozen=True)
class ConversionComparison:
    control_rate: float
    variant_rate: float
    absolute_uplift: float  # variant_rate - control_rate
    absolute_ci: tuple[float, float]  # Wald interval, unpooled standard error
    relative_uplift: float | None  # absolute / control_rate; None when control_rate == 0
    relative_ci: tuple[float, float] | None  # log risk-ratio (Katz) interval, minus 1
    z: float  # pooled two-proportion z statistic
    p_value: float  # two-sided, pooled z-test
    chance_to_beat: float  # P(p_variant > p_control) under Beta(1 + k, 1 + n - k) posteriors


def compare_conversion(
    control_conversions: int,
    control_visitors: int,
    variant_conversions: int,
    variant_visitors: int,
    confidence: float = 0.95,
) -> ConversionComparison:
    """Compare the variant's conversion rate with the control's.

    Zero visitors on either side raise ValueError: a rate of nothing is not zero, and the report
    should not show one (``enough_data`` says when to show figures at all). Degenerate cases:

    - Both rates 0 (or both 1): the pooled z is undefined; z is 0.0 and the p-value 1.0 (no
      evidence of a difference). A rate of 0 or 1 on both sides also makes the unpooled standard
      error 0, so the absolute interval collapses to the uplift itself, as statsmodels' does.
    - Control rate 0: relative uplift and interval are None (no ratio to a zero rate).
    - Variant conversions 0 (control above 0): relative uplift is -1.0 but the interval is None,
      because the log of a zero risk ratio is undefined.
    """
    from scipy import stats

    crit = _critical_z(confidence)
    kc, nc = _conversions("control", control_conversions, control_visitors)
    kv, nv = _conversions("variant", variant_conversions, variant_visitors)
    for side, n in (("control", nc), ("variant", nv)):
        if n == 0:
            raise ValueError(f"the {side} has no visitors: its conversion rate is undefined")
    pc, pv = kc / nc, kv / nv
    uplift = pv - pc
    half = crit * math.sqrt(pc * (1 - pc) / nc + pv * (1 - pv) / nv)

    relative = relative_ci = None
    if kc > 0:
        relative = uplift / pc
        if kv > 0:
            log_ratio = math.log(pv / pc)
            log_half = crit * math.sqrt(1 / kv - 1 / nv + 1 / kc - 1 / nc)
            relative_ci = (
                math.expm1(log_ratio - log_half),
                math.expm1(log_ratio + log_half),
            )

    pooled = (kc + kv) / (nc + nv)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nv))
    z = uplift / pooled_se if pooled_se > 0 else 0.0
    return ConversionComparison(
        control_rate=pc,
        variant_rate=pv,
        absolute_uplift=uplift,
        absolute_ci=(uplift - half, uplift + half),
        relative_uplift=relative,
        relative_ci=relative_ci,
        z=z,
        p_value=float(2 * stats.norm.sf(abs(z))),
        chance_to_beat=chance_to_beat(kc, nc, kv, nv),
    )


def chance_to_beat(
    control_conversions: int,
    control_visitors: int,
    variant_conversions: int,
    variant_visitors: int,
) -> float:
    """P(p_variant > p_control) with uniform priors, so Beta(1 + k, 1 + n - k) posteriors.

    Exact, by Evan Miller's closed form (https://www.evanmiller.org/bayesian-ab-testing.html):

        P(B > A) = sum over i < a_B of B(a_A + i, b_A + b_B) / ((b_B + i) B(1 + i, b_B) B(a_A, b_A))

    with each term taken in log space (``betaln``) so thousands of conversions do not overflow,
    and the terms summed as one numpy vector. The sum has a_B terms; by the symmetries
    P(B > A) = 1 - P(A > B) and P(B > A) = P(1 - B < 1 - A) it is rewritten to run over the
    smallest of the four posterior parameters, so its cost is the smallest count plus one.
    Zero visitors are allowed: that side's posterior is the uniform prior.
    """
    kc, nc = _conversions("control", control_conversions, control_visitors)
    kv, nv = _conversions("variant", variant_conversions, variant_visitors)
    a_c, b_c, a_v, b_v = 1 + kc, 1 + nc - kc, 1 + kv, 1 + nv - kv
    smallest = min(a_c, b_c, a_v, b_v)
    if smallest == a_v:
        p = _miller_sum(a_c, b_c, a_v, b_v)
    elif smallest == a_c:
        p = 1 - _miller_sum(a_v, b_v, a_c, b_c)
    elif smallest == b_c:  # P(1 - pc > 1 - pv), with 1 - p ~ Beta(b, a)
        p = _miller_sum(b_v, a_v, b_c, a_c)
    else:
        p = 1 - _miller_sum(b_c, a_c, b_v, a_v)
    return min(max(p, 0.0), 1.0)


def _miller_sum(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """P(X_B > X_A) for X ~ Beta(a, b) with integer a_b: a_b terms of Evan Miller's sum."""
    import numpy as np
    from scipy import special

    i = np.arange(a_b, dtype=float)
    log_terms = (
        special.betaln(a_a + i, b_a + b_b)
        - np.log(b_b + i)
        - special.betaln(1 + i, b_b)
        - special.betaln(a_a, b_a)
    )
    # Each term is part of a probability, so at most 1: exp cannot overflow.
    return float(np.exp(log_terms).sum())


@dataclass(frozen=True)
class Moments:
    """The count, sum and sum of squares of a per-visitor value (revenue), zeros included.

    ``total`` and ``total_squares`` are converted to float (a database may return Decimals).
    Sums that no set of ``n`` real values can have (a negative sum of squares, or
    ``total**2 > n * total_squares``) raise ValueError.
    """

    n: int
    total: float
    total_squares: float

    def __post_init__(self) -> None:
        n = _count("n", self.n)
        total, squares = float(self.total), float(self.total_squares)
        if not (math.isfinite(total) and math.isfinite(squares)):
            raise ValueError(f"the sums must be finite, got {total!r} and {squares!r}")
        if squares < 0:
            raise ValueError(f"a sum of squares can not be negative, got {squares!r}")
        # Cauchy-Schwarz, with room for the rounding of the sums.
        if total * total > n * squares * (1 + 1e-9) or (n == 0 and squares != 0):
            raise ValueError(
                f"no {n} values have sum {total!r} and sum of squares {squares!r}: "
                "the sums do not belong together"
            )
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "total", total)
        object.__setattr__(self, "total_squares", squares)

    @classmethod
    def of(cls, values: Sequence[float]) -> Moments:
        """The moments of the given values."""
        import numpy as np

        array = np.asarray(values, dtype=float)
        return cls(len(array), float(array.sum()), float((array * array).sum()))

    @property
    def mean(self) -> float:
        """The mean; ValueError when there are no values."""
        if self.n == 0:
            raise ValueError("the mean of no values is undefined")
        return self.total / self.n

    @property
    def variance(self) -> float:
        """The sample variance (ddof=1); ValueError with fewer than 2 values.

        Computed from the sums, so a remainder below the rounding of ``total_squares`` (values
        that are all equal) counts as exactly zero variance rather than as noise.
        """
        if self.n < 2:
            raise ValueError(f"the variance of {self.n} value(s) is undefined: it needs 2")
        spread = self.total_squares - self.total * self.total / self.n
        if spread <= 1e-12 * self.total_squares:
            return 0.0
        return spread / (self.n - 1)


@dataclass(frozen=True)
class MeanComparison:
    control_mean: float
    variant_mean: float
    difference: float  # variant - control
    ci: tuple[float, float]  # Welch interval of the difference
    t: float
    df: float  # Welch-Satterthwaite
    p_value: float  # two-sided Welch t-test


def compare_means(control: Moments, variant: Moments, confidence: float = 0.95) -> MeanComparison:
    """Welch's unequal-variance t-test and interval for the difference of two means.

    Fewer than 2 values on either side raise ValueError (no variance to estimate). When both
    variances are 0 the standard error is 0 and Welch's degrees of freedom are 0/0: df is then
    n_control + n_variant - 2 (Student's), the interval collapses to the difference, and the
    test is decided exactly: equal means give t = 0 and p = 1, different means t = +/-inf and
    p = 0 (every value on each side is the same, so the means are known without error).
    """
    from scipy import stats

    crit_share = _share(confidence)
    for side, moments in (("control", control), ("variant", variant)):
        if moments.n < 2:
            raise ValueError(
                f"the {side} has {moments.n} value(s): Welch's test needs at least 2 per side"
            )
    mc, mv = control.mean, variant.mean
    vc, vv = control.variance, variant.variance
    difference = mv - mc
    sc, sv = vc / control.n, vv / variant.n
    se = math.sqrt(sc + sv)
    if se == 0:
        t = 0.0 if difference == 0 else math.copysign(math.inf, difference)
        return MeanComparison(
            control_mean=mc,
            variant_mean=mv,
            difference=difference,
            ci=(difference, difference),
            t=t,
            df=float(control.n + variant.n - 2),
            p_value=1.0 if difference == 0 else 0.0,
        )
    df = (sc + sv) ** 2 / (sc**2 / (control.n - 1) + sv**2 / (variant.n - 1))
    result = stats.ttest_ind_from_stats(
        mv, math.sqrt(vv), variant.n, mc, math.sqrt(vc), control.n, equal_var=False
    )
    half = float(stats.t.ppf(0.5 + crit_share / 2, df)) * se
    return MeanComparison(
        control_mean=mc,
        variant_mean=mv,
        difference=difference,
        ci=(difference - half, difference + half),
        t=float(result.statistic),
        df=df,
        p_value=float(result.pvalue),
    )


@dataclass(frozen=True)
class SampleRatio:
    observed: tuple[int, ...]
    expected: tuple[float, ...]  # counts expected from the weights
    chi2: float
    p_value: float
    mismatch: bool  # p_value < SRM_ALPHA


def sample_ratio(observed: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Pearson's chi-square test of the exposures per variant against the variants' weights.

    The weights are normalised (0.5/0.5, 50/50 and 1/1 are the same split), so they only need
    to be finite, not negative and not all zero; there must be one per variant and at least two
    variants. Degenerate cases, which need no test:

    - No exposures at all: chi2 0.0, p-value 1.0, no mismatch (nothing observed yet).
    - Exposures on a variant of weight 0: chi2 inf, p-value 0.0, a mismatch (it can not happen
      when assignment follows the weights).
    - Only one variant of weight above 0 (and none elsewhere): chi2 0.0, p-value 1.0.
    Otherwise variants of weight 0 (with no exposures) are left out of the test's degrees of
    freedom.
    """
    import numpy as np
    from scipy import stats

    counts = tuple(_count(f"observed[{i}]", value) for i, value in enumerate(observed))
    shares = np.asarray(weights, dtype=float)
    if shares.ndim != 1 or len(shares) != len(counts):
        raise ValueError(f"{len(counts)} observed counts need as many weights, got {len(shares)}")
    if len(counts) < 2:
        raise ValueError("a sample ratio needs at least two variants")
    if not np.all(np.isfinite(shares)) or np.any(shares < 0) or shares.sum() == 0:
        raise ValueError(f"weights must be finite, not negative and not all 0, got {weights!r}")
    shares = shares / shares.sum()
    total = sum(counts)
    expected = tuple(float(total * share) for share in shares)
    counted = np.asarray(counts, dtype=float)
    in_test = shares > 0
    if total == 0:
        chi2, p_value = 0.0, 1.0
    elif np.any(counted[~in_test]):
        chi2, p_value = math.inf, 0.0
    elif np.count_nonzero(in_test) < 2:
        chi2, p_value = 0.0, 1.0
    else:
        result = stats.chisquare(counted[in_test], np.asarray(expected)[in_test])
        chi2, p_value = float(result.statistic), float(result.pvalue)
    return SampleRatio(counts, expected, chi2, p_value, p_value < SRM_ALPHA)


def proportion_interval(
    successes: int, trials: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval of a proportion (the chart's band around a cumulative rate).

    Zero trials raise ValueError: there is no proportion to bound.
    """
    from scipy import stats

    share = _share(confidence)
    k, n = _conversions("proportion", successes, trials)
    if n == 0:
        raise ValueError("no trials: the proportion is undefined")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=share, method="wilson")
    return (float(ci.low), float(ci.high))


def _count(name: str, value: Any) -> int:
    """A whole, non-negative count, from an int or an integral float or Decimal."""
    try:
        count = operator.index(value)
    except TypeError:
        if not (
            isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value)
        ):
            raise TypeError(f"{name} must be a whole number, got {value!r}") from None
        count = int(value)
    if count < 0:
        raise ValueError(f"{name} can not be negative, got {count}")
    return count


def _conversions(side: str, conversions: object, visitors: object) -> tuple[int, int]:
    k = _count(f"{side} conversions", conversions)
    n = _count(f"{side} visitors", visitors)
    if k > n:
        raise ValueError(f"the {side} has more conversions ({k}) than visitors ({n})")
    return k, n


def _share(confidence: float) -> float:
    if not (isinstance(confidence, int | float) and 0 < confidence < 1):
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return float(confidence)


def _critical_z(confidence: float) -> float:
    """The two-sided critical value of the standard normal for ``confidence``."""
    from scipy import stats

    return float(stats.norm.isf((1 - _share(confidence)) / 2))
