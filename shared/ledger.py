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

The morality bank (hours) and the funding service (money) both post this way.
"""

from pymongo import ASCENDING, DESCENDING

from shared.errors import Conflict

GUARD_INDEX = [("guard.account", ASCENDING), ("guard.seq", ASCENDING)]
# FerretDB uses an index only for an equality on a top-level field, so each transaction
# lists the accounts it posts to at the top: a balance or a debit's number then reads
# that account's transactions, not the whole ledger.
ACCOUNTS_INDEX = [("accounts", ASCENDING)]
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
    """Transactions recorded before ``accounts`` get it (idempotent)."""
    for doc in collection.find({"accounts": {"$exists": False}}, {"postings": 1}):
        collection.update_one({"_id": doc["_id"]},
                              {"$set": {"accounts": with_accounts(doc)["accounts"]}})


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
    raise Conflict(f"{account} is busy with other withdrawals at this moment; "
                   "try again in a little while.")
