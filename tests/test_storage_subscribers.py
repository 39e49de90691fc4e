"""The subscribers' watch index gives exactly what checking every watch one by one gives."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from offers.model import make_offer
from storage import subscribers
from storage.db import connect, transaction

PLACES = ["JFK", "LHR", "CDG", "NRT", "London", "Paris", "New York", "Japan", "US", "France",
          "Europe", "Asia", "North America"]  # fmt: skip
CABINS = ["economy", "premium_economy", "business", "first"]


def random_watch(rng: random.Random) -> subscribers.Watch:
    return subscribers.Watch(
        origins=rng.sample(PLACES, rng.choice([0, 1, 2])),
        destinations=rng.sample(PLACES, rng.choice([0, 1, 2])),
        cabins=rng.sample(CABINS, rng.choice([0, 1, 2])),
        max_miles=rng.choice([None, 20_000, 40_000, 60_000]),
        months=[f"2031-{m:02d}" for m in rng.sample(range(1, 13), rng.choice([0, 1, 2]))],
    )


def random_offer(rng: random.Random) -> Any:
    month = rng.randint(1, 12)
    return make_offer({
        "source": "t", "program": "delta", "origin": rng.choice(PLACES + ["BOS", "SYD"]),
        "destination": rng.choice(PLACES + ["GRU", "Europe"]),
        "cabin": rng.choice(CABINS + [None]), "miles": rng.choice([None, 15_000, 40_000, 80_000]),
        "discount_pct": 20, "travel_start": f"2031-{month:02d}-10",
        "travel_end": f"2031-{min(12, month + rng.choice([0, 1])):02d}-20",
    })  # fmt: skip


def brute_force(db: Any, offer: Any) -> list[str]:
    rows = db.query(
        "SELECT s.chat, w.* FROM subscriber_watches w JOIN subscribers s ON s.id = w.subscriber_id"
        " WHERE s.status = 'active' AND s.paused = 0 ORDER BY s.id, w.id"
    )
    chats: dict[str, None] = {}
    for row in rows:
        if subscribers.Watch.from_row(row).matches(offer):
            chats.setdefault(row["chat"], None)
    return list(chats)


def test_index_matches_exactly_what_each_watch_matches(db: Any) -> None:
    rng = random.Random(11)
    with transaction(db):
        for number in range(300):
            subscribers.subscribe(db, "tg", str(number))
            for _ in range(rng.choice([1, 2, 3])):
                subscribers.add_watch(db, "tg", str(number), random_watch(rng))
    offers = [random_offer(rng) for _ in range(300)]
    assert sum(len(brute_force(db, o)) for o in offers) > 300  # the cases do match things
    for offer in offers:
        assert subscribers.matching(db, "tg", offer) == brute_force(db, offer)


def test_index_follows_changes(db: Any) -> None:
    offer = make_offer({"source": "t", "program": "delta", "origin": "JFK", "destination": "CDG",
                        "miles": 30_000, "depart_date": "2031-03-01"})  # fmt: skip
    subscribers.subscribe(db, "tg", "1")
    assert subscribers.matching(db, "tg", offer) == []
    subscribers.add_watch(db, "tg", "1", subscribers.Watch(destinations=["Europe"]))
    assert subscribers.matching(db, "tg", offer) == ["1"]
    subscribers.set_paused(db, "tg", "1", True)
    assert subscribers.matching(db, "tg", offer) == []


def test_changes_apply_to_the_index_without_a_rebuild(db: Any) -> None:
    rng = random.Random(5)
    for number in range(60):
        subscribers.subscribe(db, "tg", str(number))
        subscribers.add_watch(db, "tg", str(number), random_watch(rng))
    subscribers.subscribe(db, "other", "x")  # another notifier's subscriber
    offers = [random_offer(rng) for _ in range(150)]
    built = subscribers.index(db, "tg")
    for step in range(120):
        chat = str(rng.randrange(60))
        action = step % 6
        if action in (0, 1):
            subscribers.add_watch(db, "tg", chat, random_watch(rng))
        elif action == 2:
            subscribers.remove_watch(db, "tg", chat, 1)
        elif action == 3:
            subscribers.set_paused(db, "tg", chat, rng.random() < 0.5)
        elif action == 4 and rng.random() < 0.3:
            subscribers.stop(db, "tg", chat)
        elif action == 4:
            subscribers.subscribe(db, "tg", chat)
        else:
            subscribers.add_watch(db, "other", "x", random_watch(rng))
        assert subscribers.index(db, "tg") is built  # followed, not rebuilt
    for offer in offers:
        assert subscribers.matching(db, "tg", offer) == brute_force_of(db, "tg", offer)


def test_offers_alike_get_answers_that_follow_every_change(db: Any) -> None:
    rng = random.Random(8)
    for number in range(40):
        subscribers.subscribe(db, "tg", str(number))
        subscribers.add_watch(db, "tg", str(number), random_watch(rng))
    offers = [random_offer(rng) for _ in range(12)]  # few: the same routes come back
    for step in range(60):
        chat = str(rng.randrange(40))
        if step % 3 == 0:
            subscribers.remove_watch(db, "tg", chat, 1)
        else:
            subscribers.add_watch(db, "tg", chat, random_watch(rng))
        for offer in rng.sample(offers, 6):
            assert subscribers.matching(db, "tg", offer) == brute_force_of(db, "tg", offer)


def test_a_new_limit_splits_offers_that_differed_only_in_miles(db: Any) -> None:
    def offer(miles: int | None) -> Any:
        return make_offer({"source": "t", "program": "delta", "origin": "JFK", "miles": miles,
                           "discount_pct": 20,
                           "destination": "CDG", "depart_date": "2031-03-01"})  # fmt: skip

    subscribers.subscribe(db, "tg", "1")
    subscribers.add_watch(db, "tg", "1", subscribers.Watch(destinations=["Paris"], max_miles=60_000))
    assert [subscribers.matching(db, "tg", offer(m)) for m in (40_000, 50_000)] == [["1"], ["1"]]
    subscribers.subscribe(db, "tg", "2")
    subscribers.add_watch(db, "tg", "2", subscribers.Watch(destinations=["CDG"], max_miles=45_000))
    found = [subscribers.matching(db, "tg", offer(m)) for m in (40_000, 50_000, 70_000, None)]
    assert found == [["1", "2"], ["1"], [], []]
    mutated = subscribers.matching(db, "tg", offer(40_000))
    mutated.append("someone")  # a caller's list is its own
    assert subscribers.matching(db, "tg", offer(40_000)) == ["1", "2"]


def test_a_change_made_elsewhere_rebuilds_the_index(db: Any) -> None:
    offer = make_offer({"source": "t", "program": "delta", "origin": "JFK", "destination": "CDG",
                        "miles": 30_000, "depart_date": "2031-03-01"})  # fmt: skip
    subscribers.subscribe(db, "tg", "1")
    subscribers.add_watch(db, "tg", "1", subscribers.Watch(destinations=["Europe"]))
    assert subscribers.matching(db, "tg", offer) == ["1"]
    db.execute("DELETE FROM subscriber_watches")  # not through storage.subscribers
    assert subscribers.matching(db, "tg", offer) == []


def brute_force_of(db: Any, target: str, offer: Any) -> list[str]:
    rows = db.query(
        "SELECT s.chat, w.* FROM subscriber_watches w JOIN subscribers s ON s.id = w.subscriber_id"
        " WHERE s.target = ? AND s.status = 'active' AND s.paused = 0 ORDER BY s.id, w.id",
        [target],
    )
    chats: dict[str, None] = {}
    for row in rows:
        if subscribers.Watch.from_row(row).matches(offer):
            chats.setdefault(row["chat"], None)
    return list(chats)


def test_a_rolled_back_change_never_reaches_the_index(db: Any) -> None:
    offer = make_offer({"source": "t", "program": "delta", "origin": "JFK", "destination": "CDG",
                        "miles": 30_000, "depart_date": "2031-03-01"})  # fmt: skip
    subscribers.subscribe(db, "tg", "1")
    subscribers.subscribe(db, "tg", "2")
    built = subscribers.index(db, "tg")
    try:
        with transaction(db):
            subscribers.add_watch(db, "tg", "1", subscribers.Watch(destinations=["Europe"]))
            assert subscribers.matching(db, "tg", offer) == []  # not committed yet
            raise RuntimeError("the command failed")
    except RuntimeError:
        pass
    # the next committed change takes the numbers the rolled-back one had
    subscribers.add_watch(db, "tg", "2", subscribers.Watch(origins=["US"]))
    assert subscribers.matching(db, "tg", offer) == ["2"] == brute_force_of(db, "tg", offer)
    assert subscribers.index(db, "tg") is built


def test_a_change_from_another_process_is_read_without_a_rebuild(db: Any) -> None:
    rng = random.Random(9)
    for number in range(40):
        subscribers.subscribe(db, "tg", str(number))
        subscribers.add_watch(db, "tg", str(number), random_watch(rng))
    built = subscribers.index(db, "tg")
    path = db.execute("PRAGMA database_list").fetchone()[2]
    script = (
        "import sys; from storage.db import connect; from storage import subscribers as s\n"
        "db = connect(sys.argv[1])\n"
        "s.stop(db, 'tg', '3'); s.set_paused(db, 'tg', '4', True)\n"
        "s.subscribe(db, 'tg', 'new'); s.add_watch(db, 'tg', 'new', s.Watch())\n"
        "s.add_watch(db, 'tg', '5', s.Watch(destinations=['Europe']))\n"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", script, path], check=True, cwd=root, timeout=120)
    offers = [random_offer(rng) for _ in range(100)]
    for offer in offers:
        assert subscribers.matching(db, "tg", offer) == brute_force_of(db, "tg", offer)
    assert "new" in subscribers.matching(db, "tg", offers[0])
    assert subscribers.index(db, "tg") is built


def test_matching_inside_a_transaction_sees_changes_committed_elsewhere(db: Any) -> None:
    offer = make_offer({"source": "t", "program": "delta", "origin": "JFK", "destination": "CDG",
                        "miles": 30_000, "depart_date": "2031-03-01"})  # fmt: skip
    subscribers.subscribe(db, "tg", "1")
    assert subscribers.matching(db, "tg", offer) == []
    path = db.execute("PRAGMA database_list").fetchone()[2]
    other = connect(path)
    subscribers.add_watch(other, "tg", "1", subscribers.Watch())
    with transaction(db):  # as recording a run does
        assert subscribers.matching(db, "tg", offer) == ["1"]
