"""Intervals from configuration, so a test or a deployment can set them: a timer's, and
the steps of a backoff."""

import time

from eventlet import Timeout
from nameko.timer import Timer


def rest_after(interval, took):
    """Seconds to wait after a run that took ``took``: until the interval is up, but after
    a run that outgrew it, as long as the run took. Work that grows with the data (the
    evaluation gauges read a month's facts whole once an hour: 3.2 s at 20,000 petitions
    a month) then takes at most half of the time, where nameko's timer would run it back
    to back."""
    return max(interval - took, took if took > interval else 0)


class ConfiguredTimer(Timer):
    def __init__(self, config_key, default_seconds, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default_seconds, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key) or self.interval)

    def _run(self):
        # nameko's loop, with ``rest_after`` in place of its fixed schedule.
        wait = 0 if self.eager else self.interval
        while True:
            with Timeout(wait, exception=False):
                self.should_stop.wait()
                break
            started = time.monotonic()
            self.handle_timer_tick()
            self.worker_complete.wait()
            self.worker_complete.reset()
            wait = rest_after(self.interval, time.monotonic() - started)


every = ConfiguredTimer.decorator


def delays(configured, default):
    """A backoff's steps in seconds, from text such as "1,2,5,15,60"."""
    if not configured:
        return default
    return tuple(float(step) for step in str(configured).split(","))
