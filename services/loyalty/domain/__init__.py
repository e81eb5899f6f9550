"""Loyalty's rules in plain Python (no I/O): the programme's configuration, earning,
the lot-based ledger, tiers, and what each event does to an account."""
