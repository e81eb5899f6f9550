"""How long the BG/NBD fit takes on 20,000 simulated customers, and what it recovers.

.venv/bin/python tests/perf/lifecycle_fit.py [--customers 20000] [--seed 7]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from services.lifecycle.domain.bgnbd import Params, fit
from tests.bgnbd_simulation import simulate

TRUE = Params(r=0.243, alpha=4.414, a=0.793, b=2.426)  # FHL 2005's CDNOW, in weeks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks", type=float, default=52.0)
    args = parser.parse_args()
    data = simulate(TRUE, args.customers, args.weeks, np.random.default_rng(args.seed))
    started = time.perf_counter()
    fitted = fit(data)
    seconds = time.perf_counter() - started
    print(f"fit of {fitted.customers} customers: {seconds:.2f} s")
    for name, truth in TRUE.as_dict().items():
        print(f"  {name:5} true {truth:6.3f}  fitted {fitted.params.as_dict()[name]:6.3f}")


if __name__ == "__main__":
    main()
