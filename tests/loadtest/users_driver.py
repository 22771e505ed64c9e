"""Makes two requests from each of three locust users (loadtest/users.py) to the URL given, so
test_users.py can see what the users send. Run in a subprocess: importing locust
monkey-patches the process with gevent."""
import json
import sys

from locust.env import Environment

from loadtest.users import ListingUser, MixUser, ShopperUser


def main(url: str) -> None:
    env = Environment(host=url)
    users = []
    for cls in (ListingUser, MixUser, ShopperUser):
        cls.host = url          # what locust's runner sets from --host
        users.append(cls(env))
    for user in users:
        for _ in range(2):
            user.client.get(f"/probe?user={id(user)}")
    print(json.dumps([{"user": str(id(u)), "address": u.client_address} for u in users]))


if __name__ == "__main__":
    main(sys.argv[1])
