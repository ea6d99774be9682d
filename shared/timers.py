"""A timer whose interval comes from configuration, so a test or a deployment can set it."""

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key, default_seconds, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default_seconds, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key) or self.interval)


every = ConfiguredTimer.decorator
