"""Independent reference values for DeLong's and McNemar's tests.

DeLong's variances are computed here straight from the definition of the structural components (every
positive-negative pair compared, O(m n)), not from the midrank formulation lilnet uses. McNemar's p-values come
from scipy.stats (binomtest, chi2). Reads {"delong": [...], "mcnemar": [...]} on stdin, writes JSON on stdout.
Run with Debian's /usr/bin/python3. Test oracle only.
"""
import json
import math
import sys

from scipy.stats import binomtest, chi2, norm


def psi(x, y):
    if x > y:
        return 1.0
    if x == y:
        return 0.5
    return 0.0


def components(positive, negative):
    v10 = [sum(psi(x, y) for y in negative) / len(negative) for x in positive]
    v01 = [sum(psi(x, y) for x in positive) / len(positive) for y in negative]
    return sum(v10) / len(v10), v10, v01


def covariance(a, b):
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    return sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b)) / (len(a) - 1)


def delong(case):
    labels, score_a, score_b = case["positive"], case["a"], case["b"]
    pos_a = [s for s, l in zip(score_a, labels) if l]
    neg_a = [s for s, l in zip(score_a, labels) if not l]
    pos_b = [s for s, l in zip(score_b, labels) if l]
    neg_b = [s for s, l in zip(score_b, labels) if not l]
    auc_a, v10_a, v01_a = components(pos_a, neg_a)
    auc_b, v10_b, v01_b = components(pos_b, neg_b)
    m, n = len(pos_a), len(neg_a)
    var_a = covariance(v10_a, v10_a) / m + covariance(v01_a, v01_a) / n
    var_b = covariance(v10_b, v10_b) / m + covariance(v01_b, v01_b) / n
    cov = covariance(v10_a, v10_b) / m + covariance(v01_a, v01_b) / n
    se = math.sqrt(max(0.0, var_a + var_b - 2 * cov))
    z = (auc_a - auc_b) / se if se > 0 else None
    p = 2 * norm.sf(abs(z)) if z is not None else 1.0
    return {"auc_a": auc_a, "auc_b": auc_b, "var_a": var_a, "var_b": var_b, "cov": cov, "se": se, "z": z, "p": p}


def mcnemar(case):
    b, c = case["b"], case["c"]
    if b + c < 25:
        p = 1.0 if b + c == 0 else binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue
        return {"method": "exact-binomial", "p": min(1.0, p), "statistic": None}
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return {"method": "chi-square-continuity-corrected", "p": chi2.sf(statistic, 1), "statistic": statistic}


def main():
    request = json.load(sys.stdin)
    json.dump(
        {
            "delong": [delong(case) for case in request.get("delong", [])],
            "mcnemar": [mcnemar(case) for case in request.get("mcnemar", [])],
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
