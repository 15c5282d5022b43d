"""The requests a worker keeps back for their host (crawler.cluster.hostwaits)."""

from __future__ import annotations

import pytest

from crawler.cluster.hostwaits import ASK_TIMEOUT, FIRST, MOST, WaitingHosts


def test_a_full_host_is_asked_again_after_waits_that_double_up_to_the_most() -> None:
    waiting = WaitingHosts()
    now = 100.0
    seen = []
    for _ in range(6):
        until = waiting.full("a.test", now)
        seen.append(round(until - now, 6))
        now = until  # asked again when told, still full
    assert seen == [FIRST, FIRST * 2, FIRST * 4, MOST, MOST, MOST]


def test_a_slot_taken_or_freed_starts_the_waits_over() -> None:
    waiting = WaitingHosts()
    waiting.full("a.test", 0.0)
    waiting.full("a.test", 1.0)
    waiting.took("a.test", 1.0, 0.0)
    assert not waiting.holds_back("a.test", 1.0)  # its next requests ask at once
    assert waiting.full("a.test", 2.0) == pytest.approx(2.0 + FIRST)
    waiting.full("a.test", 2.1)
    waiting.keep("a.test", "r1", "s", 2.1, first=False)
    waiting.freed("a.test", 2.11)  # one of this worker's downloads of it ended
    assert waiting.next_ready(2.11) == "r1"
    assert waiting.full("a.test", 2.12) == pytest.approx(2.12 + FIRST)


def test_one_request_of_a_host_asks_at_a_time() -> None:
    waiting = WaitingHosts()
    waiting.let_out("a.test", 0.0)  # the first one asks
    assert waiting.holds_back("a.test", 0.0)
    for name in ["r2", "r3", "r4"]:
        waiting.keep("a.test", name, "s", 0.0, first=False)
    assert waiting.next_ready(0.5) is None  # the first one has not been answered
    waiting.full("a.test", 0.5)  # it is told to wait, and comes back first
    waiting.keep("a.test", "r1", "s", 0.5, first=True)
    assert waiting.next_ready(0.5 + FIRST / 2) is None
    assert waiting.next_ready(0.5 + FIRST) == "r1"  # the first again, alone
    assert waiting.next_ready(0.6) is None
    waiting.took("a.test", 0.6, 0.0)
    assert waiting.next_ready(0.6) == "r2"  # the slot taken: the next asks
    assert waiting.next_ready(0.6) is None  # and only it
    assert waiting.count == 2 and waiting.by_source == {"s": 2}


def test_a_request_let_out_that_never_asks_holds_its_host_back_for_a_while_only() -> None:
    waiting = WaitingHosts()
    waiting.keep("a.test", "r1", "s", 0.0, first=False)
    waiting.keep("a.test", "r2", "s", 0.0, first=False)
    assert waiting.next_ready(0.0) == "r1"  # refused before asking, say: no answer comes
    assert waiting.next_ready(ASK_TIMEOUT - 0.01) is None
    assert waiting.next_time() == pytest.approx(ASK_TIMEOUT)
    assert waiting.next_ready(ASK_TIMEOUT) == "r2"


def test_a_delay_is_waited_exactly_and_follows_a_slot_taken() -> None:
    waiting = WaitingHosts()
    waiting.took("a.test", 10.0, 2.5)  # the source waits 2.5 s between starts
    assert waiting.holds_back("a.test", 12.4)
    assert not waiting.holds_back("a.test", 12.5)
    assert waiting.delayed("a.test", 10.0, 3.0) == pytest.approx(13.0)
    # a full answer meanwhile does not bring the delay's time forward, nor does a slot freed
    assert waiting.full("a.test", 10.1) == pytest.approx(13.0)
    waiting.keep("a.test", "r1", "s", 10.1, first=False)
    waiting.freed("a.test", 10.2)
    assert waiting.next_ready(12.9) is None
    assert waiting.next_time() == pytest.approx(13.0)
    assert waiting.next_ready(13.0) == "r1"


def test_hosts_wait_apart_and_the_first_due_goes_first() -> None:
    waiting = WaitingHosts()
    waiting.delayed("slow.test", 0.0, 30.0)
    waiting.full("busy.test", 0.0)
    for host in ["slow.test", "busy.test", "free.test"]:
        assert waiting.holds_back(host, 0.0) == (host != "free.test")
    waiting.keep("slow.test", "slow", "s1", 0.0, first=False)
    waiting.keep("busy.test", "busy", "s2", 0.0, first=False)
    assert waiting.next_time() == pytest.approx(FIRST)
    assert waiting.next_ready(1.0) == "busy"
    assert waiting.next_ready(1.0) is None
    assert waiting.by_source == {"s1": 1}


def test_hosts_with_nothing_to_wait_for_are_forgotten_and_drain_gives_all_back() -> None:
    waiting = WaitingHosts()
    for i in range(100):
        waiting.let_out(f"h{i}.test", 0.0)
        waiting.took(f"h{i}.test", 0.0, 0.0)
    assert not waiting._hosts
    waiting.keep("a.test", "r1", "s", 0.0, first=False)
    waiting.keep("b.test", "r2", "t", 0.0, first=False)
    assert sorted(waiting.drain()) == ["r1", "r2"]
    assert waiting.count == 0 and not waiting.by_source and waiting.next_time() is None


def test_a_request_let_out_that_ends_without_asking_lets_the_next_one_ask() -> None:
    waiting = WaitingHosts()
    waiting.keep("a.test", "r1", "s", 0.0, first=False)
    waiting.keep("a.test", "r2", "s", 0.0, first=False)
    assert waiting.next_ready(0.0) == "r1"
    assert waiting.next_ready(0.1) is None
    waiting.gone("a.test", 0.1)  # refused by robots.txt, say, before it asked
    assert waiting.next_ready(0.1) == "r2"
