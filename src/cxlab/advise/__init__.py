"""What to do next: ranked actions a shop owner can act on, each with its money at stake, how sure we are (in
words) and the concrete next step, from strengths and weaknesses, lagging channels, experiments ready to
decide, customers worth a win-back and emerging complaints (see :func:`next_actions`)."""

from cxlab.advise.actions import next_actions
from cxlab.advise.advice import Action, Advice, Skipped
from cxlab.display import certainty

__all__ = ["Action", "Advice", "Skipped", "certainty", "next_actions"]
