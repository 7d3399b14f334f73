#!/usr/bin/env python3
"""Builds podium's bundled mini benchmark from datasets shipped inside scikit-learn (no network).

Layout, like an mle-bench checkout plus its prepared data:
  benchmark/mini/experiments/splits/mini.txt
  benchmark/mini/mlebench/competitions/<id>/{config.yaml,description.md,leaderboard.csv}
  benchmark/mini-data/<id>/prepared/public/{train.csv,test.csv,sample_submission.csv,description.md}
  benchmark/mini-data/<id>/prepared/private/test.csv

Each leaderboard.csv is the test-set score of a documented population of reference models: many
settings of several model families, each also trained on a subsample of the training rows and on a
subset of the features (the way Kaggle teams differ in effort). Scores use the same metric
definitions as podium's native graders (sklearn's). Run: python3 scripts/make-mini-benchmark.py
Needs scikit-learn and numpy; the output is committed, so the demo needs no Python.
"""
import itertools
import os
import sys

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.metrics import roc_auc_score, accuracy_score, log_loss, mean_squared_error
from sklearn.linear_model import LogisticRegression, Ridge, Lasso
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor, GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.naive_bayes import GaussianNB
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmark")
SEED = 20261127

COMPETITIONS = [
    dict(id="breast-cancer-diagnosis", name="Breast Cancer Diagnosis", loader=datasets.load_breast_cancer,
         task="binary", target="diagnosis", metric="auc-roc", lower=False,
         about="Predict the probability that a breast mass is benign (1) from 30 features of a digitized fine needle aspirate (Wisconsin Diagnostic Breast Cancer data)."),
    dict(id="handwritten-digits", name="Handwritten Digits", loader=datasets.load_digits,
         task="multiclass-label", target="label", metric="accuracy", lower=False,
         about="Predict which digit (0-9) an 8x8 grey-level image shows (UCI optical recognition of handwritten digits)."),
    dict(id="wine-cultivar", name="Wine Cultivar", loader=datasets.load_wine,
         task="multiclass-proba", target="cultivar", metric="multi-class-log-loss", lower=True,
         about="Predict the probability of each of three cultivars from 13 chemical measurements of a wine (UCI wine recognition data)."),
    dict(id="diabetes-progression", name="Diabetes Progression", loader=datasets.load_diabetes,
         task="regression", target="progression", metric="rmse", lower=True,
         about="Predict a quantitative measure of disease progression one year after baseline from 10 baseline variables (Efron et al. diabetes data)."),
]


def score(metric, y_true, pred, classes):
    if metric == "auc-roc":
        return roc_auc_score(y_true, pred)
    if metric == "accuracy":
        return accuracy_score(y_true, pred)
    if metric == "multi-class-log-loss":
        return log_loss(y_true, pred, labels=classes)
    if metric == "rmse":
        return float(np.sqrt(mean_squared_error(y_true, pred)))
    raise ValueError(metric)


def models(task):
    if task == "regression":
        for a in [0.01, 0.1, 1, 10, 100]:
            yield f"ridge(alpha={a})", make_pipeline(StandardScaler(), Ridge(alpha=a))
        for a in [0.01, 0.1, 1, 5]:
            yield f"lasso(alpha={a})", make_pipeline(StandardScaler(), Lasso(alpha=a, max_iter=5000))
        for k in [1, 3, 5, 10, 20, 40]:
            yield f"knn(k={k})", make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=k))
        for d in [2, 3, 5, None]:
            yield f"tree(depth={d})", DecisionTreeRegressor(max_depth=d, random_state=0)
        for n, d in itertools.product([10, 50, 200], [3, None]):
            yield f"forest(n={n},depth={d})", RandomForestRegressor(n_estimators=n, max_depth=d, random_state=0)
        for n, lr in itertools.product([50, 200], [0.03, 0.1]):
            yield f"gbm(n={n},lr={lr})", GradientBoostingRegressor(n_estimators=n, learning_rate=lr, random_state=0)
        yield "dummy(mean)", DummyRegressor()
        return
    for c in [0.001, 0.01, 0.1, 1, 10, 100]:
        yield f"logreg(C={c})", make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
    for k in [1, 3, 5, 10, 25]:
        yield f"knn(k={k})", make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=k))
    for d in [1, 2, 4, None]:
        yield f"tree(depth={d})", DecisionTreeClassifier(max_depth=d, random_state=0)
    for n, d in itertools.product([10, 50, 200], [3, None]):
        yield f"forest(n={n},depth={d})", RandomForestClassifier(n_estimators=n, max_depth=d, random_state=0)
    for n in [20, 100]:
        yield f"gbm(n={n})", GradientBoostingClassifier(n_estimators=n, random_state=0)
    yield "naive-bayes", GaussianNB()
    yield "dummy(prior)", DummyClassifier(strategy="prior")


def predict(task, model, X):
    if task == "binary":
        return model.predict_proba(X)[:, 1]
    if task == "multiclass-proba":
        return model.predict_proba(X)
    return model.predict(X)


def fmt(x):
    return repr(float(x)) if isinstance(x, (float, np.floating)) else str(x)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(fmt(v) for v in r) + "\n")


