"""Lifecycle's rules in plain Python: the configured stage machine, RFM statistics,
the BG/NBD churn model and the churn-risk score."""
