"""The regression gate's default significance level and margin, written once.

Their own module because both the settings (read at pytest start-up, which must stay light) and
the gate (``baselines.gate``, ``baselines.stats``) need them, and the baselines package is not light.
"""

from __future__ import annotations

DEFAULT_ALPHA = 0.05  # family-wise, Holm-corrected across a suite's metrics
DEFAULT_MARGIN = 0.02  # 2 points on a 0-1 metric: a smaller drop never counts as a regression
