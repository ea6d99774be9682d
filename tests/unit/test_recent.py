"""What every message needs and people seldom change is read at most once a second per
process, and at once again after this process changed it (``shared.storage.Recent``)."""

from shared.storage import Recent


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def counting(value):
    reads = []

    def read():
        reads.append(1)
        return value

    return read, reads


def test_the_value_is_read_once_within_its_second():
    clock, (read, reads) = Clock(), counting({"rules": ["drains"]})
    recent = Recent(read, seconds=1.0, clock=clock)
    assert [recent.get() for _ in range(5)] == [{"rules": ["drains"]}] * 5
    clock.now += 0.99
    recent.get()
    assert len(reads) == 1


def test_a_value_older_than_its_second_is_read_again():
    clock, (read, reads) = Clock(), counting("calendar")
    recent = Recent(read, seconds=1.0, immutable=True, clock=clock)
    recent.get()
    clock.now += 1.0
    recent.get()
    assert len(reads) == 2


def test_a_change_made_by_this_process_is_read_at_once():
    clock, stored = Clock(), {"revision": 1}
    recent = Recent(lambda: dict(stored), clock=clock)
    assert recent.get() == {"revision": 1}
    stored["revision"] = 2
    recent.forget()
    assert recent.get() == {"revision": 2}


def test_what_a_caller_does_to_its_value_does_not_alter_the_next_callers():
    recent = Recent(lambda: {"rules": [{"id": "drains"}]}, clock=Clock())
    mine = recent.get()
    mine["rules"].append({"id": "mine"})
    assert recent.get() == {"rules": [{"id": "drains"}]}
