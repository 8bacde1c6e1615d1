"""Shared fixtures of the network tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def plans_share(monkeypatch):
    """``plans_share(segment, other)``: from now on the plans, as read into the model, carry a
    Cloud WAN share of ``segment`` with ``other`` that no intent declared (a template bug).
    Patched where the plans are read into the model (govcloud/stacks/network_plans.py)."""
    from govcloud.network import plans as plan_reader
    from govcloud.stacks import network_plans

    original = plan_reader.documents_from_plans

    def open_share(segment: str, other: str) -> None:
        def reader(plans, inventory, configured=None, **kwargs):
            docs = original(plans, inventory, configured, **kwargs)
            docs["aws-cloudwan/core-network-policy.json"]["segment-actions"].append(
                {"action": "share", "mode": "attachment-route", "segment": segment, "share-with": [other]})
            return docs

        monkeypatch.setattr(network_plans, "documents_from_plans", reader)

    return open_share
