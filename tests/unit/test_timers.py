"""A timer fires at its configured interval, and work that outgrows the interval is
followed by as long a rest rather than run back to back."""

import time

from shared.timers import every, rest_after


def test_a_run_shorter_than_its_interval_waits_out_the_rest_of_it():
    assert rest_after(60, 3) == 57


def test_a_run_that_outgrew_its_interval_is_followed_by_as_long_a_rest():
    assert rest_after(60, 90) == 90


def test_a_run_as_long_as_its_interval_is_followed_at_once_by_the_next():
    assert rest_after(60, 60) == 0


class Ticking:
    name = "ticking"
    ticks = []

    @every("TICK_SECONDS", 3600)
    def tick(self):
        self.ticks.append(time.monotonic())


def test_a_timer_fires_again_and_again_at_the_interval_its_configuration_sets(
        container_factory):
    container = container_factory(Ticking, {"TICK_SECONDS": "0.01"})
    container.start()
    deadline = time.monotonic() + 10
    while len(Ticking.ticks) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    container.stop()
    assert len(Ticking.ticks) >= 3
