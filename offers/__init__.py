"""Offers: the normalized award fare, where places are, and the rules that pick offers."""
