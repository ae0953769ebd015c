"""Channel performance and attribution."""

from cxlab.channels.performance import ChannelConversion, channel_conversion

__all__ = ["ChannelConversion", "channel_conversion"]
