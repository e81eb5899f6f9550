"""The shared kernel: mechanisms every service uses (never business rules)."""
