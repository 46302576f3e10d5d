"""Scheduled jobs (APScheduler): the nightly retrain."""
