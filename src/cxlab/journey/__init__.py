"""Journey analytics: the map of stages and touchpoints, funnels, paths, retention, strengths & weaknesses."""

from cxlab.journey.funnels import Exclusion, Funnel, Step, funnel
from cxlab.journey.journey_map import JourneyMap, journey_map
from cxlab.journey.paths import PathSummary, paths
from cxlab.journey.retention import Retention, retention
from cxlab.journey.stages import StageFunnel, stage_funnel
from cxlab.journey.swot import Swot, swot

__all__ = [
    "Exclusion",
    "Funnel",
    "JourneyMap",
    "PathSummary",
    "Retention",
    "StageFunnel",
    "Step",
    "Swot",
    "funnel",
    "journey_map",
    "paths",
    "retention",
    "stage_funnel",
    "swot",
]
