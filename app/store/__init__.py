"""The shop's SQL, one store per domain: accounts, catalogue, orders, payments.

Each store borrows connections from the process's ``Database`` (app/db.py) and returns plain
dicts; the rules that decide what may change live in the domain modules (the order state
machine in app/order_states.py), not here.
"""
