"""Alerts: rules matched against each new story, delivered by Slack and email, once."""

from alerts.matching import Hit, RuleMatch, RuleSet, fold_with_offsets

__all__ = ["Hit", "RuleMatch", "RuleSet", "fold_with_offsets"]
