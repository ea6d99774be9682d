"""Double-entry ledgers that never overdraw an account, without transactions.

FerretDB has no multi-document transactions, and a balance is a sum over many
documents, so "read the balance, then insert the debit" alone would let two
concurrent debits both spend the same money. Instead the debits of one guarded
account are numbered: each carries ``guard: {account, seq}`` under a unique
index (``GUARD_INDEX``), and is built from the balance read *after* the highest
``seq`` so far. Two debits built on the same state both claim the next ``seq``;
the database lets only one in, and the other re-reads and rebuilds. Credits are
not numbered (each guards itself with its own id, ``self_guarded``): a credit
landing meanwhile only raises the balance, so a debit built without it is still
covered.

Why the order of the reads matters: every debit with a ``seq`` up to the highest
one read was inserted before that read (a later one would have collided with
it), so the balance read next includes them all.

A *chained* account goes further: every transaction that posts to it, credit or
debit, takes its next number and carries the account's balance after it
(``guard.balance``) and a top-level ``guard_key`` (``<account>#<seq>``) that an
indexed equality finds. The balance is then read from the last link, one or two
lookups, instead of summed over the account's whole history, which a budget line
that a city's orders are held on and settled from soon outgrows (``post_chained``).
The chain is exact because each link is built on the one before it: two builders
on the same link claim the same number, and the loser rebuilds on the winner. An
account that moves only in a chain's links (a budget line's held account) is
*tracked* by it: each link carries its balance too (``guard.tracked``).

The morality bank (hours) numbers its members' debits; the funding service chains
its budget lines (a donation debits one member and credits another, so the bank
cannot chain both).
"""

import random
import threading
import time
from collections import defaultdict

from pymongo import ASCENDING, DESCENDING

from shared.errors import Conflict

GUARD_INDEX = [("guard.account", ASCENDING), ("guard.seq", ASCENDING)]
# FerretDB uses an index only for an equality on a top-level field, so each transaction
# lists the accounts it posts to at the top: a balance or a debit's number then reads
# that account's transactions, not the whole ledger.
ACCOUNTS_INDEX = [("accounts", ASCENDING)]
GUARD_KEY_INDEX = [("guard_key", ASCENDING)]
MAX_ATTEMPTS = 50


def with_accounts(transaction):
    """The transaction with the accounts it posts to, and the account whose number it
    takes: a capture that spends exactly its hold posts nothing to the budget line yet
    is the line's next numbered debit, and a number ``last_seq`` cannot see would be
    claimed again and again."""
    accounts = {p["account"] for p in transaction["postings"]}
    guard = transaction.get("guard")
    if guard and guard["seq"] > 0:
        accounts.add(guard["account"])
    return dict(transaction, accounts=sorted(accounts))


def add_missing_accounts(collection):
    """Transactions recorded before ``accounts`` get it (idempotent), and a new version
    (as every write of an aggregate does)."""
    for doc in collection.find({"accounts": {"$exists": False}}, {"postings": 1}):
        collection.update_one({"_id": doc["_id"]},
                              {"$set": {"accounts": with_accounts(doc)["accounts"]},
                               "$inc": {"version": 1}})


def self_guarded(transaction):
    """A transaction that debits no guarded account guards only itself."""
    return dict(transaction, guard={"account": transaction["_id"], "seq": 0})


def last_seq(collection, account):
    last = collection.find_one({"accounts": account, "guard.account": account}, {"guard": 1},
                               sort=[("guard.seq", DESCENDING)])
    return last["guard"]["seq"] if last else 0


def post_numbered(collection, account, build, insert):
    """Insert the debit of ``account`` that ``build()`` returns as that account's next
    numbered debit; ``build`` reads the balance itself (after the number is read) and
    refuses an overdraft. ``insert(transaction)`` returns False when the number (or the
    key) is taken, and the debit is rebuilt from the state as it now is.

    A number found taken is never claimed again, even if ``last_seq`` cannot see its
    holder (a capture recorded before ``with_accounts`` listed the guarded account):
    the holder was inserted before the next balance read, so that read includes it."""
    taken = 0
    for _ in range(MAX_ATTEMPTS):
        seq = max(last_seq(collection, account), taken) + 1
        transaction = dict(build(), guard={"account": account, "seq": seq})
        if insert(transaction):
            return transaction
        taken = seq
    raise _busy(account)


