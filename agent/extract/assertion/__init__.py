"""Assertions as data: the ConText rule model (triggers with a category, a direction, a max scope
and terminators; pseudo-triggers; section rules) read from ``rules.yaml`` beside this package, and
the engine that asserts each mention — affirmed, negated, possible, hypothetical, historical,
another person's, or administrative (a request or application sentence) — with the trigger
(text and offsets) that set it."""

from agent.extract.assertion.engine import AFFIRMED, CATEGORY_CN, Assertion, Trigger, assert_mention
from agent.extract.assertion.rules import AssertionRulesError, ruleset

__all__ = ["AFFIRMED", "CATEGORY_CN", "Assertion", "AssertionRulesError", "Trigger", "assert_mention", "ruleset"]
