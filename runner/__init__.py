"""Runs the bot: crawls, the filter and record road, delivery, the daemon and the CLI's verbs."""