def post_chained(collection, account, build, insert, summed_balance, tracked=()):
    """Insert what ``build(balance)`` returns as the next link of ``account``'s chain:
    numbered, with the balance after it, and the balances after it of the ``tracked``
    accounts (which must move in this chain's links only). ``build`` refuses an overdraft
    and a key already posted; ``insert`` is as for ``post_numbered``.
    ``summed_balance(account)`` sums the postings, for an account whose last link was
    recorded before chains (or before it was tracked)."""
    # This process's builders take turns on a chain: racing, all but one would fail their
    # insert and build again (9 failed inserts a second on one budget line at 8.5
    # petitions a second, 2026-12-04). Replicas still race; the guard's index decides.
    with _chain_turns[(collection.full_name, account)]:
        return _post_chained(collection, account, build, insert, summed_balance, tracked)


def _post_chained(collection, account, build, insert, summed_balance, tracked):
    taken = 0
    for attempt in range(MAX_ATTEMPTS):
        seq, guard = last_link(collection, account)
        balance = _carried_balance(guard, account, summed_balance)
        if seq < taken:
            # Taken by a debit this lookup cannot see (numbered before chains listed
            # their account): it posted nothing to the account, so the sum is right.
            seq, guard, balance = taken, None, summed_balance(account)
        transaction = build(balance)
        seq += 1
        moved = {}
        for posting in transaction["postings"]:
            moved[posting["account"]] = moved.get(posting["account"], 0) + posting["amount_fen"]
        link = {"account": account, "seq": seq, "balance": balance + moved.get(account, 0)}
        if tracked:
            link["tracked"] = [{"account": t, "balance": tracked_balance(
                guard, t, summed_balance) + moved.get(t, 0)} for t in tracked]
        transaction = dict(transaction, guard=link, guard_key=guard_key(account, seq))
        if insert(transaction):
            _chain_ends[(collection.full_name, account)] = seq, link
            return transaction
        taken = seq
        # Builders racing for one account take turns, rather than all retrying at once.
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    raise _busy(account)


def tracked_balance(guard, account, summed_balance):
    """A tracked account's balance as of a chain's link (``guard``, None before the first):
    carried by the link, else the sum of its postings."""
    for entry in (guard or {}).get("tracked", []):
        if entry["account"] == account:
            return entry["balance"]
    return summed_balance(account)


def guard_key(account, seq):
    return f"{account}#{seq}"


# Where this process last saw each chain end, by collection and account: the link's
# number and guard (written once with its transaction, never changed), so the next lookup
# starts there without reading it again; links other processes added since are found by
# trying the numbers after it.
_chain_ends = {}
_chain_turns = defaultdict(threading.Lock)


def chain_end(collection, account, summed_balance):
    """The number and balance of ``account``'s last link (0 and the sum of its postings
    when nothing is chained yet)."""
    seq, guard = last_link(collection, account)
    return seq, _carried_balance(guard, account, summed_balance)


def _carried_balance(guard, account, summed_balance):
    """The chain's own balance as of a link (``guard``): carried by it, else (a link from
    before chains carried balances, or no link yet) the sum of its postings."""
    return guard["balance"] if guard and "balance" in guard else summed_balance(account)


def last_link(collection, account):
    """The number of ``account``'s last link and its guard (0 and None when nothing is
    chained yet)."""
    key = (collection.full_name, account)
    if key in _chain_ends:
        seq, guard = _chain_ends[key]
    else:
        seq = last_seq(collection, account)
        # A link recorded before links had keys is found by number only: its guard is
        # None, and the balance is summed.
        found = seq and collection.find_one({"guard_key": guard_key(account, seq)},
                                            {"guard": 1})
        guard = found["guard"] if found else None
    while following := collection.find_one({"guard_key": guard_key(account, seq + 1)},
                                           {"guard": 1}):
        seq, guard = seq + 1, following["guard"]
    _chain_ends[key] = seq, guard
    return seq, guard


def _busy(account):
    return Conflict(f"{account} is busy with other withdrawals at this moment; "
                    "try again in a little while.")
