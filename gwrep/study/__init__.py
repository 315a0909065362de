"""The Locatello et al. (ICML 2019) study of unsupervised disentanglement, as data and as code.

A study is a YAML file (``gwrep/study/<name>.yaml``, shipped as package data; or any path):
data sets x models x a hyperparameter grid per model x seeds, the shared training settings
and the scores. ``gwrep study NAME`` trains every run, scores it, writes one tidy table
(one row per run) and the paper's analyses. Modules: ``spec`` (the file format and the plan
of runs), ``runner`` (train, score, resume), ``scores`` (per-run scores), ``table`` (the tidy
table and its loader), ``analysis`` / ``figures`` / ``report`` (the analyses).
"""
