"""Automated flows: triggers, audience, consent, caps, quiet hours, holdouts and exactly-once delivery.

Flows are declared in ``cxlab.toml`` (see :mod:`cxlab.automate.flows`); each flow is an experiment whose
control arm is its holdout, so ``cxlab flows report`` measures what a flow earns with ``cxlab.experiments``.
"""
