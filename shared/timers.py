"""Intervals from configuration, so a test or a deployment can set them: a timer's, and
the steps of a backoff."""

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key, default_seconds, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default_seconds, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key) or self.interval)


every = ConfiguredTimer.decorator


def delays(configured, default):
    """A backoff's steps in seconds, from text such as "1,2,5,15,60"."""
    if not configured:
        return default
    return tuple(float(step) for step in str(configured).split(","))
