"""The fault suite's short form: a service killed with -9 while petitions flow loses
nothing and settles nothing twice (`make faults` runs every fault, with more petitions)."""

from tools import faults


def test_a_service_killed_mid_flow_loses_nothing_and_settles_nothing_twice(tmp_path):
    [result] = faults.run(["kill -9 volunteer"], petitions=6, log_dir=tmp_path)
    assert result["reached"] == result["petitions"] == 6
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["ledgers_balanced"]
