"""Runs the shopper journey (loadtest/users.py's Journey) of one ShopperUser N times, task by
task, against the URL given, and prints what it requested and what failed as one JSON line:
test_users.py runs it against a fake shop, tests/app/test_loadtest_catalogue.py against the
real stack. Run in a subprocess: importing locust monkey-patches the process with gevent."""
import json
import sys
from collections import Counter

from locust.env import Environment
from locust.exception import InterruptTaskSet

from loadtest.users import Journey, ShopperUser


def main(url: str, journeys: int) -> None:
    env = Environment(host=url)
    requests, failures = Counter(), {}

    def on_request(name, exception=None, **_):
        requests[name] += 1
        if exception is not None:
            failures.setdefault(name, []).append(str(exception))

    env.events.request.add_listener(on_request)
    ShopperUser.host = url          # what locust's runner sets from --host
    user = ShopperUser(env)
    user.on_start()
    for _ in range(journeys):
        journey = Journey(user)
        for step in (journey.login, journey.browse, journey.look_closer, journey.fill_cart,
                     journey.checkout_and_pay, journey.history):
            try:
                step()
            except InterruptTaskSet:
                break
    print(json.dumps({"email": user.email, "seen": user.seen, "requests": requests,
                      "failures": failures}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
