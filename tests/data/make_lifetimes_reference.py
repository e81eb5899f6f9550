"""How lifetimes_reference.csv was made: run once, outside the project's venv, with the
`lifetimes` package (0.11.3, in a throwaway venv: it is not a dependency of ours).

Histories are drawn from BG/NBD (days) and Gamma-Gamma themselves, with numpy's
seeded generator so the draw is reproducible; lifetimes then fits Gamma-Gamma on the
repeat customers and computes, with fixed BG/NBD parameters, each customer's expected
purchases over 12 months of 30 days, expected average spend and CLV at 1 % a month.
The test (tests/unit/test_lifecycle_value.py) feeds the same inputs to our code.

    python -m venv /tmp/lt && /tmp/lt/bin/pip install lifetimes
    /tmp/lt/bin/python tests/data/make_lifetimes_reference.py
"""

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

R, ALPHA, A, B = 0.243, 30.9, 0.793, 2.426  # FHL's CDNOW BG/NBD, in days
P, Q, V = 6.25, 3.74, 1544.0  # FHL's CDNOW Gamma-Gamma, in cents
CUSTOMERS, DAYS = 3000, 365.0


def main() -> None:
    rng = np.random.default_rng(1405)
    rows = []
    for _ in range(CUSTOMERS):
        rate, dropout = rng.gamma(R, 1 / ALPHA), rng.beta(A, B)
        nu = rng.gamma(Q, 1 / V)
        t, times = 0.0, []
        while True:
            t += rng.exponential(1 / rate)
            if t > DAYS:
                break
            times.append(np.floor(t))
            if rng.random() < dropout:
                break
        spends = rng.gamma(P, 1 / nu, len(times))
        rows.append(
            (len(times), times[-1] if times else 0.0, DAYS, spends.mean() if times else 0.0)
        )
    data = pd.DataFrame(rows, columns=["frequency", "recency", "T", "monetary_value"])
    data["monetary_value"] = data["monetary_value"].round(2)
    repeat = data[data.frequency > 0]
    gg = GammaGammaFitter(penalizer_coef=0.0).fit(repeat.frequency, repeat.monetary_value)
    bg = BetaGeoFitter()
    bg.params_ = pd.Series({"r": R, "alpha": ALPHA, "a": A, "b": B})
    bg.predict = bg.conditional_expected_number_of_purchases_up_to_time  # as fit() sets it
    data["expected_spend"] = gg.conditional_expected_average_profit(
        data.frequency, data.monetary_value
    )
    data["expected_purchases"] = bg.conditional_expected_number_of_purchases_up_to_time(
        360, data.frequency, data.recency, data["T"]
    )
    data["clv"] = gg.customer_lifetime_value(
        bg,
        data.frequency,
        data.recency,
        data["T"],
        data.monetary_value,
        time=12,
        discount_rate=0.01,
        freq="D",
    )
    with open("tests/data/lifetimes_reference.csv", "w") as out:
        out.write(
            f"# lifetimes 0.11.3 Gamma-Gamma fit: p={float(gg.params_['p'])!r} "
            f"q={float(gg.params_['q'])!r} v={float(gg.params_['v'])!r}\n"
        )
        out.write(f"# BG/NBD (days, fixed): r={R} alpha={ALPHA} a={A} b={B}\n")
        data.to_csv(out, index=False, float_format="%.10g")


if __name__ == "__main__":
    main()
