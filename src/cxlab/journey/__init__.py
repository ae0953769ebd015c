"""Journey analytics: the map of stages and touchpoints, funnels, paths, retention."""

from cxlab.journey.stages import StageFunnel, stage_funnel

__all__ = ["StageFunnel", "stage_funnel"]
