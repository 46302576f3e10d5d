"""Matching engine: rule filters, vectorisation, ranking model, reasons, training, evaluation.

Plain Python, numpy, pandas and scikit-learn: nothing here knows of HTTP or SQL.
"""
