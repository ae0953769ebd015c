"""Voice of the customer: survey scores, language, sentiment, themes, the emotional layer, tone of messages."""

from cxlab.voice.analysis import VoiceRun, analyze_feedback
from cxlab.voice.emotion import TouchpointSentiment, touchpoint_sentiment
from cxlab.voice.predict import TextSentiment, classify_texts
from cxlab.voice.scores import PeriodChange, ScoreResult, compare_periods, score
from cxlab.voice.themes import Themes, find_themes
from cxlab.voice.tone import Tone, tone

__all__ = [
    "PeriodChange",
    "ScoreResult",
    "TextSentiment",
    "Themes",
    "Tone",
    "TouchpointSentiment",
    "VoiceRun",
    "analyze_feedback",
    "classify_texts",
    "compare_periods",
    "find_themes",
    "score",
    "tone",
    "touchpoint_sentiment",
]
