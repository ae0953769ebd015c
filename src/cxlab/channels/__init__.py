"""Channel performance and attribution.

- :func:`channel_performance`: visitors, sessions, conversion (Wilson), orders, revenue, AOV, new vs
  returning, CPA and ROAS from ``spend``, trend, lagging channels.
- :func:`build_journeys` (store) and :func:`read_paths` (ChannelAttribution-style paths file) give
  :class:`Paths`; :func:`attribute` runs first / last / last non-direct / linear / position / time-decay,
  exact Markov (order 1–3) and exact Shapley attribution on them.
- :func:`find_lagging`: the peer test behind "which channel lags", reusable for touchpoints.
"""

from cxlab.channels.attribution import MODELS, Attribution, Options, attribute, compare_models
from cxlab.channels.journeys import JourneyOptions, build_journeys, visits
from cxlab.channels.lagging import Lagging, find_lagging
from cxlab.channels.markov import MarkovChain, build_chain, markov
from cxlab.channels.paths import Paths
from cxlab.channels.paths_file import read_paths
from cxlab.channels.performance import ChannelPerformance, channel_performance
from cxlab.channels.shapley import shapley, shapley_values
from cxlab.channels.spend import SPEND

__all__ = [
    "MODELS",
    "SPEND",
    "Attribution",
    "ChannelPerformance",
    "JourneyOptions",
    "Lagging",
    "MarkovChain",
    "Options",
    "Paths",
    "attribute",
    "build_chain",
    "build_journeys",
    "channel_performance",
    "compare_models",
    "find_lagging",
    "markov",
    "read_paths",
    "shapley",
    "shapley_values",
    "visits",
]
