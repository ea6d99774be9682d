"""The volunteer service's Prometheus metrics: hours of verified work deposited in the
morality bank, counted when the ledger recorded the deposit (a redelivered completion
deposits nothing, so it counts nothing). Labels are communities and task categories: a
few dozen series.
"""

from prometheus_client import Counter

HOURS = Counter("volunteer_hours_deposited_total", "Hours of verified volunteer work "
                "deposited in the morality bank, by community and task category",
                ["community", "category"])
