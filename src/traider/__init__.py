"""TRAIDER: an autonomous crypto trading platform."""
