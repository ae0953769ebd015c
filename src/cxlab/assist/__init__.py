"""Self-service assistant: answers simple customer questions from the shop's FAQ and order data in the
customer's language, hands the rest to a person, and records every conversation as journey events."""

from cxlab.assist.answer import Assistant, Reply
from cxlab.assist.index import AssistIndex
from cxlab.assist.knowledge import Entry, read_faq
from cxlab.assist.service import build_index, load_assistant

__all__ = ["AssistIndex", "Assistant", "Entry", "Reply", "build_index", "load_assistant", "read_faq"]
