"""Coaching logic with no Django in it: live rules, tyre windows, post-lap analysis."""
