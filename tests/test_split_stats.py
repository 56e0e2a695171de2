"""The split-test statistics, each figure checked against an independent reference.

References: statsmodels (a test dependency only) for the z-test, the intervals and Welch's
test; numerical integration (scipy.integrate.quad) for the chance to beat the control, which
the code computes in closed form; and worked examples published with their figures.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from scipy import integrate, stats
from statsmodels.stats import gof
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from dynamic.split_tests.stats import (
    MIN_CONVERSIONS,
    MIN_EXPOSURES,
    SRM_ALPHA,
    Moments,
    chance_to_beat,
    compare_conversion,
    compare_means,
    enough_data,
    proportion_interval,
    sample_ratio,
)


def close(reference: float, rel: float = 1e-6):
    """Equal to the reference to a relative 1e-6 (absolutely, below 1e-12)."""
    return pytest.approx(reference, rel=rel, abs=1e-12)


# -- enough data ---------------------------------------------------------------------------------


def test_thresholds_are_the_documented_ones() -> None:
    assert (MIN_EXPOSURES, MIN_CONVERSIONS) == (30, 5)


@pytest.mark.parametrize(
    ("exposures", "conversions", "enough"),
    [
        (30, 5, True),
        (29, 5, False),
        (30, 4, False),
        (29, 4, False),
        (0, 0, False),
        (10_000, 600, True),
        (10_000, 4, False),
        (Decimal(30), 5.0, True),  # what PostgreSQL's SUM and a float column give
    ],
)
def test_enough_data_at_and_below_the_thresholds(
    exposures: int, conversions: int, enough: bool
) -> None:
    assert enough_data(exposures, conversions) is enough


@pytest.mark.parametrize(
    ("exposures", "conversions", "error", "message"),
    [
        (-1, 5, ValueError, "exposures can not be negative"),
        (30, -5, ValueError, "conversions can not be negative"),
        (30.5, 5, TypeError, "exposures must be a whole number"),
        (30, float("nan"), TypeError, "conversions must be a whole number"),
        ("30", 5, TypeError, "exposures must be a whole number"),
    ],
)
def test_enough_data_rejects_what_is_not_a_count(
    exposures: object, conversions: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        enough_data(exposures, conversions)  # type: ignore[arg-type]


# -- conversion rates ----------------------------------------------------------------------------

#: (control conversions, control visitors, variant conversions, variant visitors, confidence)
CONVERSION_FIXTURES = [
    (20, 219, 30, 229, 0.95),
    (480, 10_000, 560, 10_050, 0.95),  # a winner
    (612, 12_000, 540, 11_800, 0.95),  # a loser
    (5, 30, 9, 31, 0.95),  # at the thresholds
    (1_203, 24_117, 1_288, 23_960, 0.90),
    (14_000, 20_000, 14_150, 20_000, 0.99),  # high rates: the failure side is smaller
    (0, 400, 7, 410, 0.95),  # control never converted
]


@pytest.mark.parametrize(("kc", "nc", "kv", "nv", "confidence"), CONVERSION_FIXTURES)
def test_conversion_figures_match_statsmodels(
    kc: int, nc: int, kv: int, nv: int, confidence: float
) -> None:
    result = compare_conversion(kc, nc, kv, nv, confidence=confidence)
    alpha = 1 - confidence

    assert result.control_rate == kc / nc
    assert result.variant_rate == kv / nv
    assert result.absolute_uplift == close(kv / nv - kc / nc)

    z, p = proportions_ztest([kv, kc], [nv, nc])  # pooled, two-sided, variant minus control
    assert result.z == close(z)
    assert result.p_value == close(p)

    low, high = confint_proportions_2indep(
        kv, nv, kc, nc, compare="diff", method="wald", alpha=alpha
    )
    assert result.absolute_ci == (close(low), close(high))

    if kc == 0:
        assert result.relative_uplift is None
        assert result.relative_ci is None
    else:
        assert result.relative_uplift == close((kv / nv) / (kc / nc) - 1)
        low, high = confint_proportions_2indep(
            kv, nv, kc, nc, compare="ratio", method="log", alpha=alpha
        )
        assert result.relative_ci == (close(low - 1), close(high - 1))

    assert result.chance_to_beat == close(integrated_chance(kc, nc, kv, nv))
    assert result.chance_to_beat == chance_to_beat(kc, nc, kv, nv)


def test_a_narrower_confidence_gives_narrower_intervals_and_the_same_test() -> None:
    wide = compare_conversion(480, 10_000, 560, 10_050, confidence=0.99)
    narrow = compare_conversion(480, 10_000, 560, 10_050, confidence=0.80)
    assert wide.absolute_ci[0] < narrow.absolute_ci[0] < narrow.absolute_ci[1] < wide.absolute_ci[1]
    assert wide.relative_ci and narrow.relative_ci
    assert wide.relative_ci[0] < narrow.relative_ci[0] < narrow.relative_ci[1] < wide.relative_ci[1]
    assert (wide.z, wide.p_value, wide.chance_to_beat) == (
        narrow.z,
        narrow.p_value,
        narrow.chance_to_beat,
    )


def test_unpooled_interval_of_a_published_example() -> None:
    # Time magazine's 1994 telephone poll (a textbook exercise, Hogg & Tanis): 351 of 605
    # smokers and 41 of 195 nonsmokers favoured a cigarette tax. The worked solution at
    # https://homeworksource.com/p/1085734/time-april-18-1994-reported-the-results-of-a-telephone-poll
    # prints the unpooled 95% interval of the difference as (0.30049924, 0.439318518).
    result = compare_conversion(41, 195, 351, 605)
    assert result.absolute_ci == (
        pytest.approx(0.30049924, abs=1e-8),
        pytest.approx(0.439318518, abs=1e-9),
    )


def test_pooled_z_of_a_published_example() -> None:
    # 140 of 200 against 255 of 340: the worked solution at
    # https://homeworksource.com/p/1008622/find-the-test-statistic-z-for-the-following-situation-claim
    # prints the pooled z as -1.266015. (Its p-value, 0.1030278, is one-sided from Student's t
    # with 538 df, not the normal, so it is not this test's; statsmodels checks ours above.)
    result = compare_conversion(255, 340, 140, 200)
    assert result.z == pytest.approx(-1.266015, abs=1e-6)


def test_no_conversions_anywhere() -> None:
    # The pooled z is 0/0: documented as z 0 and p-value 1 (no evidence of a difference).
    result = compare_conversion(0, 500, 0, 480)
    assert (result.control_rate, result.variant_rate, result.absolute_uplift) == (0, 0, 0)
    assert (result.z, result.p_value) == (0.0, 1.0)
    assert result.absolute_ci == (0.0, 0.0)
    assert result.absolute_ci == tuple(
        confint_proportions_2indep(0, 480, 0, 500, compare="diff", method="wald")
    )
    assert result.relative_uplift is None
    assert result.relative_ci is None
    assert result.chance_to_beat == close(integrated_chance(0, 500, 0, 480))


def test_everyone_converted_everywhere() -> None:
    result = compare_conversion(500, 500, 480, 480)
    assert (result.z, result.p_value) == (0.0, 1.0)
    assert result.absolute_ci == (0.0, 0.0)
    assert result.relative_uplift == 0.0
    low, high = confint_proportions_2indep(480, 480, 500, 500, compare="ratio", method="log")
    assert result.relative_ci == (0.0, 0.0) == (low - 1, high - 1)


def test_variant_never_converted() -> None:
    # The log of a zero risk ratio is undefined: the uplift is -100% but has no interval.
    result = compare_conversion(12, 400, 0, 410)
    assert result.relative_uplift == -1.0
    assert result.relative_ci is None
    z, p = proportions_ztest([0, 12], [410, 400])
    assert (result.z, result.p_value) == (close(z), close(p))
    low, high = confint_proportions_2indep(0, 410, 12, 400, compare="diff", method="wald")
    assert result.absolute_ci == (close(low), close(high))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 0, 5, 100), "the control has no visitors"),
        ((5, 100, 0, 0), "the variant has no visitors"),
        ((11, 10, 5, 100), r"the control has more conversions \(11\) than visitors \(10\)"),
        ((5, 100, 101, 100), r"the variant has more conversions \(101\) than visitors \(100\)"),
        ((-1, 100, 5, 100), "control conversions can not be negative"),
        ((5, -100, 5, 100), "control visitors can not be negative"),
        ((5, 100, -5, 100), "variant conversions can not be negative"),
        ((5, 100, 5, -1), "variant visitors can not be negative"),
    ],
)
def test_compare_conversion_rejects_impossible_counts(
    args: tuple[int, int, int, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compare_conversion(*args)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.2, 95, float("nan"), True])
def test_confidence_must_be_a_share(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        compare_conversion(5, 100, 6, 100, confidence=confidence)
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        compare_means(Moments.of([1, 2]), Moments.of([1, 3]), confidence=confidence)
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        proportion_interval(5, 100, confidence=confidence)


# -- chance to beat the control ------------------------------------------------------------------


def integrated_chance(kc: int, nc: int, kv: int, nv: int) -> float:
    """P(p_variant > p_control) by quadrature of f_variant(x) * F_control(x) over [0, 1].

    The posteriors of large counts are narrow spikes, so the integral runs over where either
    has mass (beyond 1e-14 of each tail, far below the 1e-6 the tests ask) with both means
    given to quad as points to look at.
    """
    control = stats.beta(1 + kc, 1 + nc - kc)
    variant = stats.beta(1 + kv, 1 + nv - kv)
    low = min(control.ppf(1e-14), variant.ppf(1e-14))
    high = max(control.isf(1e-14), variant.isf(1e-14))
    value, error = integrate.quad(
        lambda x: variant.pdf(x) * control.cdf(x),
        low,
        high,
        points=[control.mean(), variant.mean()],
        epsabs=1e-13,
        epsrel=1e-12,
        limit=500,
    )
    assert error < 1e-10
    return value


@pytest.mark.parametrize(
    ("kc", "nc", "kv", "nv"),
    [
        (1_000, 20_000, 1_080, 20_000),  # variant conversions fewest: the sum as published
        (1_080, 20_000, 1_000, 20_000),  # control conversions fewest: 1 - P(control wins)
        (19_000, 20_000, 19_050, 20_000),  # control failures fewest: the mirrored sum
        (19_050, 20_000, 19_000, 20_000),  # variant failures fewest: 1 - the mirrored sum
        (3, 45_000, 11, 44_000),
        (0, 0, 0, 0),  # no data: both posteriors uniform
        (0, 1, 1, 1),
        (7, 7, 0, 12),
        (500_000, 1_000_000, 501_000, 1_000_000),  # no overflow with a million visitors
    ],
)
def test_chance_to_beat_matches_numerical_integration(kc: int, nc: int, kv: int, nv: int) -> None:
    assert chance_to_beat(kc, nc, kv, nv) == pytest.approx(
        integrated_chance(kc, nc, kv, nv), abs=1e-9
    )


def test_chance_to_beat_of_a_published_example() -> None:
    # Evan Miller's formula evaluated in https://notebook.community/sharnett/AB-testing/evan_miller_formula
    # for Beta(21, 200) against Beta(31, 200) (20 of 219 against 30 of 229): 0.906704245199.
    assert chance_to_beat(20, 219, 30, 229) == pytest.approx(0.906704245199, abs=1e-12)


@pytest.mark.parametrize(
    ("kc", "nc", "kv", "nv", "exact"),
    [
        # Worked by hand: control ~ Beta(1, 2), variant ~ Beta(2, 1):
        # integral of 2x * (1 - (1 - x)^2) dx over [0, 1] = 4/3 - 1/2.
        (0, 1, 1, 1, 5 / 6),
        # Variant ~ Beta(1, 1) uniform, so P = E[1 - p_control] = 1 - 1/3.
        (0, 1, 0, 0, 2 / 3),
        (0, 0, 0, 0, 1 / 2),
    ],
)
def test_chance_to_beat_of_small_exact_cases(
    kc: int, nc: int, kv: int, nv: int, exact: float
) -> None:
    assert chance_to_beat(kc, nc, kv, nv) == pytest.approx(exact, abs=1e-15)


@pytest.mark.parametrize(
    ("kc", "nc", "kv", "nv"),
    [(40, 1_000, 55, 1_000), (9_000, 10_000, 8_950, 10_100), (0, 50, 3, 60), (12, 12, 30, 31)],
)
def test_chance_to_beat_is_complementary_and_even_for_equal_data(
    kc: int, nc: int, kv: int, nv: int
) -> None:
    assert chance_to_beat(kc, nc, kv, nv) + chance_to_beat(kv, nv, kc, nc) == pytest.approx(
        1, abs=1e-9
    )
    assert chance_to_beat(kc, nc, kc, nc) == pytest.approx(0.5, abs=1e-9)


def test_chance_to_beat_is_a_probability_at_the_extremes() -> None:
    assert chance_to_beat(5, 40_000, 30_000, 40_000) == 1.0
    assert chance_to_beat(39_990, 40_000, 12, 40_000) == 0.0


def test_chance_to_beat_allows_no_visitors_but_not_impossible_counts() -> None:
    with pytest.raises(ValueError, match="the variant has more conversions"):
        chance_to_beat(1, 10, 3, 2)
    with pytest.raises(ValueError, match="control visitors can not be negative"):
        chance_to_beat(0, -1, 3, 20)


# -- means (revenue per visitor) -----------------------------------------------------------------


def revenue(visitors: int, payments: dict[float, int]) -> np.ndarray:
    """Per-visitor revenue: ``payments`` maps an amount to how many visitors paid it."""
    paid = [amount for amount, count in payments.items() for _ in range(count)]
    return np.array(paid + [0.0] * (visitors - len(paid)))


def values_with(n: int, mean: float, variance: float) -> np.ndarray:
    """``n`` values with exactly this mean and sample variance: two of them spread around it."""
    spread = math.sqrt(variance * (n - 1) / 2)
    return np.array([mean + spread, mean - spread] + [mean] * (n - 2))


#: (control values, variant values, confidence)
MEAN_FIXTURES = [
    (revenue(1_000, {29.0: 40, 99.0: 10}), revenue(980, {29.0: 52, 99.0: 6}), 0.95),
    (revenue(5_000, {19.0: 150}), revenue(5_100, {19.0: 190, 190.0: 3}), 0.95),
    (revenue(40, {49.0: 3}), revenue(31, {49.0: 1, 490.0: 1}), 0.90),
    (values_with(250, 3.2, 81.0), values_with(400, 4.1, 144.0), 0.95),
    (values_with(2, 10.0, 2.0), values_with(3, 14.0, 50.0), 0.99),  # the fewest values allowed
    (revenue(300, {}), revenue(320, {25.0: 9}), 0.95),  # nobody paid in the control
]


@pytest.mark.parametrize(("control", "variant", "confidence"), MEAN_FIXTURES)
def test_welch_figures_match_statsmodels(
    control: np.ndarray, variant: np.ndarray, confidence: float
) -> None:
    control_moments, variant_moments = Moments.of(control), Moments.of(variant)
    assert control_moments.n == len(control)
    assert control_moments.mean == close(control.mean())
    assert control_moments.variance == close(control.var(ddof=1))

    result = compare_means(control_moments, variant_moments, confidence=confidence)
    compared = CompareMeans(DescrStatsW(variant), DescrStatsW(control))
    t, p, df = compared.ttest_ind(usevar="unequal")
    low, high = compared.tconfint_diff(alpha=1 - confidence, usevar="unequal")

    assert result.control_mean == close(control.mean())
    assert result.variant_mean == close(variant.mean())
    assert result.difference == close(variant.mean() - control.mean())
    assert result.t == close(t)
    assert result.df == close(df)
    assert result.p_value == close(p)
    assert result.ci == (close(low), close(high))


def test_values_built_to_have_given_moments_have_them() -> None:
    values = values_with(250, 3.2, 81.0)
    assert (values.mean(), values.var(ddof=1)) == (close(3.2), close(81.0))


def test_moments_from_database_sums() -> None:
    moments = Moments(n=4, total=Decimal("58.00"), total_squares=Decimal("1682.00"))
    assert (moments.total, moments.total_squares) == (58.0, 1682.0)
    assert isinstance(moments.total, float)
    assert moments.mean == 14.5
    assert moments.variance == close(np.var([29, 29, 0, 0], ddof=1))


def test_equal_values_have_exactly_zero_variance() -> None:
    # 0.1 is not a binary fraction: sum and sum of squares round, the variance must not.
    assert Moments.of([0.1] * 7).variance == 0.0
    assert Moments.of([29.99] * 1_000).variance == 0.0
    assert Moments.of([0.0, 0.0]).variance == 0.0


@pytest.mark.parametrize(
    ("n", "total", "squares", "message"),
    [
        (-1, 0.0, 0.0, "n can not be negative"),
        (3, 5.0, -1.0, "a sum of squares can not be negative"),
        (3, 30.0, 100.0, "the sums do not belong together"),  # 900 > 3 * 100
        (0, 0.0, 4.0, "the sums do not belong together"),
        (0, 2.0, 4.0, "the sums do not belong together"),
        (3, float("nan"), 4.0, "the sums must be finite"),
        (3, 2.0, float("inf"), "the sums must be finite"),
    ],
)
def test_impossible_moments_are_refused(n: int, total: float, squares: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Moments(n, total, squares)


def test_mean_and_variance_of_too_few_values() -> None:
    with pytest.raises(ValueError, match="the mean of no values is undefined"):
        _ = Moments(0, 0.0, 0.0).mean
    with pytest.raises(ValueError, match="the variance of 1 value"):
        _ = Moments.of([3.0]).variance
    assert Moments.of([3.0]).mean == 3.0


@pytest.mark.parametrize(
    ("control", "variant", "side"),
    [([5.0], [1.0, 2.0], "control has 1 value"), ([1.0, 2.0], [], "variant has 0 value")],
)
def test_welch_needs_two_values_per_side(
    control: list[float], variant: list[float], side: str
) -> None:
    with pytest.raises(ValueError, match=f"the {side}\\(s\\): Welch's test needs at least 2"):
        compare_means(Moments.of(control), Moments.of(variant))


def test_welch_without_variance_on_either_side_and_equal_means() -> None:
    # Nobody paid anywhere: documented as no difference, t 0 and p-value 1.
    result = compare_means(Moments.of(revenue(400, {})), Moments.of(revenue(350, {})))
    assert (result.difference, result.t, result.p_value) == (0.0, 0.0, 1.0)
    assert result.ci == (0.0, 0.0)
    assert result.df == 400 + 350 - 2


@pytest.mark.parametrize(("control", "variant", "sign"), [(9.0, 12.0, 1), (12.0, 9.0, -1)])
def test_welch_without_variance_on_either_side_and_different_means(
    control: float, variant: float, sign: int
) -> None:
    result = compare_means(Moments.of([control] * 30), Moments.of([variant] * 40))
    assert result.difference == variant - control
    assert result.t == sign * math.inf
    assert result.p_value == 0.0
    assert result.ci == (variant - control, variant - control)
    assert result.df == 68


def test_welch_without_variance_on_one_side() -> None:
    control, variant = revenue(60, {}), revenue(70, {25.0: 8, 60.0: 2})
    result = compare_means(Moments.of(control), Moments.of(variant))
    compared = CompareMeans(DescrStatsW(variant), DescrStatsW(control))
    t, p, df = compared.ttest_ind(usevar="unequal")
    assert result.df == close(df) == close(69)  # all the uncertainty is the variant's
    assert (result.t, result.p_value) == (close(t), close(p))
    low, high = compared.tconfint_diff(usevar="unequal")
    assert result.ci == (close(low), close(high))


# -- sample ratio --------------------------------------------------------------------------------


def assert_chisquare_matches(result, observed: list[int], expected: list[float]) -> None:
    chi2, p = gof.chisquare(observed, expected)  # statsmodels' own implementation
    assert result.chi2 == close(chi2)
    assert result.p_value == close(p)
    by_scipy = stats.chisquare(observed, expected)
    assert (result.chi2, result.p_value) == (close(by_scipy.statistic), close(by_scipy.pvalue))
    by_hand = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    assert result.chi2 == close(by_hand)
    assert result.mismatch is (result.p_value < SRM_ALPHA)


@pytest.mark.parametrize(
    ("observed", "weights", "expected", "mismatch"),
    [
        ([5_000, 4_600], [0.5, 0.5], [4_800.0, 4_800.0], True),
        ([5_000, 4_950], [0.5, 0.5], [4_975.0, 4_975.0], False),
        ([1_800, 8_200], [0.2, 0.8], [2_000.0, 8_000.0], True),
        ([1_980, 8_020], [0.2, 0.8], [2_000.0, 8_000.0], False),
        ([2_000, 8_400], [0.2, 0.8], [2_080.0, 8_320.0], False),  # p 0.05: suspicious, not SRM
        ([3_300, 3_350, 3_050], [1 / 3, 1 / 3, 1 / 3], [3_233.33, 3_233.33, 3_233.33], True),
        ([3_300, 3_250, 3_200], [1 / 3, 1 / 3, 1 / 3], [3_250.0, 3_250.0, 3_250.0], False),
    ],
)
def test_sample_ratio_mismatch(
    observed: list[int], weights: list[float], expected: list[float], mismatch: bool
) -> None:
    result = sample_ratio(observed, weights)
    assert result.observed == tuple(observed)
    assert result.expected == pytest.approx(tuple(expected), abs=0.01)
    assert result.mismatch is mismatch
    assert_chisquare_matches(result, observed, list(result.expected))


def test_srm_threshold() -> None:
    assert SRM_ALPHA == 0.001
    assert sample_ratio([5_000, 4_600], [0.5, 0.5]).p_value == close(4.4557090604e-05, rel=1e-9)


@pytest.mark.parametrize(
    ("weights", "shares"),
    [
        ([50, 50], [0.5, 0.5]),
        ([1, 1], [0.5, 0.5]),
        ([1, 3], [0.25, 0.75]),
        ((0.2, 0.8), [0.2, 0.8]),
    ],
)
def test_weights_are_normalised(weights: list[float], shares: list[float]) -> None:
    assert sample_ratio([2_600, 7_400], weights) == sample_ratio([2_600, 7_400], shares)


def test_no_exposures_yet() -> None:
    result = sample_ratio([0, 0], [0.5, 0.5])
    assert result.expected == (0.0, 0.0)
    assert (result.chi2, result.p_value, result.mismatch) == (0.0, 1.0, False)


def test_a_variant_of_weight_zero_without_exposures_is_left_out() -> None:
    result = sample_ratio([1_800, 8_200, 0], [0.2, 0.8, 0.0])
    assert result.expected == (2_000.0, 8_000.0, 0.0)
    assert_chisquare_matches(result, [1_800, 8_200], [2_000.0, 8_000.0])  # one degree of freedom


def test_exposures_on_a_variant_of_weight_zero_are_a_mismatch() -> None:
    result = sample_ratio([5_000, 4_990, 3], [0.5, 0.5, 0.0])
    assert (result.chi2, result.p_value, result.mismatch) == (math.inf, 0.0, True)


def test_all_weight_on_one_variant() -> None:
    result = sample_ratio([0, 900], [0.0, 1.0])
    assert result.expected == (0.0, 900.0)
    assert (result.chi2, result.p_value, result.mismatch) == (0.0, 1.0, False)
    assert sample_ratio([1, 900], [0.0, 1.0]).mismatch is True


@pytest.mark.parametrize(
    ("observed", "weights", "error", "message"),
    [
        ([100, 90], [0.5, 0.3, 0.2], ValueError, "2 observed counts need as many weights, got 3"),
        ([100], [1.0], ValueError, "at least two variants"),
        ([], [], ValueError, "at least two variants"),
        ([100, 90], [0.5, -0.5], ValueError, "not negative"),
        ([100, 90], [0, 0], ValueError, "not all 0"),
        ([100, 90], [0.5, float("nan")], ValueError, "finite"),
        ([100, -90], [0.5, 0.5], ValueError, r"observed\[1\] can not be negative"),
        ([100, 90.5], [0.5, 0.5], TypeError, r"observed\[1\] must be a whole number"),
    ],
)
def test_sample_ratio_rejects_bad_input(
    observed: list[int], weights: list[float], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        sample_ratio(observed, weights)


# -- the chart's band ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "trials", "confidence"),
    [
        (0, 10, 0.95),
        (10, 10, 0.95),
        (1, 1, 0.95),
        (48, 1_000, 0.95),
        (3, 31, 0.9),
        (7_300, 91_000, 0.99),
    ],
)
def test_wilson_interval_matches_statsmodels(
    successes: int, trials: int, confidence: float
) -> None:
    low, high = proportion_interval(successes, trials, confidence=confidence)
    ref_low, ref_high = proportion_confint(successes, trials, alpha=1 - confidence, method="wilson")
    assert (low, high) == (close(ref_low), close(ref_high))
    assert 0.0 <= low <= successes / trials <= high <= 1.0


@pytest.mark.parametrize(
    ("successes", "trials", "message"),
    [
        (0, 0, "no trials: the proportion is undefined"),
        (5, 4, r"more conversions \(5\) than visitors \(4\)"),
        (-1, 4, "can not be negative"),
    ],
)
def test_wilson_interval_rejects_impossible_counts(
    successes: int, trials: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        proportion_interval(successes, trials)