def build(comp):
    data = comp["loader"]()
    X, y = data.data, data.target
    ids = np.arange(len(y))
    X_tr, X_te, y_tr, y_te, id_tr, id_te = train_test_split(X, y, ids, test_size=0.3, random_state=SEED,
                                                             stratify=None if comp["task"] == "regression" else y)
    classes = sorted(set(y.tolist())) if comp["task"] != "regression" else None
    features = [f"f{i}" for i in range(X.shape[1])]
    target = comp["target"]
    pub = os.path.join(ROOT, "mini-data", comp["id"], "prepared", "public")
    priv = os.path.join(ROOT, "mini-data", comp["id"], "prepared", "private")
    meta = os.path.join(ROOT, "mini", "mlebench", "competitions", comp["id"])
    for d in (pub, priv, meta):
        os.makedirs(d, exist_ok=True)

    write_csv(os.path.join(pub, "train.csv"), ["id"] + features + [target],
              [[i] + list(x) + [t] for i, x, t in zip(id_tr, X_tr, y_tr)])
    write_csv(os.path.join(pub, "test.csv"), ["id"] + features, [[i] + list(x) for i, x in zip(id_te, X_te)])
    if comp["task"] == "multiclass-proba":
        sub_cols = [f"{target}_{c}" for c in classes]
        write_csv(os.path.join(priv, "test.csv"), ["id"] + sub_cols,
                  [[i] + [1 if t == c else 0 for c in classes] for i, t in zip(id_te, y_te)])
        write_csv(os.path.join(pub, "sample_submission.csv"), ["id"] + sub_cols,
                  [[i] + [round(1 / len(classes), 6)] * len(classes) for i in id_te])
    else:
        sub_cols = [target]
        write_csv(os.path.join(priv, "test.csv"), ["id", target], [[i, t] for i, t in zip(id_te, y_te)])
        fill = round(float(np.mean(y_tr)), 4) if comp["task"] == "regression" else (0.5 if comp["task"] == "binary" else classes[0])
        write_csv(os.path.join(pub, "sample_submission.csv"), ["id", target], [[i, fill] for i in id_te])

    # The leaderboard: every reference model, each on all rows/features and on reduced inputs.
    rng = np.random.default_rng(SEED)
    entries = []
    for name, model in models(comp["task"]):
        for variant in ["full", "half-rows", "half-features"]:
            rows = np.arange(len(y_tr))
            cols = np.arange(X.shape[1])
            if variant == "half-rows":
                rows = rng.choice(rows, size=len(rows) // 2, replace=False)
            if variant == "half-features":
                cols = np.sort(rng.choice(cols, size=max(1, len(cols) // 2), replace=False))
            try:
                m = model.fit(X_tr[rows][:, cols], y_tr[rows])
                p = predict(comp["task"], m, X_te[:, cols])
                s = score(comp["metric"], y_te, p, classes)
            except ValueError:
                continue
            entries.append((round(float(s), 5), f"{name}/{variant}"))
    entries.sort(key=lambda e: e[0], reverse=not comp["lower"])
    with open(os.path.join(meta, "leaderboard.csv"), "w") as f:
        f.write("scoreNullable,teamId,hasTeamName,submissionDate,score,hasScore\n")
        for rank, (s, _) in enumerate(entries):
            f.write(f"{s},{1000 + rank},True,2026-11-27 00:00:00,{s},True\n")
    with open(os.path.join(meta, "reference-models.txt"), "w") as f:
        f.write("# rank score model/variant (the population behind leaderboard.csv)\n")
        for rank, (s, name) in enumerate(entries, 1):
            f.write(f"{rank} {s} {name}\n")

    description = f"""# {comp['name']}

{comp['about']}

Source: scikit-learn's bundled copy (`sklearn.datasets.{comp['loader'].__name__}`), split 70/30 with seed {SEED}.

## Files
- `train.csv`: `id`, features `f0`..`f{X.shape[1]-1}`, and the target `{target}`.
- `test.csv`: `id` and the features.
- `sample_submission.csv`: the submission format (`{','.join(['id'] + sub_cols)}`).

## Evaluation
Submissions are scored with {comp['metric']} ({'lower' if comp['lower'] else 'higher'} is better) against the hidden test labels.

podium-task: {comp['task']}
podium-target: {target}
podium-metric: {comp['metric']}
"""
    for path in (os.path.join(pub, "description.md"), os.path.join(meta, "description.md")):
        with open(path, "w") as f:
            f.write(description)
    with open(os.path.join(meta, "config.yaml"), "w") as f:
        f.write(f"""id: {comp['id']}
name: {comp['name']}
competition_type: simple
awards_medals: false
description: mlebench/competitions/{comp['id']}/description.md

dataset:
  answers: {comp['id']}/prepared/private/test.csv
  sample_submission: {comp['id']}/prepared/public/sample_submission.csv

grader:
  name: {comp['metric']}
  engine: podium-generic
""")
    print(f"{comp['id']}: {len(y_tr)} train, {len(y_te)} test, {len(entries)} leaderboard entries, "
          f"best {entries[0][0]}, median {entries[len(entries)//2][0]}", file=sys.stderr)


def main():
    os.makedirs(os.path.join(ROOT, "mini", "experiments", "splits"), exist_ok=True)
    for comp in COMPETITIONS:
        build(comp)
    with open(os.path.join(ROOT, "mini", "experiments", "splits", "mini.txt"), "w") as f:
        f.write("\n".join(c["id"] for c in COMPETITIONS) + "\n")


if __name__ == "__main__":
    main()
