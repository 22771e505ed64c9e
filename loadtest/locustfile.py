"""Entry point for locust: the users of loadtest.users, driven by the step plan the runner
passes in LOADTEST_PLAN. Pick the user class on the command line (ListingUser, MixUser,
ShopperUser); `python -m loadtest.run` does all of this for you."""
from loadtest.shapes import StepLoadShape  # noqa: F401  (locust finds the shape by type)
from loadtest.users import ListingUser, MixUser, ShopperUser  # noqa: F401
