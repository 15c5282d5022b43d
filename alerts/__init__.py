"""Alerts: rules matched against each new story, delivered once to Slack, email, Feishu,
DingTalk, WeCom, Teams, Telegram, a signed webhook or the log (:mod:`alerts.channels`)."""

from alerts.matching import Hit, RuleMatch, RuleSet, fold_with_offsets

__all__ = ["Hit", "RuleMatch", "RuleSet", "fold_with_offsets"]
