"""The bench: the ceiling this machine's broker and database set for the flow's work, and
the record of its runs."""

import pytest
from kombu import Connection, Queue

from tools.bench import broker_ceiling, ceiling, spread


def test_a_petition_takes_the_brokers_time_and_the_databases_on_the_same_cores():
    # 13 messages at 1,300 a second and 64 writes at 640: 0.01 s and 0.1 s a petition.
    assert ceiling(13, 64, 1300, 640) == pytest.approx(1 / 0.11)


def test_the_broker_ceiling_consumes_each_message_from_every_queue_it_reached(amqp_uri):
    # It returns only once every delivery was consumed (1 + 3 + 2 of each three).
    rate = broker_ceiling(amqp_uri, [1, 3, 2] * 20, publishers=2)

    assert rate > 0
    with Connection(amqp_uri) as connection:
        for n in range(3):
            with pytest.raises(connection.channel_errors):  # its queues are gone
                Queue(f"bench.ceiling.{n}", durable=True)(connection.channel()).queue_declare(
                    passive=True)


def test_the_record_shows_the_spread_of_the_runs_of_the_same_code():
    runs = [{"code": "abc1234", "petitions_per_second": rate, "fraction_of_ceiling": fraction}
            for rate, fraction in ((6.7, 0.45), (8.5, 0.59), (6.4, 0.43))]

    assert spread(runs) == ("| runs of this code at this load (abc1234), petitions/s | "
                            "6.7, 8.5, 6.4; 43.0% to 59.0% of their ceilings, median 45.0% |")
