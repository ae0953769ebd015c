"""Placeholder: the collector (being written)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

router = APIRouter()


class Collector:
    def __init__(self, state: Any):
        self.state = state

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass
