"""Independent reference values for DeLong's and McNemar's tests, and the macro-AUC DeLong test.

DeLong's variances are computed here straight from the definition of the structural components (every
positive-negative pair compared, O(m n)), not from the midrank formulation lilnet uses. McNemar's p-values come
from scipy.stats (binomtest, chi2). Reads {"delong": [...], "mcnemar": [...]} on stdin, writes JSON on stdout.
Run with Debian's /usr/bin/python3. Test oracle only.
"""
import json
import math
import sys

from scipy.stats import binomtest, chi2, chi2_contingency, norm


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


def macro_placements(scores, labels, classes):
    """Combined placement value per patient, from pairwise comparisons (no ranks)."""
    total = len(labels)
    sizes = [labels.count(c) for c in range(classes)]
    phi = [0.0] * total
    aucs = []
    for c in range(classes):
        positives = [p for p in range(total) if labels[p] == c]
        negatives = [p for p in range(total) if labels[p] != c]
        for p in positives:
            phi[p] += sum(psi(scores[p][c], scores[q][c]) for q in negatives) / len(negatives) / classes
        for q in negatives:
            v01 = sum(psi(scores[p][c], scores[q][c]) for p in positives) / len(positives)
            phi[q] += sizes[labels[q]] / len(negatives) * v01 / classes
        aucs.append(
            sum(psi(scores[p][c], scores[q][c]) for p in positives for q in negatives) / (len(positives) * len(negatives))
        )
    return phi, sum(aucs) / classes


def stratified_variance(values, labels, classes):
    total = 0.0
    for c in range(classes):
        members = [v for v, l in zip(values, labels) if l == c]
        mean = sum(members) / len(members)
        total += sum((v - mean) ** 2 for v in members) / (len(members) - 1) / len(members)
    return total


def two_class_mean_variance(scores, labels):
    """DeLong's covariance matrix of the two column AUCs of a two-class model, then Var((A0 + A1) / 2)."""
    group0 = [p for p in range(len(labels)) if labels[p] == 0]
    group1 = [p for p in range(len(labels)) if labels[p] == 1]
    # Column 0 (class 0 positive): placements of class-0 patients (V10) and class-1 patients (V01).
    v10_0 = [sum(psi(scores[x][0], scores[y][0]) for y in group1) / len(group1) for x in group0]
    v01_0 = [sum(psi(scores[x][0], scores[y][0]) for x in group0) / len(group0) for y in group1]
    # Column 1 (class 1 positive): placements of class-1 patients (V10) and class-0 patients (V01).
    v10_1 = [sum(psi(scores[y][1], scores[x][1]) for x in group0) / len(group0) for y in group1]
    v01_1 = [sum(psi(scores[y][1], scores[x][1]) for y in group1) / len(group1) for x in group0]
    var0 = covariance(v10_0, v10_0) / len(group0) + covariance(v01_0, v01_0) / len(group1)
    var1 = covariance(v10_1, v10_1) / len(group1) + covariance(v01_1, v01_1) / len(group0)
    cov01 = covariance(v10_0, v01_1) / len(group0) + covariance(v01_0, v10_1) / len(group1)
    return (var0 + var1 + 2 * cov01) / 4


def delong_macro(case):
    labels, classes = case["labels"], case["classes"]
    phi_a, auc_a = macro_placements(case["a"], labels, classes)
    phi_b, auc_b = macro_placements(case["b"], labels, classes)
    se = math.sqrt(stratified_variance([x - y for x, y in zip(phi_a, phi_b)], labels, classes))
    result = {
        "auc_a": auc_a,
        "auc_b": auc_b,
        "var_a": stratified_variance(phi_a, labels, classes),
        "se": se,
        "p": 2 * norm.sf(abs((auc_a - auc_b) / se)),
    }
    if classes == 2:
        result["var_a_two_class"] = two_class_mean_variance(case["a"], labels)
    return result


def mcnemar(case):
    b, c = case["b"], case["c"]
    if b + c < 25:
        p = 1.0 if b + c == 0 else binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue
        return {"method": "exact-binomial", "p": min(1.0, p), "statistic": None}
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return {"method": "chi-square-continuity-corrected", "p": chi2.sf(statistic, 1), "statistic": statistic}


def two_proportion(case):
    """Pearson's chi-square test of the 2 x 2 table without continuity correction."""
    table = [[case["xa"], case["na"] - case["xa"]], [case["xb"], case["nb"] - case["xb"]]]
    return {"p": chi2_contingency(table, correction=False)[1]}


def main():
    request = json.load(sys.stdin)
    json.dump(
        {
            "delong": [delong(case) for case in request.get("delong", [])],
            "mcnemar": [mcnemar(case) for case in request.get("mcnemar", [])],
            "delong_macro": [delong_macro(case) for case in request.get("delong_macro", [])],
            "two_proportion": [two_proportion(case) for case in request.get("two_proportion", [])],
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
