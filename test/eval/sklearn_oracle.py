"""Independent reference values for the evaluation tests, computed with scikit-learn and scipy.

Reads a JSON request on stdin: {"files": [{"path", "auc_score", "label_source"}, ...]} and writes one JSON
document with, per request, the metrics that lilnet eval reports. Run with Debian's /usr/bin/python3, which has
python3-sklearn. Test oracle only: lilnet never runs this at run time.
"""
import csv
import json
import sys

import numpy as np
from scipy.special import softmax
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)


def read(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    classes = sum(1 for name in rows[0] if name.startswith("logit_"))
    logits = np.array([[float(row[f"logit_{k}"]) for k in range(classes)] for row in rows])
    labels = np.array([int(row["label"]) for row in rows])
    recorded = np.array([int(row["pred_label"]) for row in rows]) if "pred_label" in rows[0] else None
    return logits, labels, recorded


def evaluate(request):
    logits, labels, recorded = read(request["path"])
    classes = logits.shape[1]
    all_labels = list(range(classes))
    scores = logits if request["auc_score"] == "logits" else softmax(logits, axis=1)
    predictions = recorded if request["label_source"] == "recorded" else logits.argmax(axis=1)

    auc_per_class, curves, youden = [], [], []
    for k in all_labels:
        positive = labels == k
        auc_per_class.append(float(roc_auc_score(positive, scores[:, k])))
        fpr, tpr, thresholds = roc_curve(positive, scores[:, k])
        curves.append({"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thresholds[1:].tolist()})
        best = int(np.argmax(tpr - fpr))
        youden.append({"threshold": float(thresholds[best]), "sensitivity": float(tpr[best]), "specificity": float(1 - fpr[best])})
    support = np.bincount(labels, minlength=classes)

    result = {
        "accuracy": accuracy_score(labels, predictions),
        "auc_per_class": auc_per_class,
        "auc_macro": float(np.mean(auc_per_class)),
        "auc_weighted": float(np.average(auc_per_class, weights=support)),
        "confusion_matrix": confusion_matrix(labels, predictions, labels=all_labels).tolist(),
        "roc_curves": curves,
        "youden": youden,
    }
    for name, function in (("recall", recall_score), ("precision", precision_score), ("f1", f1_score)):
        for average in ("macro", "weighted"):
            result[f"{name}_{average}"] = float(
                function(labels, predictions, labels=all_labels, average=average, zero_division=0)
            )
        result[f"{name}_per_class"] = function(labels, predictions, labels=all_labels, average=None, zero_division=0).tolist()
    if request["auc_score"] == "probabilities" and classes == 2:
        result["auc_binary"] = float(roc_auc_score(labels, scores[:, 1]))
    if request["auc_score"] == "probabilities" and classes > 2:
        result["auc_ovr_macro"] = float(roc_auc_score(labels, scores, multi_class="ovr", average="macro"))
        result["auc_ovr_weighted"] = float(roc_auc_score(labels, scores, multi_class="ovr", average="weighted"))
    if classes == 2:
        tn, fp, fn, tp = confusion_matrix(labels, predictions, labels=all_labels).ravel()
        result.update(sensitivity=tp / (tp + fn), specificity=tn / (tn + fp), ppv=tp / (tp + fp), npv=tn / (tn + fn))
    return {key: (float(value) if isinstance(value, np.floating) else value) for key, value in result.items()}


def main():
    request = json.load(sys.stdin)
    json.dump([evaluate(item) for item in request["files"]], sys.stdout)


if __name__ == "__main__":
    main()
